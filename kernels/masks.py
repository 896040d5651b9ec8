"""Dropout masks from raw 64-bit draws: four 16-bit chunks per draw, one mask value each.

Drawing float32 uniforms took 3.7 ns a value on NumPy's PCG64 and a raw 64-bit word 3.9 ns,
so four masks per word cost about a quarter of the draws (GAN L: 1.0 ms of masks a step).
The keep test compares a 16-bit chunk with round(rate * 2^16): the rate as drawn is off by
at most 2^-17. The kernel reads the draws as an array of 16-bit chunks, which it compares
in SIMD registers: 8 us for a 128 x 512 float32 mask, where shifting each chunk out of its
word took 65 us.
"""
import numpy as np
from numba import njit, prange

from . import checks

CHUNKS = 4  # 16-bit chunks per 64-bit draw
# Smaller masks are filled on the calling thread: a parallel region takes several us to
# start, as long as the work it splits (a 128 x 256 float32 mask: 6.7 us on one thread,
# 11 us split in two; 128 x 1024: 24 us and 20 us)
PARALLEL_MIN_BYTES = 1 << 19


def raw_draws(size):
    """The number of 64-bit draws a mask of `size` values takes."""
    return -(-size // CHUNKS)


def dropout_mask(raw, rate, out):
    """out (n, m) = 1 / (1 - rate) where chunk k of the draws is >= round(rate * 2^16), else
    0; chunk k = bits 16 (k % 4) .. 16 (k % 4) + 15 of raw[k // 4], k = i * m + j, so a
    mask's values do not depend on its shape. raw (>= raw_draws(n * m),) uint64."""
    name = "dropout_mask"
    checks.matrix(name, "out", out)
    checks.floats(name, out=out)
    checks.writable_rows(name, "out", out)
    if raw.dtype != np.uint64 or raw.ndim != 1 or raw.size < raw_draws(out.size):
        raise checks.KernelArgumentError(f"{name}: a mask of {out.size} values takes "
                                         f"{raw_draws(out.size)} uint64 draws; got {raw.dtype} "
                                         f"{raw.shape}")
    if not 0 <= rate < 1:
        raise checks.KernelArgumentError(f"{name}: rate={rate!r} must lie in [0, 1)")
    _dropout_mask_unchecked(raw, rate, out)


def _dropout_mask_unchecked(raw, rate, out):
    kernel = _mask_parallel if out.nbytes >= PARALLEL_MIN_BYTES else _mask_serial
    kernel(chunks16(raw), rate, out)


dropout_mask.unchecked = _dropout_mask_unchecked  # for callers whose arrays fit by construction


def chunks16(raw):
    """The 16-bit chunks of 64-bit draws, the low end of each draw first: raw itself, seen as
    uint16, on a little-endian machine."""
    return raw.astype("<u8", copy=False).view("<u2").astype(np.uint16, copy=False)


@njit(cache=True, parallel=True)
def _mask_parallel(chunks, rate, out):
    keep, zero, threshold = _mask_constants(rate, out)
    for i in prange(out.shape[0]):
        _mask_row(chunks, keep, zero, threshold, out, i)


@njit(cache=True)
def _mask_serial(chunks, rate, out):
    keep, zero, threshold = _mask_constants(rate, out)
    for i in range(out.shape[0]):
        _mask_row(chunks, keep, zero, threshold, out, i)


@njit(cache=True, inline="always")
def _mask_constants(rate, out):
    real = out.dtype.type
    # the threshold as an int64, where 2^16 keeps nothing
    return real(1.0 / (1.0 - rate)), real(0), np.int64(rate * 65536.0 + 0.5)


@njit(cache=True, inline="always")
def _mask_row(chunks, keep, zero, threshold, out, i):
    m = out.shape[1]
    row, drawn = out[i], chunks[i * m:(i + 1) * m]
    for j in range(m):
        row[j] = keep if np.int64(drawn[j]) >= threshold else zero
