"""Where a training step's time goes: the NumPy backend's step split into its BLAS matrix
products and the rest, beside the Numba backend's whole step.

    python bench/step_split.py [--gan default] [--rounds 9]

Both backends run their products on OpenBLAS with every core, at about the same speed, so
the products bound how much faster the Numba backend can be: all it can remove is the rest.
The products are timed by wrapping np.matmul inside the NumPy twins (the timer's own cost,
about a microsecond per product, lands in "products"). Each figure is the best of --rounds
rounds, the engines taking turns (support.take_turns).
"""
import argparse
import time
import types

import numpy as np

from fastgan.benchmark import GANS, make_engine, step_data
from fastgan.kernels import reference
from support import take_turns


class _TimedMatmul(types.ModuleType):
    """NumPy, with matmul timed: stands in for `np` inside the twins' module."""

    def __init__(self):
        super().__init__("numpy")
        self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, *args, **kwargs):
        t = time.perf_counter()
        result = np.matmul(*args, **kwargs)
        self.seconds += time.perf_counter() - t
        return result


def split(gan, dtype, batch, steps, rounds):
    """Best ms per step of the Numba and NumPy backends, and the NumPy step's products."""
    spec = GANS[gan]
    data, idxs = step_data(spec, dtype, batch)
    engines = {b: make_engine(spec, dtype, batch, b) for b in ("numba", "numpy")}
    timed = _TimedMatmul()
    best = {"numba": np.inf, "numpy": np.inf, "products": np.inf}

    def setup(name):
        reference.np = timed if name == "numpy" else np
        timed.seconds = 0.0
    try:
        for name, ms in take_turns(engines, data, idxs, steps, rounds, setup):
            if ms < best[name]:
                best[name] = ms
                if name == "numpy":  # the products of this same turn
                    best["products"] = timed.seconds / steps * 1e3
    finally:
        reference.np = np
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gan", default="default", choices=list(GANS))
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    b = split(args.gan, args.dtype, args.batch, args.steps, args.rounds)
    rest = b["numpy"] - b["products"]
    print(f"GAN {args.gan} {args.dtype} batch {args.batch}, ms per step (best of {args.rounds})")
    print(f"  NumPy backend {b['numpy']:.3f} = products {b['products']:.3f} + rest {rest:.3f}")
    print(f"  Numba backend {b['numba']:.3f} ({b['numpy'] / b['numba']:.2f}x): if its products "
          f"cost the same, rest {b['numba'] - b['products']:.3f}")
    print(f"  with no time outside the products the Numba backend would reach "
          f"{b['numpy'] / b['products']:.2f}x")


if __name__ == "__main__":
    main()
