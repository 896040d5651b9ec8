"""Whole training steps three ways, taking turns in one process: the per-layer kernels with
the update kernels after them, one compiled call per network pass with the same update
kernels after the backward pass, and those passes taking the optimizer step inside the
backward pass (as fastgan trains); checks that all three reach the same parameters.

    python bench/network_ab.py [--gans S L default toy] [--steps N] [--rounds R]
"""
import argparse
import time

import numpy as np

from fastgan.backends import PASSES
from fastgan.benchmark import GANS, make_engine, step_data, train_steps
from fastgan.kernels.optim import no_update
from fastgan.nets import apply_update
from fastgan.threads import thread_settings

LABELS = ("per-layer", "update after", "update inside")


def update_after(be):
    """Make `be`'s backward pass form gradients only and take the step after it."""
    inside = be.network_backward

    def network_backward(*args):
        *rest, step = args
        inside(*rest, no_update(rest[1].dtype))
        apply_update(be, step)
    be.network_backward = network_backward


def compare(spec, steps, rounds, dtype="float32", batch=64):
    """{label: seconds per step, one per round}, and whether the engines' parameters are
    equal after the same steps."""
    data, idxs = step_data(spec, dtype, batch)
    engines = {label: make_engine(spec, dtype, batch, "numba") for label in LABELS}
    for name in PASSES:  # the per-layer engine's backend loses its network passes
        delattr(engines["per-layer"].be, name)
    update_after(engines["update after"].be)
    times = {label: [] for label in engines}
    with thread_settings("numba"):
        for engine in engines.values():
            train_steps(engine, data, idxs, 20)
        for _ in range(rounds):
            for label, engine in engines.items():
                t0 = time.perf_counter()
                train_steps(engine, data, idxs, steps)
                times[label].append((time.perf_counter() - t0) / steps)
    first = engines[LABELS[0]]
    equal = all(np.array_equal(getattr(first, n).params, getattr(e, n).params)
                for e in engines.values() for n in ("G", "D"))
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
        cells = ", ".join(f"{label} {1e3 * min(t):.3f} ms (median {1e3 * np.median(t):.3f})"
                          for label, t in times.items())
        base = np.array(times["per-layer"])
        gains = ", ".join(f"{label} {base.min() / min(t):.3f}x best, "
                          f"{np.median(base / np.array(t)):.3f}x median of ratios"
                          for label, t in times.items() if label != "per-layer")
        after = np.array(times["update after"])
        inside = np.array(times["update inside"])
        print(f"GAN {name}: {cells}\n  against per-layer: {gains}; update inside against "
              f"after: {after.min() / inside.min():.3f}x best, "
              f"{np.median(after / inside):.3f}x median of ratios; same parameters: {equal}")


if __name__ == "__main__":
    main()
