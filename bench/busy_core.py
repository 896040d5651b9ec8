"""A training step while another program keeps one core busy, on each Numba threading layer.

    python bench/busy_core.py [--gans S] [--rounds 4] [--loads idle busy] [--peer-python PY]

Each round times fastgan's float32 step (best of 7 runs, as `fastgan bench`'s table does) in
fresh processes on Numba's TBB layer, on its OpenMP layer, and on OpenMP with threads that
spin between parallel regions rather than sleep (OMP_WAIT_POLICY=active), taking turns,
first on an idle machine and then with a spinning process held to the last core; with
--peer-python, JAX's jitted step too. Prints each round, the medians and the median of the
rounds' ratios. The spinning process stands for what a laptop runs beside a training run: a
browser, a build, another training.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

from fastgan.benchmark import GANS
from fastgan.peers import run_peer
from support import REPEATS, STEPS

# engine: (Numba threading layer, extra environment)
ENGINES = {"tbb": ("tbb", {}), "omp": ("omp", {}),
           "omp-active": ("omp", {"OMP_WAIT_POLICY": "active"})}
_CHILD = ("import json, sys; from fastgan.benchmark import GANS, fastgan_turn; "
          "from fastgan.kernels.threading_layer import threading_layer; "
          "plan = {'steps': int(sys.argv[2]), 'repeats': int(sys.argv[3])}; "
          "ms = fastgan_turn(plan)(GANS[sys.argv[1]], 64); "
          "print(json.dumps([ms, threading_layer()]))")
_SPIN = ("import os, sys\n"
         "if hasattr(os, 'sched_setaffinity'):\n"
         "    os.sched_setaffinity(0, [max(os.sched_getaffinity(0))])\n"
         "while True:\n"
         "    pass\n")


def fastgan_ms(gan, engine):
    """fastgan's ms per step on `gan`, in a fresh process on ENGINES[engine]."""
    layer, extra = ENGINES[engine]
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer, **extra)
    done = subprocess.run([sys.executable, "-c", _CHILD, gan, str(STEPS[gan]), str(REPEATS)],
                          env=env, capture_output=True, text=True, check=True)
    ms, used = json.loads(done.stdout.strip().splitlines()[-1])
    if used != layer:
        raise SystemExit(f"Numba ran on {used}, not {layer}: is the tbb package installed?")
    return ms


def one_round(gans, peer_python):
    """{(gan, engine): ms} for each GAN and engine, in turn."""
    times = {}
    for gan in gans:
        for engine in ENGINES:
            times[gan, engine] = fastgan_ms(gan, engine)
        if peer_python:
            peer = run_peer("jax", GANS[gan], 64, STEPS[gan], REPEATS, python=peer_python)
            if peer["status"] != "ok":
                raise SystemExit(f"JAX's step did not run: {peer['status']}")
            times[gan, "jax"] = peer["ms_per_step"]
    return times


def summarise(results, gans):
    """Print the medians of each load's rounds ({load: [one_round's times]})."""
    print("\nmedian ms per step (float32, batch 64); each OpenMP engine's time over TBB's: "
          "medians' ratio, and median of the rounds' ratios")
    for load, rounds in results.items():
        for gan in gans:
            median = {e: np.median([t[gan, e] for t in rounds])
                      for e in (*ENGINES, "jax") if (gan, e) in rounds[0]}
            row = ", ".join(f"{engine} {ms:.2f}" for engine, ms in median.items())
            ratios = ", ".join(
                f"{e} / tbb {median[e] / median['tbb']:.2f}x, per round "
                f"{np.median([t[gan, e] / t[gan, 'tbb'] for t in rounds]):.2f}x"
                for e in ENGINES if e != "tbb")
            print(f"  {load:4s} GAN {gan}: {row}; {ratios}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gans", nargs="+", default=["S"], choices=list(STEPS))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--loads", nargs="+", default=["idle", "busy"], choices=["idle", "busy"],
                        help="idle machine, one core busy, or both (in that order)")
    parser.add_argument("--peer-python", help="an interpreter with jax, to time JAX's step too")
    args = parser.parse_args()
    if os.cpu_count() < 2:
        raise SystemExit("needs at least two cores: one to keep busy, one left")
    results = {}
    for load in args.loads:
        spin = subprocess.Popen([sys.executable, "-c", _SPIN]) if load == "busy" else None
        try:
            rounds = []
            for r in range(args.rounds):
                rounds.append(one_round(args.gans, args.peer_python))
                print(f"{load}, round {r + 1}: " + ", ".join(
                    f"{gan} {engine} {ms:.2f} ms" for (gan, engine), ms in rounds[-1].items()),
                    flush=True)
        finally:
            if spin is not None:
                spin.kill()
                spin.wait()
        results[load] = rounds
    summarise(results, args.gans)


if __name__ == "__main__":
    main()
