"""Fused dense-layer kernels: each core multiplies one block of a layer and runs the fused
epilogue (bias, activation, dropout mask) on that block while it is still in cache.

A forward product out = x @ w is cut into blocks of columns when w is wider than the batch
is tall, so each core packs only its share of w, and into blocks of rows otherwise; the
backward pass cuts dW = x.T @ dz and dX = dz @ w.T alike along w's rows, so each core reads
its own rows of w and x.T in place (kernels.blas: NumPy's own gemm where it has one). BLAS
runs single-threaded inside a block (fastgan.threads sees to it): the parallelism is ours,
so the two thread pools never compete for the cores. The blocks (`_forward_block`,
`_dz_block`, `_gradient_block`) and the epilogues are compiled functions of their own,
called by every kernel rather than inlined into each, which halved the kernels' compile
time. docs/benchmarks.md "How it is fast" has the measurements.
"""
import numba
import numpy as np
from numba import njit, prange

from . import checks
from .blas import gemm
from .codes import ACTIVATIONS
from .optim import no_update, update_range
from .tanh import sigmoid, tanh

# Activation codes, as in codes.py (kept local: Numba freezes module globals at compile time).
_RELU, _LEAKY_RELU, _TANH, _SIGMOID = 1, 2, 3, 4
_MIN_ROWS = 8  # smaller row blocks cost more in BLAS calls than their core saves
_COLUMN_STEP = 16  # column blocks are whole SIMD vectors wide (16 float32 = 64 bytes)
COLUMN_MIN_WEIGHTS = 1 << 15
PARALLEL_MIN_MACS = 1 << 18
ROW_BLOCK_ROWS = 64  # rows per core from which a wide product is cut into rows


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
    w moves fewer bytes than one packing all of it beside half of x; rows otherwise, and
    when each core's share of the rows is ROW_BLOCK_ROWS tall or more, which uses each
    packed piece of w often enough (D's 128-row products of GAN L: 1.03x its whole step,
    docs/benchmarks.md)."""
    tall = n // numba.config.NUMBA_NUM_THREADS >= ROW_BLOCK_ROWS
    if m > n and k * m >= COLUMN_MIN_WEIGHTS and not tall:
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

    tanh and sigmoid are kernels.tanh's, which vectorises where libm's would not.
    """
    _check_forward(x, w, b, act, mask, out, h)
    _forward_unchecked(x, w, b, act, alpha, mask, out, h)


def _forward_unchecked(x, w, b, act, alpha, mask, out, h):
    n, m = out.shape
    x, w = unit_columns(x), unit_columns(w)
    by_columns, step = forward_cut(n, x.shape[1], m)
    kernel = _dense_forward if parallel(n, x.shape[1], m) else _dense_forward_serial
    kernel(x, w, b, act, alpha, mask, out, h, by_columns, step)


