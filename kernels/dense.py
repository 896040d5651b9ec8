"""Fused dense-layer kernels: each core multiplies one block of a layer and runs the fused
epilogue (bias, activation, dropout mask) on that block while it is still in cache.

A forward product out = x @ w is cut into blocks of columns when w is wider than the batch
is tall, so each core packs only its share of w, and into blocks of rows otherwise; the
backward pass cuts dW = x.T @ dz and dX = dz @ w.T alike along w's rows, so each core reads
its own rows of w and x.T in place (kernels.blas: NumPy's own gemm where it has one). BLAS
runs single-threaded inside a block (fastgan.threads sees to it): the parallelism is ours,
so the two thread pools never compete for the cores. docs/benchmarks.md "How it is fast"
has the measurements.
"""
import numba
import numpy as np
from numba import njit, prange

from .blas import gemm

# Activation codes, as in codes.py (kept local: Numba freezes module globals at compile time).
_RELU, _LEAKY_RELU, _TANH, _SIGMOID = 1, 2, 3, 4
_MIN_ROWS = 8  # smaller row blocks cost more in BLAS calls than their core saves
_COLUMN_STEP = 16  # column blocks are whole SIMD vectors wide (16 float32 = 64 bytes)
COLUMN_MIN_WEIGHTS = 1 << 15
PARALLEL_MIN_MACS = 1 << 18


