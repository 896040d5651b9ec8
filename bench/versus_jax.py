"""fastgan against JAX's jitted step alone, for more rounds than `fastgan bench` gives it.

    python bench/versus_jax.py --peer-python PY [--gans S L] [--rounds 61]

PY is an interpreter with jax (`pip install ".[peers]"`). As in `fastgan bench`, fastgan's
step (through `GAN.fit`) and JAX's each run warm in a process of their own and take turns of
the same number of steps, round after round (fastgan.peers.peer_rows); float32, batch 64,
all cores. Prints the median ms of each, the median of the rounds' ratios (JAX ms over
fastgan ms: above 1 fastgan is faster) and the middle half of those ratios.
"""
import argparse

from fastgan.benchmark import GANS
from fastgan.peers import peer_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", required=True)
    parser.add_argument("--gans", nargs="+", default=["S", "L"], choices=["S", "L"])
    parser.add_argument("--rounds", type=int, default=61)
    args = parser.parse_args()
    rows = peer_rows({gan: GANS[gan] for gan in args.gans}, (64,), args.rounds,
                     python=args.peer_python, engines=("jax",))
    for row in rows:
        if row["status"] != "ok":
            raise SystemExit(f"JAX's step did not run: {row['status']}")
        low, high = row["ratio_quartiles"]
        print(f"GAN {row['gan']}: jax {row['ms_per_step']:.2f} ms, fastgan "
              f"{row['fastgan_ms']:.2f} ms a step ({row['steps_per_turn']} steps a turn); "
              f"jax / fastgan median {row['fastgan_ratio']:.2f}x, middle half "
              f"{low:.2f}-{high:.2f}x over {len(row['round_ratios'])} rounds")


if __name__ == "__main__":
    main()
