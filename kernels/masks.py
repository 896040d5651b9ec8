"""Dropout masks from uniform draws, in place: one pass where NumPy takes two and a bool
temporary (a 128x1024 float32 mask: about 600 us of NumPy passes after the draw)."""
from numba import njit, prange


@njit(cache=True, parallel=True)
def dropout_mask(u, rate):
    """u[i, j] = 1 / (1 - rate) where u[i, j] >= rate, else 0. u (n, m), uniform in [0, 1)."""
    real = u.dtype.type
    # the rate compared in u's dtype, as NumPy compares an array with a Python float
    keep, zero, rate = real(1.0 / (1.0 - rate)), real(0), real(rate)
    for i in prange(u.shape[0]):
        for j in range(u.shape[1]):
            u[i, j] = keep if u[i, j] >= rate else zero
