"""Why the dense kernels cut a minibatch into one block per core: whole training steps with
those blocks against fixed blocks of 32 rows (the earlier layout), and the NumPy backend.

    python bench/blocks_choice.py [--rounds 15]

Three engines per GAN train on the same data, taking turns for a round of steps each
(support.take_turns), and each reports its best round in ms per step (median beside it): on
a noisy machine a busy spell then hits all of them, and the best round is the least
disturbed.
"""
import argparse

import numpy as np

from fastgan.benchmark import GANS, make_engine, step_data
from fastgan.kernels import dense
from fastgan.presets import PRESETS
from support import take_turns

# GAN, dtype, batch, steps per round: the benchmark's GANs and the PyTorch tutorial's batch.
CASES = [("default", "float32", 64, 200), ("S", "float32", 64, 300),
         ("S", "float64", 64, 300), ("L", "float32", 64, 20),
         ("L", "float32", PRESETS["pytorch-tutorial"]["batch_size"], 15),
         ("toy", "float32", 128, 500)]


def fixed_blocks(size):
    return 32


def run_case(name, dtype, batch, steps, rounds):
    spec = GANS[name]
    data, idxs = step_data(spec, dtype, batch)
    engines = {label: make_engine(spec, dtype, batch, "numpy" if label == "numpy" else "numba")
               for label in ("per-core", "fixed-32", "numpy")}
    times = {label: [] for label in engines}
    per_core = dense.block_rows

    def setup(label):
        dense.block_rows = fixed_blocks if label == "fixed-32" else per_core
    try:
        for label, ms in take_turns(engines, data, idxs, steps, rounds, setup):
            times[label].append(ms)
    finally:
        dense.block_rows = per_core
    return {label: (min(v), float(np.median(v))) for label, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"{'GAN':>8} {'dtype':>8} {'batch':>5}   per-core ms   fixed-32 ms   numpy ms"
          f"   per-core vs fixed   vs numpy")
    for name, dtype, batch, steps in CASES:
        t = run_case(name, dtype, batch, steps, args.rounds)
        (pc, pcm), (fx, fxm), (nu, num) = t["per-core"], t["fixed-32"], t["numpy"]
        print(f"{name:>8} {dtype:>8} {batch:>5}   {pc:5.3f} ({pcm:5.3f})  {fx:5.3f} ({fxm:5.3f})"
              f"  {nu:5.3f} ({num:5.3f})   {fx / pc:5.2f}x            {nu / pc:5.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