def blocks(size, step):
    """Length of a block when `size` is cut into one block per core Numba may use, at
    least `step` long and a multiple of it.

    The cut follows the machine's cores (NUMBA_NUM_THREADS), not the `threads` setting:
    BLAS rounds differently in blocks of different shapes, and a block is computed the same
    way whichever thread runs it, so results are bit-exact for any thread count.
    """
    per_core = -(-size // numba.config.NUMBA_NUM_THREADS)
    return max(step, -(-per_core // step) * step)


def forward_cut(n, k, m):
    """(by_columns, block length) of a forward product (n, k) @ (k, m): columns when w is
    wider than the batch is tall and too big to stay in cache, since a core packing half of
    w moves fewer bytes than one packing all of it beside half of x; rows otherwise."""
    if m > n and k * m >= COLUMN_MIN_WEIGHTS:
        return True, blocks(m, _COLUMN_STEP)
    return False, blocks(n, _MIN_ROWS)


def backward_cut(n, k):
    """(rows, w's rows) per block of a backward pass over n rows of a layer with k inputs:
    the rows cut dz's elementwise pass, w's rows cut dW and dX."""
    return blocks(n, _MIN_ROWS), blocks(k, _MIN_ROWS)


def parallel(n, k, m):
    """Whether a product of (n, k) by (k, m) is worth a parallel region (several us to
    start); smaller ones run their blocks in turn on the calling thread."""
    return n * k * m >= PARALLEL_MIN_MACS


@njit(cache=True, inline="always")
def _activate(z, act, alpha):
    """The activations Numba applies itself (tanh and sigmoid go through NumPy)."""
    if act == _RELU:
        return z if z > 0 else z * 0
    if act == _LEAKY_RELU:
        return z if z > 0 else alpha * z
    return z


@njit(cache=True, inline="always")
def _derivative(y, act, alpha):
    """act'(z) from y = act(z)."""
    if act == _RELU:
        return 1 if y > 0 else 0
    if act == _LEAKY_RELU:
        return 1 if y > 0 else alpha
    if act == _TANH:
        return 1 - y * y
    if act == _SIGMOID:
        return y * (1 - y)
    return 1


@njit(cache=True, inline="always")
def _span(size, step, t):
    """[lo, hi) of block t when `size` is cut into blocks of `step`."""
    lo = min(t * step, size)
    return lo, min(lo + step, size)


def dense_forward(x, w, b, act, alpha, mask, out, h):
    """out = act(x @ w + b); h = out * mask when mask is non-empty. x (n, k), w (k, m), b (m,).

    tanh and sigmoid are applied by NumPy's SIMD tanh after the fused product + bias: Numba
    (without SVML, as PyPI's llvmlite is built) calls libm's scalar tanh, which took 530 us
    on a 64x784 float32 layer against 125 us for the same layer with a linear output.
    """
    n, m = out.shape
    x, w = unit_columns(x), unit_columns(w)
    by_columns, step = forward_cut(n, x.shape[1], m)
    kernel = _dense_forward if parallel(n, x.shape[1], m) else _dense_forward_serial
    if act == _TANH or act == _SIGMOID:
        kernel(x, w, b, 0, alpha, mask[:0], out, h, by_columns, step)
        finish_output(act, out)
        if mask.size:
            np.multiply(out, mask, out=h)
    else:
        kernel(x, w, b, act, alpha, mask, out, h, by_columns, step)


def finish_output(act, out):
    """Apply tanh or sigmoid (act) in place to a layer's output that the kernels left
    linear, with NumPy's SIMD tanh; any other activation leaves it alone."""
    if act == _TANH:
        np.tanh(out, out=out)
    elif act == _SIGMOID:  # sigmoid(z) = (1 + tanh(z / 2)) / 2: no overflow for any z
        out *= 0.5
        np.tanh(out, out=out)
        out += 1
        out *= 0.5


@njit(cache=True, parallel=True)
def _dense_forward(x, w, b, act, alpha, mask, out, h, by_columns, step):
    size = out.shape[1] if by_columns else out.shape[0]
    # each block owns a block of out's columns or rows, so writes never collide
    for t in prange((size + step - 1) // step):
        _forward_block(x, w, b, act, alpha, mask, out, h, by_columns, step, t)


@njit(cache=True)  # the same blocks in turn, for products too small for a parallel region
def _dense_forward_serial(x, w, b, act, alpha, mask, out, h, by_columns, step):
    size = out.shape[1] if by_columns else out.shape[0]
    for t in range((size + step - 1) // step):
        _forward_block(x, w, b, act, alpha, mask, out, h, by_columns, step, t)


@njit(cache=True, inline="always")
def _forward_block(x, w, b, act, alpha, mask, out, h, by_columns, step, t):
    n, m = out.shape
    k = x.shape[1]
    if by_columns:
        lo, hi = _span(m, step, t)
        gemm(False, False, n, hi - lo, k, x, 0, w, lo, out, lo)
        _epilogue(out, b, act, alpha, mask, h, 0, n, lo, hi)
    else:
        lo, hi = _span(n, step, t)
        gemm(False, False, hi - lo, m, k, x, lo * x.strides[0] // x.itemsize, w, 0, out,
             lo * out.strides[0] // out.itemsize)
        _epilogue(out, b, act, alpha, mask, h, lo, hi, 0, m)


@njit(cache=True, inline="always")
def _epilogue(out, b, act, alpha, mask, h, r0, r1, c0, c1):
    """Bias, activation and dropout mask on the block out[r0:r1, c0:c1]."""
    dropout = mask.size > 0
    for i in range(r0, r1):
        for j in range(c0, c1):
            y = _activate(out[i, j] + b[j], act, alpha)
            out[i, j] = y
            if dropout:
                h[i, j] = y * mask[i, j]


def dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx):
    """dz = dout * mask * act'(out) into dout (n, m); dx = dz @ w.T; dw = x.T @ dz, db = sum(dz).

    Empty dw skips dw and db, empty dx skips dx.
    """
    x, w = unit_columns(x), unit_columns(w)
    n, k = x.shape
    kernel = _dense_backward if parallel(n, k, w.shape[1]) else _dense_backward_serial
    kernel(x, w, out, dout, act, alpha, mask, dw, db, dx, *backward_cut(n, k))


def unit_columns(a):
    """a, or a copy when its columns are not adjacent in memory (gemm needs them so)."""
    return a if a.strides[1] == a.itemsize or a.shape[1] == 1 else np.ascontiguousarray(a)


@njit(cache=True, parallel=True)
def _dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx, rows, krows):
    n = out.shape[0]
    for t in prange((n + rows - 1) // rows):
        _dz_block(out, dout, act, alpha, mask, rows, t)
    k = x.shape[1]
    for t in prange((k + krows - 1) // krows):
        _gradient_block(x, w, dout, dw, db, dx, krows, t)


@njit(cache=True)  # as _dense_forward_serial
def _dense_backward_serial(x, w, out, dout, act, alpha, mask, dw, db, dx, rows, krows):
    n = out.shape[0]
    for t in range((n + rows - 1) // rows):
        _dz_block(out, dout, act, alpha, mask, rows, t)
    k = x.shape[1]
    for t in range((k + krows - 1) // krows):
        _gradient_block(x, w, dout, dw, db, dx, krows, t)


@njit(cache=True, inline="always")
def _dz_block(out, dout, act, alpha, mask, rows, t):
    """dz = dout * mask * act'(out) on rows block t, in place in dout."""
    lo, hi = _span(out.shape[0], rows, t)
    dropout = mask.size > 0
    for i in range(lo, hi):
        for j in range(out.shape[1]):
            g = dout[i, j]
            if dropout:
                g = g * mask[i, j]
            dout[i, j] = g * _derivative(out[i, j], act, alpha)


@njit(cache=True, inline="always")
def _gradient_block(x, w, dz, dw, db, dx, krows, t):
    """Block t of w's rows: rows lo:hi of dw, columns lo:hi of dx and a slice of db's
    columns, so no block needs a reduction across threads."""
    n, m = dz.shape
    k = x.shape[1]
    lo, hi = _span(k, krows, t)
    if dw.size > 0:
        gemm(True, False, hi - lo, m, n, x, lo, dz, 0, dw, lo * dw.strides[0] // dw.itemsize)
        nblocks = (k + krows - 1) // krows
        mcols = (m + nblocks - 1) // nblocks
        c0, c1 = _span(m, mcols, t)
        _column_sums(dz, db, c0, c1)
    if dx.size > 0:
        gemm(False, True, n, hi - lo, m, dz, 0, w, lo * w.strides[0] // w.itemsize, dx, lo)


@njit(cache=True, inline="always")
def _column_sums(a, out, lo, hi):
    """out[j] = sum_i a[i, j] for columns lo:hi, rows in order: the result does not depend on
    the thread count."""
    for j in range(lo, hi):
        out[j] = 0
    for i in range(a.shape[0]):
        for j in range(lo, hi):
            out[j] += a[i, j]
