"""Optimizer updates over a whole network at once: parameters live in one flat buffer.

Scalars arrive as Python floats (float64). They are cast to the buffers' dtype first, as NumPy
does with the twins' Python scalars: float32 buffers then take float32 arithmetic, which
vectorises twice as wide (Adam ran 3x faster than with float64 scalars) and rounds the way the
twins do. Constants such as 1 - beta are formed in float64 before the cast, like the twins'.

The compiled backward pass can also apply a whole step (SGD or Adam, clipping, an EMA) to
each block of a layer's parameters right after the block's gradients are formed, while they
and the weights are still in cache: `update_range` on an UPDATE tuple (see `update`). It does
per value what the separate kernels below do, in the same order, so the results are the same.
"""
import functools

import numpy as np
from numba import njit, prange

from . import checks

NONE, SGD, ADAM = 0, 1, 2  # an UPDATE's kind


def update(kind, params, grads, rate=0.0, beta1=0.0, beta2=0.0, eps=0.0, c2=0.0, m=None,
           v=None, clip=0.0, decay=0.0, average=None):
    """An UPDATE tuple: (kind, rate, beta1, beta2, eps, c2, clip, decay, params, grads, m, v,
    average). rate is SGD's learning rate or Adam's step size (see `adam_update`); clip > 0
    clips the parameters to [-clip, clip] after the step; a non-empty `average` then moves
    toward them by decay (as `ema_update`). Unused arrays are empty, so every UPDATE of a
    dtype has one Numba type."""
    none = params[:0]
    return (kind, float(rate), float(beta1), float(beta2), float(eps), float(c2), float(clip),
            float(decay), params, grads, none if m is None else m, none if v is None else v,
            none if average is None else average)


@functools.cache  # formed once per dtype: its empty arrays are never written
def no_update(dtype):
    """The UPDATE that changes nothing: the backward pass only forms gradients."""
    empty = np.zeros(0, dtype)
    return update(NONE, empty, empty)


@njit(cache=True, error_model="numpy")
def update_range(step, lo, hi):
    """Apply the UPDATE `step` to params[lo:hi]."""
    kind, rate, beta1, beta2, eps, c2, clip, decay, p, g, m, v, average = step
    # views indexed from 0 vectorise (see kernels.dense._epilogue)
    ps, gs = p[lo:hi], g[lo:hi]
    if kind == SGD:
        learning_rate = p.dtype.type(rate)
        for i in range(ps.size):
            _sgd(ps, gs, i, learning_rate)
    elif kind == ADAM:
        ms, vs = m[lo:hi], v[lo:hi]
        constants = _adam_constants(p, rate, beta1, beta2, eps, c2)
        for i in range(ps.size):
            _adam(ps, gs, ms, vs, i, constants)
    if clip > 0:
        c = p.dtype.type(clip)
        for i in range(ps.size):
            _clip(ps, i, c)
    if average.size > 0:
        avg = average[lo:hi]
        d, a = _ema_constants(p, decay)
        for i in range(ps.size):
            _ema(avg, ps, i, d, a)


def sgd_update(p, g, learning_rate):
    """p -= learning_rate * g. p, g (size,)."""
    _check_vectors("sgd_update", p=p, g=g)
    _sgd_update(p, g, learning_rate)


def adam_update(p, g, m, v, step_size, beta1, beta2, eps, c2):
    """One Adam step. step_size = learning_rate / (1 - beta1^t), the bias-corrected step;
    c2 = 1 / (1 - beta2^t). All arrays (size,)."""
    _check_vectors("adam_update", p=p, g=g, m=m, v=v)
    _adam_update(p, g, m, v, step_size, beta1, beta2, eps, c2)


def ema_update(avg, p, decay):
    """avg = decay * avg + (1 - decay) * p. avg, p (size,)."""
    _check_vectors("ema_update", avg=avg, p=p)
    _ema_update(avg, p, decay)


def clip_update(p, c):
    """Clip p (size,) to [-c, c] in place."""
    _check_vectors("clip_update", p=p)
    _clip_update(p, c)


def _check_vectors(kernel, **arrays):
    """Refuse anything but writable 1-D arrays of one float dtype and one size."""
    first = next(iter(arrays.values()))
    for name, a in arrays.items():
        checks.shape(kernel, name, a, (first.size,))
        checks.writable_rows(kernel, name, a)
    checks.floats(kernel, **arrays)


@njit(cache=True, parallel=True, error_model="numpy")
def _sgd_update(p, g, learning_rate):
    learning_rate = p.dtype.type(learning_rate)
    for i in prange(p.size):
        _sgd(p, g, i, learning_rate)


@njit(cache=True, parallel=True, error_model="numpy")
def _adam_update(p, g, m, v, step_size, beta1, beta2, eps, c2):
    constants = _adam_constants(p, step_size, beta1, beta2, eps, c2)
    for i in prange(p.size):
        _adam(p, g, m, v, i, constants)


@njit(cache=True, parallel=True, error_model="numpy")
def _ema_update(avg, p, decay):
    d, a = _ema_constants(p, decay)
    for i in prange(p.size):
        _ema(avg, p, i, d, a)


@njit(cache=True, parallel=True, error_model="numpy")
def _clip_update(p, c):
    c = p.dtype.type(c)
    for i in prange(p.size):
        _clip(p, i, c)


# for callers whose arrays fit by construction
sgd_update.unchecked, adam_update.unchecked = _sgd_update, _adam_update
ema_update.unchecked, clip_update.unchecked = _ema_update, _clip_update


# --- one value of each update, shared by the kernels above ---------------------------------
@njit(cache=True, inline="always")
def _sgd(p, g, i, learning_rate):
    p[i] -= learning_rate * g[i]


@njit(cache=True, inline="always")
def _adam_constants(p, step_size, beta1, beta2, eps, c2):
    real = p.dtype.type
    return (real(beta1), real(beta2), real(1 - beta1), real(1 - beta2), real(step_size),
            real(eps), real(c2))


@njit(cache=True, inline="always")
def _adam(p, g, m, v, i, constants):
    b1, b2, a1, a2, step_size, eps, c2 = constants
    gi = g[i]
    mi = b1 * m[i] + a1 * gi
    vi = b2 * v[i] + a2 * (gi * gi)
    m[i] = mi
    v[i] = vi
    p[i] -= step_size * mi / (np.sqrt(vi * c2) + eps)


@njit(cache=True, inline="always")
def _ema_constants(p, decay):
    real = p.dtype.type
    return real(decay), real(1 - decay)


@njit(cache=True, inline="always")
def _ema(avg, p, i, d, a):
    avg[i] = d * avg[i] + a * p[i]


@njit(cache=True, inline="always")
def _clip(p, i, c):
    p[i] = min(max(p[i], -c), c)
