"""How much a machine's cores add to a training step, and to products that share nothing.

    python bench/core_scaling.py [--rounds 5]

Three ways of using all cores against one, in the same rounds (float32, batch 64):

- GAN S's whole training step, timed by `fastgan bench`'s own turn (best of 3 runs of 200
  steps);
- independent products: each core multiplies its own arrays, again and again, in the shape
  of the block one core gets of a GAN S product (single-threaded BLAS, as the kernels call
  it), against the same tasks in turn on one core. Nothing is shared but the machine, so
  this is about the most a step's products can gain from the extra cores;
- a 2048 x 2048 product on BLAS's own threads.

Rounds take turns so that a busy spell of the machine shows up as a spread.
"""
import argparse

import numpy as np
from numba import njit, prange

from fastgan.benchmark import GANS, _timed, fastgan_turn, gemm_peak
from fastgan.kernels.blas import gemm
from fastgan.threads import available_cores, thread_settings

# (rows, inputs, outputs) of one core's block of GAN S's products on 2 cores: G's layers,
# D's first layer on the 128 rows of the D step and the 64 of the G step, D's dW
SHAPES = [(32, 100, 128), (64, 128, 392), (64, 784, 128), (64, 784, 64), (392, 128, 128)]
WORK = 1e9  # multiply-adds per task and timing (about 30 ms on one core)
REPEATS = 3  # timings per figure, the best counting (as gemm_peak's)


@njit(parallel=True)
def _tasks(xs, ws, outs, reps):
    """Task t multiplies xs[t] @ ws[t] into outs[t], `reps` times."""
    for t in prange(xs.shape[0]):
        x, w, out = xs[t], ws[t], outs[t]
        for _ in range(reps):
            gemm(False, False, x.shape[0], w.shape[1], x.shape[1], x, 0, w, 0, out, 0)


def tasks_gflops(shape, tasks, threads):
    """GFLOP/s of `tasks` independent tasks of `shape` products run on `threads` threads."""
    n, k, m = shape
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((tasks, n, k), dtype=np.float32)
    ws = rng.standard_normal((tasks, k, m), dtype=np.float32)
    outs = np.zeros((tasks, n, m), np.float32)
    reps = max(10, int(WORK / (n * k * m)))
    with thread_settings("numba", threads):
        _tasks(xs, ws, outs, 1)
        best = min(_timed(_tasks, xs, ws, outs, reps) for _ in range(REPEATS))
    return 2.0 * tasks * n * k * m * reps / best / 1e9


def one_round(cores, step_ms):
    """{case: all cores' speed over one core's} for each case; step_ms[threads] times a
    step (benchmark.fastgan_turn)."""
    gains = {"GAN S step": step_ms[1](GANS["S"], 64) / step_ms[cores](GANS["S"], 64)}
    for n, k, m in SHAPES:
        one, every = (tasks_gflops((n, k, m), cores, t) for t in (1, cores))
        gains[f"products {n}x{k}x{m}"] = every / one
    large = [gemm_peak("float32", threads=t) for t in (cores, 1)]
    gains["2048 on BLAS threads"] = large[0] / large[1]
    return gains


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cores = available_cores()
    plan = {"steps": 200, "repeats": REPEATS}
    step_ms = {t: fastgan_turn(plan, threads=t) for t in (1, cores)}
    rounds = []
    for r in range(args.rounds):
        rounds.append(one_round(cores, step_ms))
        print(f"round {r + 1}: " + ", ".join(f"{c} {g:.2f}x" for c, g in rounds[-1].items()),
              flush=True)
    print(f"\n{cores} cores over 1 core, speed per round:")
    for case in rounds[0]:
        gains = [g[case] for g in rounds]
        print(f"{case:26s} median {np.median(gains):.2f}x, range {min(gains):.2f}-"
              f"{max(gains):.2f}x")


if __name__ == "__main__":
    main()
