"""What the benchmark files share: the grid of cases, tolerances, extra_info, the peak, and
engines taking turns."""
import functools
import time

import numpy as np

from fastgan.benchmark import KERNEL_TOL, gemm_peak, train_steps
from fastgan.threads import thread_settings

BATCHES = (64, 256)
DTYPES = ("float32", "float64")
BACKENDS = ("numba", "numpy")
# BLAS's threads spin on for a while after the NumPy backend's turn, and would slow
# whichever engine came next
PAUSE_S = 0.2
# steps per timed run of each of fastgan.benchmark's GANS (about 0.3 s each here), and timed
# runs per turn, the best counting, as `peers.run_peer` times a peer's
STEPS = {"S": 200, "L": 20, "default": 100, "toy": 500}
REPEATS = 7


class Peaks:
    """GEMM GFLOP/s per dtype, measured on first use (never when timing is disabled)."""

    def __init__(self):
        self._gflops = {}

    def __call__(self, dtype):
        if dtype not in self._gflops:
            self._gflops[dtype] = gemm_peak(dtype)
        return self._gflops[dtype]


def record(benchmark, peaks, dtype, batch, flops):
    """Put images/s, GFLOP/s and the share of the GEMM peak into benchmark.extra_info."""
    if benchmark.stats is None:  # --benchmark-disable: nothing was timed
        return
    sec = benchmark.stats.stats.min
    info = {"dtype": dtype, "batch": batch, "images_per_s": batch / sec}
    if flops:
        gflops = flops / sec / 1e9
        info.update(gflops=gflops, gemm_peak_gflops=peaks(dtype),
                    peak_fraction=gflops / peaks(dtype))
    benchmark.extra_info.update(info)


def max_rel_diff(a, b):
    """max |a - b| over max |b| (1 when b is all zeros and a is not)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(b))
    diff = np.max(np.abs(a - b))
    return diff / scale if scale else float(diff > 0)


def assert_agree(outs_a, outs_b, dtype):
    """Each output of one backend within KERNEL_TOL of the other's, relative to its scale."""
    worst = max(max_rel_diff(a, b) for a, b in zip(outs_a, outs_b))
    tol = KERNEL_TOL[dtype]
    assert worst <= tol, f"backends differ by {worst:.2e} (> {tol:g}, {dtype})"
    return worst


def take_turns(engines, data, idxs, steps, rounds, setup=None):
    """Yield (label, ms per step) for each timed turn of {label: Engine} on the same data.

    Every round each engine trains `steps` steps, after a pause and `setup(label)`; the
    order rotates every round, so a busy spell of the machine hits all of them. Round 0
    warms up (compiles, fills caches) and is not yielded.
    """
    turns = {label: (engine.be.name, functools.partial(train_steps, engine, data, idxs))
             for label, engine in engines.items()}
    yield from alternate(turns, steps, rounds, setup)


def alternate(turns, steps, rounds, setup=None):
    """`take_turns` for any work: turns {label: (backend, fn)}, fn(steps) runs one turn
    under the backend's thread settings."""
    labels = list(turns)
    for r in range(rounds + 1):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            time.sleep(PAUSE_S)
            if setup is not None:
                setup(label)
            backend, fn = turns[label]
            with thread_settings(backend):
                t = time.perf_counter()
                fn(steps)
                ms = (time.perf_counter() - t) / steps * 1e3
            if r:
                yield label, ms
