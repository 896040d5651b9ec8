"""How the forward products of GAN S, L and the default GAN are best split across cores:
the kernels' blocks of columns and of rows (single-threaded BLAS in each block), one core,
and BLAS's own threads on the whole product.

    python bench/cut_choice.py [--dtype float32] [--rounds 9]

Each product is timed alone on all cores (best round), out = x @ w with a linear epilogue
for the kernels' blocks; prints GFLOP/s per way and the way `dense.forward_cut` picks.
"""
import argparse
import time

import numpy as np

from fastgan.kernels import dense
from fastgan.threads import thread_settings

# (rows, inputs, outputs): G's rows are the batch, D's the batch of real and fake rows
SHAPES = [(64, 100, 128), (64, 128, 784), (128, 784, 128), (64, 100, 256), (64, 256, 512),
          (64, 512, 784), (128, 794, 256), (64, 512, 1024), (64, 1024, 784),
          (128, 784, 1024), (128, 1024, 512)]
_BLAS_SPIN_S = 0.5  # longer than OpenBLAS's idle threads spin before they sleep


def best(fn, repeats, rounds):
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        times.append((time.perf_counter() - t) / repeats)
    return min(times)


def ways(n, k, m, dtype, rounds):
    """{way: GFLOP/s} for the product (n, k) @ (k, m)."""
    rng = np.random.default_rng([n, k, m])
    x, w = rng.standard_normal((n, k)).astype(dtype), rng.standard_normal((k, m)).astype(dtype)
    b, out, empty = np.zeros(m, dtype), np.zeros((n, m), dtype), np.zeros((0, 0), dtype)
    flops = 2.0 * n * k * m
    repeats = max(5, int(3e8 // flops))

    def blocks(by_columns, step, kernel=dense._dense_forward):
        return lambda: kernel(x, w, b, 0, 0.0, empty, out, empty, by_columns, step)
    found = {}
    with thread_settings("numba"):
        found["columns"] = best(blocks(True, dense.blocks(m, dense._COLUMN_STEP)), repeats,
                                rounds)
        found["rows"] = best(blocks(False, dense.blocks(n, dense._MIN_ROWS)), repeats, rounds)
        found["one core"] = best(blocks(False, n, dense._dense_forward_serial), repeats, rounds)
    with thread_settings("numpy"):
        found["BLAS threads"] = best(lambda: np.matmul(x, w, out=out), repeats, rounds)
    # OpenBLAS's threads spin for a while after their last product, taking the cores from
    # the next shape's blocks (which then measured as one core's speed): let them sleep
    time.sleep(_BLAS_SPIN_S)
    return {way: flops / s / 1e9 for way, s in found.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(f"{args.dtype}, GFLOP/s, best of {args.rounds} rounds")
    print(f"{'(n, k, m)':<18}{'columns':>9}{'rows':>9}{'one core':>10}{'BLAS threads':>14}"
          f"{'picked':>9}")
    for n, k, m in SHAPES:
        rates = ways(n, k, m, args.dtype, args.rounds)
        picked = "columns" if dense.forward_cut(n, k, m)[0] else "rows"
        print(f"{str((n, k, m)):<18}" + "".join(f"{rates[way]:>{width}.0f}" for way, width in
                                               (("columns", 9), ("rows", 9), ("one core", 10),
                                                ("BLAS threads", 14))) + f"{picked:>9}")


if __name__ == "__main__":
    main()
