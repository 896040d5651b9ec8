"""Fused dense-layer kernels: the minibatch is cut into one block of rows per core, each core
runs a single-threaded BLAS product on its block and the fused epilogue on the rows still in
cache.

The matrix products go to BLAS through np.dot: at these sizes it beat a Numba loop nest (see
README "How it is fast"). BLAS must run single-threaded here (fastgan.threads sees to it): the
parallelism is ours, so the two thread pools never compete for the cores.
"""
import numba
import numpy as np
from numba import njit, prange

# Activation codes, as in codes.py (kept local: Numba freezes module globals at compile time).
_RELU, _LEAKY_RELU, _TANH, _SIGMOID = 1, 2, 3, 4
_MIN_ROWS = 8  # smaller blocks cost more in BLAS calls than their core saves


def block_rows(size):
    """Rows per block when `size` rows are cut into one block per core Numba may use.

    The count follows the machine's cores (NUMBA_NUM_THREADS), not the `threads` setting:
    BLAS rounds a row differently in blocks of different shapes, and a block is computed the
    same way whichever thread runs it, so results are bit-exact for any thread count. One
    block per core packs each weight matrix once per core, where fixed 32-row blocks packed
    it once per block (README "How it is fast").
    """
    return max(_MIN_ROWS, -(-size // numba.config.NUMBA_NUM_THREADS))


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
    """Rows [lo, hi) of block t when `size` rows are cut into blocks of `step` rows."""
    lo = t * step
    return lo, min(lo + step, size)


def dense_forward(x, w, b, act, alpha, mask, out, h):
    """out = act(x @ w + b); h = out * mask when mask is non-empty. x (n, k), w (k, m), b (m,).

    tanh and sigmoid are applied by NumPy's SIMD tanh after the fused product + bias: Numba
    (without SVML, as PyPI's llvmlite is built) calls libm's scalar tanh, which took 530 us
    on a 64x784 float32 layer against 125 us for the same layer with a linear output.
    """
    rows = block_rows(out.shape[0])
    if act == _TANH or act == _SIGMOID:
        _dense_forward(x, w, b, 0, alpha, mask[:0], out, h, rows)
        if act == _TANH:
            np.tanh(out, out=out)
        else:  # sigmoid(z) = (1 + tanh(z / 2)) / 2: no overflow for any z
            out *= 0.5
            np.tanh(out, out=out)
            out += 1
            out *= 0.5
        if mask.size:
            np.multiply(out, mask, out=h)
    else:
        _dense_forward(x, w, b, act, alpha, mask, out, h, rows)


@njit(cache=True, parallel=True)
def _dense_forward(x, w, b, act, alpha, mask, out, h, rows):
    n, m = out.shape
    dropout = mask.size > 0
    # each block owns whole rows of out, so writes never collide
    for t in prange((n + rows - 1) // rows):
        lo, hi = _span(n, rows, t)
        np.dot(x[lo:hi], w, out[lo:hi])
        for i in range(lo, hi):
            for j in range(m):
                y = _activate(out[i, j] + b[j], act, alpha)
                out[i, j] = y
                if dropout:
                    h[i, j] = y * mask[i, j]


def dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx, xt):
    """dz = dout * mask * act'(out) into dout (n, m); dx = dz @ w.T; dw = x.T @ dz, db = sum(dz).

    Empty dw skips dw and db, empty dx skips dx. xt (k, n) is scratch for x.T.
    """
    _dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx, xt,
                    block_rows(out.shape[0]), block_rows(x.shape[1]))


@njit(cache=True, parallel=True)
def _dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx, xt, rows, krows):
    n, m = out.shape
    k = x.shape[1]
    dropout = mask.size > 0
    for t in prange((n + rows - 1) // rows):
        lo, hi = _span(n, rows, t)
        for i in range(lo, hi):
            for j in range(m):
                g = dout[i, j]
                if dropout:
                    g = g * mask[i, j]
                dout[i, j] = g * _derivative(out[i, j], act, alpha)
        if dx.size > 0:
            np.dot(dout[lo:hi], w.T, dx[lo:hi])
    if dw.size > 0:
        # split dw by rows: each block owns rows of dw, so no reduction across threads; the
        # same blocks own slices of db's columns, so db costs no parallel region of its own
        blocks = (k + krows - 1) // krows
        mcols = (m + blocks - 1) // blocks
        for t in prange(blocks):
            lo, hi = _span(k, krows, t)
            xt[lo:hi] = x[:, lo:hi].T
            np.dot(xt[lo:hi], dout, dw[lo:hi])
            lo, hi = _span(m, mcols, t)
            _column_sums(dout, db, lo, hi)


@njit(cache=True, inline="always")
def _column_sums(a, out, lo, hi):
    """out[j] = sum_i a[i, j] for columns lo:hi, rows in order: the result does not depend on
    the thread count."""
    for j in range(lo, hi):
        out[j] = 0
    for i in range(a.shape[0]):
        for j in range(lo, hi):
            out[j] += a[i, j]
