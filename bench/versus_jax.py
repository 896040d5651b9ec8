"""fastgan against JAX's jitted step, taking turns: each round runs JAX's step script and
then fastgan's step, each in a fresh process, so a busy spell of the machine lands on both.

    python bench/versus_jax.py --peer-python PY [--gans S L] [--rounds 4]

PY is an interpreter with jax (`pip install ".[peers]"`). Each process reports the best of
7 timed runs (float32, batch 64, all cores), as `fastgan bench` does; fastgan runs the
Numba engine that `GAN.fit` drives. Prints both per round, the ratio per round (JAX ms
over fastgan ms: above 1 fastgan is faster) and the median ratio.
"""
import argparse
import json
import subprocess
import sys

import numpy as np

from fastgan.benchmark import GANS, fastgan_turn
from fastgan.peers import run_peer
from support import REPEATS, STEPS


def fastgan_ms(gan):
    """Best of REPEATS runs of STEPS[gan] steps, ms per step, in this process, timed as
    `fastgan bench` times its turns against the peers."""
    return fastgan_turn({"steps": STEPS[gan], "repeats": REPEATS})(GANS[gan], 64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", required=True)
    parser.add_argument("--gans", nargs="+", default=["S", "L"], choices=["S", "L"])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # time fastgan on this GAN
    args = parser.parse_args()
    if args.child:
        print(json.dumps(fastgan_ms(args.child)))
        return
    times = {gan: {"jax": [], "fastgan": []} for gan in args.gans}
    for r in range(args.rounds):
        for gan in args.gans:
            peer = run_peer("jax", GANS[gan], 64, STEPS[gan], REPEATS, python=args.peer_python)
            if peer["status"] != "ok":
                raise SystemExit(f"JAX's step did not run: {peer['status']}")
            child = subprocess.run([sys.executable, __file__, "--peer-python", args.peer_python,
                                    "--child", gan], capture_output=True, text=True, check=True)
            times[gan]["jax"].append(peer["ms_per_step"])
            times[gan]["fastgan"].append(json.loads(child.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}: GAN {gan} jax {times[gan]['jax'][-1]:.2f} ms, fastgan "
                  f"{times[gan]['fastgan'][-1]:.2f} ms", flush=True)
    for gan, t in times.items():
        ratio = np.array(t["jax"]) / np.array(t["fastgan"])
        print(f"GAN {gan}: jax / fastgan per round {' '.join(f'{x:.2f}' for x in ratio)}; "
              f"median {np.median(ratio):.2f}x")


if __name__ == "__main__":
    main()