@njit(cache=True, parallel=True, error_model="numpy")
def _dense_forward(x, w, b, act, alpha, mask, out, h, by_columns, step):
    size = out.shape[1] if by_columns else out.shape[0]
    # each block owns a block of out's columns or rows, so writes never collide; prange's
    # index is unsigned, and as int64 it calls the same compiled block as the serial loop
    for t in prange((size + step - 1) // step):
        _forward_block(x, w, b, act, alpha, mask, out, h, by_columns, step, np.int64(t))


# the same blocks in turn, for products too small for a parallel region
@njit(cache=True, error_model="numpy")
def _dense_forward_serial(x, w, b, act, alpha, mask, out, h, by_columns, step):
    size = out.shape[1] if by_columns else out.shape[0]
    for t in range((size + step - 1) // step):
        _forward_block(x, w, b, act, alpha, mask, out, h, by_columns, step, t)


@njit(cache=True, error_model="numpy")
def _forward_block(x, w, b, act, alpha, mask, out, h, by_columns, step, t):
    n, m = out.shape
    k = x.shape[1]
    if by_columns:
        r0, r1 = 0, n
        c0, c1 = _span(m, step, t)
        gemm(False, False, n, c1 - c0, k, x, 0, w, c0, out, c0)
    else:
        r0, r1 = _span(n, step, t)
        c0, c1 = 0, m
        gemm(False, False, r1 - r0, m, k, x, r0 * x.strides[0] // x.itemsize, w, 0, out,
             r0 * out.strides[0] // out.itemsize)
    _epilogue(out, b, act, alpha, mask, h, r0, r1, c0, c1)


@njit(cache=True, inline="always")
def _epilogue(out, b, act, alpha, mask, h, r0, r1, c0, c1):
    """Bias, activation and dropout mask on the block out[r0:r1, c0:c1].

    The loops compile to SIMD code only when nothing in them is decided per value: hence
    a function per activation, and rows taken as views indexed from 0, where Numba's check
    for negative indices folds away (indexed from c0, it stayed in the loop). tanh cost
    11 ns a value either way wrong, 1.3 like this. Each is compiled once per dtype, not
    inlined, which keeps the kernels' compile time down."""
    if act == _RELU:
        _bias_relu(out, b, r0, r1, c0, c1)
    elif act == _LEAKY_RELU:
        _bias_leaky_relu(out, b, alpha, r0, r1, c0, c1)
    elif act == _TANH:
        _bias_tanh(out, b, r0, r1, c0, c1)
    elif act == _SIGMOID:
        _bias_sigmoid(out, b, r0, r1, c0, c1)
    else:
        _bias(out, b, r0, r1, c0, c1)
    if mask.size > 0:
        _times_mask(out, mask, h, r0, r1, c0, c1)


@njit(cache=True, error_model="numpy")
def _bias(out, b, r0, r1, c0, c1):
    bias = b[c0:c1]
    for i in range(r0, r1):
        z = out[i, c0:c1]
        for j in range(z.size):
            z[j] += bias[j]


@njit(cache=True, error_model="numpy")
def _bias_relu(out, b, r0, r1, c0, c1):
    bias = b[c0:c1]
    for i in range(r0, r1):
        z = out[i, c0:c1]
        for j in range(z.size):
            v = z[j] + bias[j]
            z[j] = v if v > 0 else v * 0


@njit(cache=True, error_model="numpy")
def _bias_leaky_relu(out, b, alpha, r0, r1, c0, c1):
    bias = b[c0:c1]
    for i in range(r0, r1):
        z = out[i, c0:c1]
        for j in range(z.size):
            v = z[j] + bias[j]
            z[j] = v if v > 0 else alpha * v


@njit(cache=True, error_model="numpy")
def _bias_tanh(out, b, r0, r1, c0, c1):
    bias = b[c0:c1]
    for i in range(r0, r1):
        z = out[i, c0:c1]
        for j in range(z.size):
            z[j] = tanh(z[j] + bias[j])


@njit(cache=True, error_model="numpy")
def _bias_sigmoid(out, b, r0, r1, c0, c1):
    bias = b[c0:c1]
    for i in range(r0, r1):
        z = out[i, c0:c1]
        for j in range(z.size):
            z[j] = sigmoid(z[j] + bias[j])


@njit(cache=True, error_model="numpy")
def _times_mask(out, mask, h, r0, r1, c0, c1):
    """h = out * mask on the block."""
    for i in range(r0, r1):
        y, keep, kept = out[i, c0:c1], mask[i, c0:c1], h[i, c0:c1]
        for j in range(y.size):
            kept[j] = y[j] * keep[j]


def dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx):
    """dz = dout * mask * act'(out) into dout (n, m); dx = dz @ w.T; dw = x.T @ dz, db = sum(dz).

    Empty dw skips dw and db, empty dx skips dx.
    """
    _check_backward(x, w, out, dout, act, mask, dw, db, dx)
    _backward_unchecked(x, w, out, dout, act, alpha, mask, dw, db, dx)


def _backward_unchecked(x, w, out, dout, act, alpha, mask, dw, db, dx):
    x, w = unit_columns(x), unit_columns(w)
    n, k = x.shape
    kernel = _dense_backward if parallel(n, k, w.shape[1]) else _dense_backward_serial
    kernel(x, w, out, dout, act, alpha, mask, dw, db, dx, *backward_cut(n, k),
           no_update(x.dtype))


dense_forward.unchecked = _forward_unchecked  # for callers whose arrays fit by construction
dense_backward.unchecked = _backward_unchecked


def _check_forward(x, w, b, act, mask, out, h):
    name = "dense_forward"
    n, k = checks.matrix(name, "x", x)
    _, m = checks.matrix(name, "w", w)
    checks.shape(name, "w", w, (k, m))
    for label, a in (("b", b), ("out", out), ("mask", mask), ("h", h)):
        checks.shape(name, label, a, (m,) if label == "b" else (n, m), label in ("mask", "h"))
    checks.floats(name, x=x, w=w, b=b, out=out, mask=mask, h=h)
    checks.code(name, "act", act, ACTIVATIONS)
    checks.writable_rows(name, "out", out)
    checks.writable_rows(name, "h", h)


def _check_backward(x, w, out, dout, act, mask, dw, db, dx):
    name = "dense_backward"
    n, k = checks.matrix(name, "x", x)
    _, m = checks.matrix(name, "w", w)
    expected = {"w": (k, m), "out": (n, m), "dout": (n, m), "mask": (n, m), "dw": (k, m),
                "db": (m,), "dx": (n, k)}
    arrays = {"w": w, "out": out, "dout": dout, "mask": mask, "dw": dw, "db": db, "dx": dx}
    for label, a in arrays.items():
        checks.shape(name, label, a, expected[label], label in ("mask", "dw", "db", "dx"))
    if (dw.size == 0) != (db.size == 0):
        raise checks.KernelArgumentError(f"{name}: dw and db are wanted together; got dw "
                                         f"{dw.shape} and db {db.shape}")
    checks.floats(name, x=x, **arrays)
    checks.code(name, "act", act, ACTIVATIONS)
    for label in ("dout", "dw", "db", "dx"):
        checks.writable_rows(name, label, arrays[label])


def unit_columns(a):
    """a, or a copy when its columns are not adjacent in memory (gemm needs them so)."""
    return a if a.strides[1] == a.itemsize or a.shape[1] == 1 else np.ascontiguousarray(a)


@njit(cache=True, parallel=True)
def _dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx, rows, krows, step):
    # one layer: none below it (an empty out), so no dz formed for one
    n, below = out.shape[0], (out[:0], np.int64(0), alpha, mask[:0])
    for t in prange((n + rows - 1) // rows):
        _dz_block(out, dout, act, alpha, mask, rows, np.int64(t))
    k = x.shape[1]
    for t in prange((k + krows - 1) // krows):
        _gradient_block(x, w, dout, dw, db, dx, krows, np.int64(t), step, 0, 0, below)


@njit(cache=True)  # as _dense_forward_serial
def _dense_backward_serial(x, w, out, dout, act, alpha, mask, dw, db, dx, rows, krows, step):
    n, below = out.shape[0], (out[:0], np.int64(0), alpha, mask[:0])
    for t in range((n + rows - 1) // rows):
        _dz_block(out, dout, act, alpha, mask, rows, t)
    k = x.shape[1]
    for t in range((k + krows - 1) // krows):
        _gradient_block(x, w, dout, dw, db, dx, krows, t, step, 0, 0, below)


@njit(cache=True, error_model="numpy")
def _dz_block(out, dout, act, alpha, mask, rows, t):
    """dz = dout * mask * act'(out) on rows block t, in place in dout."""
    lo, hi = _span(out.shape[0], rows, t)
    _dz_range(out, dout, act, alpha, mask, lo, hi, 0, out.shape[1])


@njit(cache=True, error_model="numpy")
def _dz_range(out, dout, act, alpha, mask, r0, r1, c0, c1):
    """dz = dout * mask * act'(out) on dout[r0:r1, c0:c1], in place; a loop per
    activation, on rows taken as views indexed from 0, as in `_epilogue`."""
    if mask.size > 0:
        for i in range(r0, r1):
            d, keep = dout[i, c0:c1], mask[i, c0:c1]
            for j in range(d.size):
                d[j] *= keep[j]
    if act == _RELU:
        _times_derivative(out, dout, _RELU, alpha, r0, r1, c0, c1)
    elif act == _LEAKY_RELU:
        _times_derivative(out, dout, _LEAKY_RELU, alpha, r0, r1, c0, c1)
    elif act == _TANH:
        _times_derivative(out, dout, _TANH, alpha, r0, r1, c0, c1)
    elif act == _SIGMOID:
        _times_derivative(out, dout, _SIGMOID, alpha, r0, r1, c0, c1)


@njit(cache=True, inline="always")
def _times_derivative(out, dout, act, alpha, r0, r1, c0, c1):
    for i in range(r0, r1):
        y, d = out[i, c0:c1], dout[i, c0:c1]
        for j in range(y.size):
            d[j] *= _derivative(y[j], act, alpha)


@njit(cache=True, error_model="numpy")
def _gradient_block(x, w, dz, dw, db, dx, krows, t, step, w_at, b_at, below):
    """Block t of w's rows: rows lo:hi of dw, columns lo:hi of dx and a slice of db's
    columns, so no block needs a reduction across threads. below = (out, act, alpha,
    mask) of the layer below, whose output is x (an empty out: none, or not wanted): its
    dz on those columns of dx, while they are in cache, so that layer's pass needs no dz
    pass of its own. Then the UPDATE `step` (kernels.optim) of those rows of w and that
    slice of b, whose flat offsets in step's buffers are w_at + lo * m and b_at + c0: dx has
    been formed from w as it was."""
    n, m = dz.shape
    k = x.shape[1]
    lo, hi = _span(k, krows, t)
    nblocks = (k + krows - 1) // krows
    c0, c1 = _span(m, (m + nblocks - 1) // nblocks, t)
    if dw.size > 0:
        gemm(True, False, hi - lo, m, n, x, lo, dz, 0, dw, lo * dw.strides[0] // dw.itemsize)
        _column_sums(dz, db, c0, c1)
    if dx.size > 0:
        gemm(False, True, n, hi - lo, m, dz, 0, w, lo * w.strides[0] // w.itemsize, dx, lo)
        out, act, alpha, mask = below
        if out.size > 0:
            _dz_range(out, dx, act, alpha, mask, 0, n, lo, hi)
    if step[0] > 0:
        update_range(step, w_at + lo * m, w_at + hi * m)
        update_range(step, b_at + c0, b_at + c1)


@njit(cache=True, inline="always")
def _column_sums(a, out, lo, hi):
    """out[j] = sum_i a[i, j] for columns lo:hi, rows in order: the result does not depend on
    the thread count."""
    sums = out[lo:hi]  # views indexed from 0, for SIMD code (see `_epilogue`)
    sums[:] = 0
    for i in range(a.shape[0]):
        row = a[i, lo:hi]
        for j in range(row.size):
            sums[j] += row[j]
