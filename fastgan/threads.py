"""One place that sets the thread counts of Numba and of BLAS, so they never oversubscribe.

The Numba backend splits each minibatch across cores itself and calls BLAS from every core,
so BLAS must run single-threaded; the NumPy backend leaves the parallelism to BLAS.
"""
import contextlib
import functools

import numba
import numpy as np
from threadpoolctl import ThreadpoolController


# Fewer multiply-adds than this in a step's widest layer run faster on one core than split:
# each of a step's ~30 parallel regions costs microseconds to start and join, as much as the
# work it splits, and milliseconds while other processes keep the other cores busy.
SPLIT_MIN_WORK = 1 << 16


def available_cores():
    """Threads Numba can run (its NUMBA_NUM_THREADS, by default the machine's cores)."""
    return numba.config.NUMBA_NUM_THREADS


def check_threads(threads):
    """Raise TypeError/ValueError unless `threads` is None or an int in 1..available_cores()."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads={threads!r} must be an int")
    limit = available_cores()
    if not 1 <= threads <= limit:
        raise ValueError(f"threads={threads} must be between 1 and {limit}, the cores Numba "
                         f"can use here (set NUMBA_NUM_THREADS to change that limit)")


@functools.cache
def _blas_pools():
    """The BLAS libraries NumPy and the kernels call, found once: scanning the loaded
    libraries costs about a millisecond, more than a small GAN's whole step
    (`GAN.train_step`)."""
    # the kernels' gemm is MKL's, NumPy's, or SciPy's where NumPy has none (kernels.blas):
    # load theirs first so that threadpoolctl can see it
    from .kernels import blas  # noqa: F401
    return ThreadpoolController()


def step_threads(config):
    """The threads a training step of `config` runs on: config.threads if set, else all
    cores, or one when even D's widest layer, on its 2 * batch_size rows, does fewer than
    SPLIT_MIN_WORK multiply-adds (a step of a 1-D toy GAN)."""
    if config.threads is not None:
        return config.threads
    widest = max(k * m for s in (config.g_sizes, config.d_sizes) for k, m in zip(s, s[1:]))
    return 1 if 2 * config.batch_size * widest < SPLIT_MIN_WORK else available_cores()


@contextlib.contextmanager
def thread_settings(backend, threads=None):
    """Run the block with `threads` cores (None: all; checked by the caller) split as
    `backend` needs them."""
    n = threads or available_cores()
    previous = numba.get_num_threads()
    if previous != n:  # a few microseconds a call, as much as a tiny step's layer
        numba.set_num_threads(n)
    try:
        with _blas_pools().limit(limits=1 if backend == "numba" else n, user_api="blas"):
            yield n
    finally:
        if previous != n:
            numba.set_num_threads(previous)
