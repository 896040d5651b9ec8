"""Whole training steps with one compiled call per network pass against the per-layer
kernels, taking turns in one process; checks that both reach the same parameters.

    python bench/network_ab.py [--gans S L default toy] [--steps N] [--rounds R]
"""
import argparse
import time

import numpy as np

from fastgan.backends import PASSES
from fastgan.benchmark import GANS, make_engine, step_data, train_steps
from fastgan.threads import thread_settings


def compare(spec, steps, rounds, dtype="float32", batch=64):
    """(per-layer seconds, network seconds) per step, one list each, and whether the two
    engines' parameters are equal after the same steps."""
    data, idxs = step_data(spec, dtype, batch)
    engines = {"per-layer": make_engine(spec, dtype, batch, "numba"),
               "network": make_engine(spec, dtype, batch, "numba")}
    for name in PASSES:  # the per-layer engine's backend loses its network passes
        delattr(engines["per-layer"].be, name)
    times = {label: [] for label in engines}
    with thread_settings("numba"):
        for engine in engines.values():
            train_steps(engine, data, idxs, 20)
        for _ in range(rounds):
            for label, engine in engines.items():
                t0 = time.perf_counter()
                train_steps(engine, data, idxs, steps)
                times[label].append((time.perf_counter() - t0) / steps)
    equal = all(np.array_equal(getattr(engines["per-layer"], n).params,
                               getattr(engines["network"], n).params) for n in ("G", "D"))
    return times, equal


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gans", nargs="+", default=["S", "L", "default", "toy"],
                   choices=list(GANS))
    p.add_argument("--steps", type=int, help="steps per timed run (default: per GAN)")
    p.add_argument("--rounds", type=int, default=11)
    args = p.parse_args()
    for name in args.gans:
        steps = args.steps or (30 if name == "L" else 300)
        times, equal = compare(GANS[name], steps, args.rounds)
        a, b = times["per-layer"], times["network"]
        print(f"GAN {name}: per-layer {1e3 * min(a):.3f} ms (median {1e3 * np.median(a):.3f}), "
              f"network {1e3 * min(b):.3f} ms (median {1e3 * np.median(b):.3f}); "
              f"{min(a) / min(b):.3f}x best, {np.median(a) / np.median(b):.3f}x median; "
              f"same parameters: {equal}")


if __name__ == "__main__":
    main()
