"""Optimizer updates over a whole network at once: parameters live in one flat buffer."""
import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def sgd_update(p, g, lr):
    """p -= lr * g. p, g (size,)."""
    for i in prange(p.size):
        p[i] -= lr * g[i]


@njit(cache=True, parallel=True)
def adam_update(p, g, m, v, lr_t, beta1, beta2, eps, c2):
    """One Adam step; lr_t = lr / (1 - beta1^t), c2 = 1 / (1 - beta2^t). All arrays (size,)."""
    for i in prange(p.size):
        gi = g[i]
        m[i] = beta1 * m[i] + (1 - beta1) * gi
        v[i] = beta2 * v[i] + (1 - beta2) * (gi * gi)
        p[i] -= lr_t * m[i] / (np.sqrt(v[i] * c2) + eps)


@njit(cache=True, parallel=True)
def ema_update(avg, p, decay):
    """avg = decay * avg + (1 - decay) * p. avg, p (size,)."""
    for i in prange(p.size):
        avg[i] = decay * avg[i] + (1 - decay) * p[i]


@njit(cache=True, parallel=True)
def clip_update(p, c):
    """Clip p (size,) to [-c, c] in place."""
    for i in prange(p.size):
        p[i] = min(max(p[i], -c), c)
