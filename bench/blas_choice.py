"""Whose gemm the kernels should call: SciPy's BLAS, NumPy's and MKL's (where the mkl package
is installed), on the matrix products of GAN S, GAN L and the default preset's layers, cut
into blocks as the dense kernels cut them.

    python bench/blas_choice.py [--dtype float32] [--rounds 11]

The libraries multiply the same blocks in turn, in one process and on all cores (BLAS
single-threaded inside each block, as in a training step). Prints GFLOP/s (best round) per
product for each library with its speed over SciPy's (of the median rounds), whether all
gave bit-identical results, and the summed median time of all the products. The kernels
call the library that kernels.blas.choose picks; FASTGAN_BLAS=mkl (or numpy, scipy) picks
one by hand.
"""
import argparse
import time

import numpy as np
from numba import njit, prange

from fastgan.kernels import blas
from fastgan.kernels.dense import backward_cut, forward_cut
from fastgan.threads import thread_settings

# (rows, inputs, outputs) of every layer of GAN S, GAN L and the default preset (conditional:
# 10 label columns on G's noise and D's input): G's rows are the batch, D's the batch of
# real and fake rows
LAYERS = [(64, 100, 128), (64, 128, 784), (128, 784, 128), (128, 128, 1),
          (64, 100, 256), (64, 256, 512), (64, 512, 1024), (64, 1024, 784),
          (128, 784, 1024), (128, 1024, 512), (128, 512, 256), (128, 256, 1),
          (64, 110, 256), (64, 512, 784), (128, 794, 256)]


def kernels(library):
    """(forward, backward) block kernels whose gemm is `library`'s ("numpy" or "scipy")."""
    gemm = blas.gemm_of(library)

    @njit(parallel=True)
    def forward(x, w, out, by_columns, step):
        n, m = out.shape
        k = x.shape[1]
        size = m if by_columns else n
        for t in prange((size + step - 1) // step):
            lo = t * step
            hi = min(lo + step, size)
            if by_columns:
                gemm(False, False, n, hi - lo, k, x, 0, w, lo, out, lo)
            else:
                gemm(False, False, hi - lo, m, k, x, lo * k, w, 0, out, lo * m)

    @njit(parallel=True)
    def backward(x, w, dz, dw, dx, krows):
        n, k = x.shape
        m = w.shape[1]
        for t in prange((k + krows - 1) // krows):
            lo = t * krows
            hi = min(lo + krows, k)
            if dw.size:
                gemm(True, False, hi - lo, m, n, x, lo, dz, 0, dw, lo * m)
            if dx.size:
                gemm(False, True, n, hi - lo, m, dz, 0, w, lo * m, dx, lo)
    return forward, backward


def product(kind, n, k, m, dtype, rng):
    """bind(forward, backward) -> (out, run) for one product of a layer (n rows, k inputs, m
    outputs): the same inputs for every pair of kernels, each pair its own output."""
    x, w, dz = (rng.standard_normal(s).astype(dtype) for s in ((n, k), (k, m), (n, m)))
    none = np.empty((0, 0), dtype)

    def bind(fwd, bwd):
        if kind == "forward":
            out = np.empty((n, m), dtype)
            return out, lambda: fwd(x, w, out, *forward_cut(n, k, m))
        out = np.empty((k, m) if kind == "dW" else (n, k), dtype)
        dw, dx = (out, none) if kind == "dW" else (none, out)
        return out, lambda: bwd(x, w, dz, dw, dx, backward_cut(n, k)[1])
    return bind


def seconds(call, repeats=20):
    t = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - t) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    names = [name for name in ("scipy", "numpy", "mkl") if blas.available(name)]
    libraries = {name: kernels(name) for name in names}
    rng, total = np.random.default_rng(0), dict.fromkeys(libraries, 0.0)
    print(f"{args.dtype}, GFLOP/s of the best of {args.rounds} rounds; each library's speed "
          f"over scipy's (of the medians); the kernels call {blas.SOURCE}'s")
    with thread_settings("numba"):
        for n, k, m in LAYERS:
            for kind in ("forward", "dW", "dX"):
                bind, results, times = product(kind, n, k, m, args.dtype, rng), {}, {}
                for name, pair in libraries.items():
                    results[name], run = bind(*pair)
                    times[name] = run, []
                    run()  # compile and warm
                for _ in range(args.rounds):
                    for run, ts in times.values():
                        ts.append(seconds(run))
                print(f"{str((n, k, m)):16} {kind:8}", end="")
                flops = 2 * n * k * m / 1e9
                median = {name: float(np.median(ts)) for name, (_, ts) in times.items()}
                for name, (_, ts) in times.items():
                    total[name] += median[name]
                    print(f"  {name} {flops / min(ts):5.0f} {median['scipy'] / median[name]:.2f}x",
                          end="")
                same = all(np.array_equal(results["scipy"], r) for r in results.values())
                print("  bit-identical" if same else "")
    print("all products, summed medians (ms): "
          + ", ".join(f"{name} {1e3 * t:.2f}" for name, t in total.items()))


if __name__ == "__main__":
    main()
