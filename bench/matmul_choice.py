"""Why the dense kernels call BLAS: time a Numba loop nest against the blocked BLAS product
on the layer shapes of GAN S and GAN L (float32, batch 64, all cores).

    python bench/matmul_choice.py
"""
import time

import numpy as np
from numba import njit, prange

from fastgan.kernels import dense
from fastgan.threads import thread_settings

SHAPES = [(64, 100, 128), (64, 128, 784), (128, 784, 128), (64, 784, 1024), (64, 1024, 784)]


@njit(parallel=True, fastmath={"contract", "reassoc"})
def loop_matmul(x, w, out):
    """out = x @ w: rows over cores, a 4-row register block, the inner loop over w's rows."""
    n, k = x.shape
    m = w.shape[1]
    for blk in prange((n + 3) // 4):
        lo = blk * 4
        hi = min(lo + 4, n)
        for i in range(lo, hi):
            out[i, :] = 0
        for p in range(k):
            for i in range(lo, hi):
                a = x[i, p]
                for j in range(m):
                    out[i, j] += a * w[p, j]


def best(fn, repeats=20):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    print("shape (n, k, m)   loop nest GFLOP/s   BLAS blocks GFLOP/s")
    with thread_settings("numba"):
        for n, k, m in SHAPES:
            x = rng.standard_normal((n, k), dtype=np.float32)
            w = rng.standard_normal((k, m), dtype=np.float32)
            b = np.zeros(m, np.float32)
            out = np.empty((n, m), np.float32)
            empty = np.zeros((0, 0), np.float32)
            flops = 2 * n * k * m
            t_loop = best(lambda: loop_matmul(x, w, out))
            t_blas = best(lambda: dense.dense_forward.unchecked(x, w, b, 0, 0.0, empty, out,
                                                                empty))
            print(f"{str((n, k, m)):17} {flops / t_loop / 1e9:10.1f} {flops / t_blas / 1e9:20.1f}")


if __name__ == "__main__":
    main()
