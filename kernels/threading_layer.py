"""Numba's parallel regions on TBB where it is installed, for a machine whose cores are busy.

Numba's OpenMP layer hands each thread an equal share of a region's blocks, and the region
ends when the slowest thread does. With another program busy on one of two cores, that
thread waits its turn for the core in every region: a GAN S step took 4.75 ms instead of
about 1.6, slower than on one thread. TBB lets an idle thread take the blocks a busy one
has not started, so the same step took 2.49 ms (`python bench/busy_core.py`). On free
cores neither layer's bench steps led by more than the machine's noise; a 5-minute
training run made 65,880 steps on TBB and 68,480 on OpenMP, one after the other. The
blocks are computed the same way on any layer, so results do not depend on it.

Numba tries TBB first, but PyPI's tbb wheel puts libtbb.so.12 in the environment's lib/
folder, where the dynamic loader does not look, so Numba would fall back to OpenMP. Loading
that library first, by its full path, lets Numba's TBB layer link against it. A
NUMBA_THREADING_LAYER set by the user still decides.
"""
import ctypes
import importlib.metadata

import numba
import numpy as np
from numba import njit, prange

# the library Numba's TBB layer links against, by its Linux name: fastgan installs tbb on
# Linux x86_64 only (pyproject.toml)
TBB_LIBRARY = "libtbb.so.12"


def load_tbb(distribution="tbb"):
    """Load TBB's library from the installed `distribution` so that Numba's TBB layer can
    start; return its path, or None where it is not installed or has no such library."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == TBB_LIBRARY:
            path = file.locate()
            try:
                ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                return None
            return str(path)
    return None


@njit(parallel=True, cache=True)
def _touch(out):
    for i in prange(out.size):
        out[i] = i


def threading_layer():
    """The layer Numba's parallel regions run on ("tbb", "omp" or "workqueue"): Numba picks
    it at the first region, which this starts if none has run."""
    try:
        return numba.threading_layer()
    except ValueError:  # no region has run yet
        _touch(np.zeros(2))
        return numba.threading_layer()
