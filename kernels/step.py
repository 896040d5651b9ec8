"""A GAN's D update and G update, each one compiled call and one parallel region.

Each runs, as stages of one region (kernels.sync), what fastgan.engine's step otherwise
calls one by one: the networks' passes (kernels.network's stages, with the optimizer step
inside the backward passes), the instance noise on D's input and the loss heads. The blocks
are the passes' own, so results are bit-identical to the call-by-call step. What goes is a
region start per pass (a GAN S step had six, each starting its second thread late) and the
Python and dispatch between the calls. The caller draws the step's random numbers before
the call, in the order the call-by-call step draws them.

A pass arrives as the tuple of its arguments (fastgan.nets.forward_args and
backward_args; an UPDATE `step` apart, since a region's arguments cannot nest arrays two
tuples deep).
"""
import numpy as np
from numba import njit, prange

from . import checks
from .codes import HEADS
from .losses import _loss_head
from .network import (_PARALLEL, _THREADS, _backward_stages, _forward_stages, check_backward,
                      check_forward)
from .sync import claim, counters, done, wait


def gan_d_step(g, d, db, step, heads, weight, noisy):
    """D's update: G's forward pass g, then `noisy` = (x, noise), instance noise on D's input
    rows x (n real rows, then n fake ones, G's output copied in first) when noise (2n, f) is
    non-empty, then D's forward pass d, the loss heads on the real and fake halves of D's
    logits (heads = (real head, real target, fake head, fake target), each weighted by
    `weight`), and D's backward pass db with its UPDATE `step`. Returns the heads' sum."""
    name = "gan_d_step"
    g, d = check_forward(name, g), check_forward(name, d)
    db = check_backward(name, db, step)
    for code in heads[::2]:
        checks.code(name, "head", code, HEADS)
    x, noise = noisy
    if noise.size:
        checks.shape(name, "noise", noise, (x.shape[0], g[6].shape[1]))
        checks.writable_rows(name, "x", x)
    return _gan_d_step(g, d, db, step, heads, weight, noisy)


def gan_g_step(d, db, dstep, g, gstep, head, weight):
    """G's update through D: D's forward pass d, the loss head = (head, target) on its logits,
    D's backward pass db (its UPDATE dstep: none, as a rule) and G's backward pass g, whose
    upstream gradient D's pass formed, with its UPDATE gstep. Returns the head's loss."""
    name = "gan_g_step"
    d = check_forward(name, d)
    db, g = check_backward(name, db, dstep), check_backward(name, g, gstep)
    checks.code(name, "head", head[0], HEADS)
    return _gan_g_step(d, db, dstep, g, gstep, head, weight)


@njit(cache=True, parallel=True)
def _gan_d_step(g, d, db, step, heads, weight, noisy):
    stages = g[9].shape[0] + 2 * d[9].shape[0] + 3
    sync, loss = counters(stages), np.zeros(1)
    workers = _workers(g[9], d[9])
    if workers == 1:
        _d_stages(g, d, db, step, heads, weight, noisy, loss, sync)
    else:
        for _ in prange(workers):
            _d_stages(g, d, db, step, heads, weight, noisy, loss, sync)
    return loss[0]


@njit(cache=True)
def _d_stages(g, d, db, step, heads, weight, noisy, loss, sync):
    """One thread's share of the D update: G's layers, the noise, D's layers, the heads, D's
    gradients."""
    s = g[9].shape[0]
    ready = _forward_stages(*g, sync, 0, 0)
    wait(sync, s - 1, ready)
    x, noise = noisy
    t = claim(sync, s)
    while t < 2:  # the real rows, the fake rows
        _add_noise(x, noise, g[6], t)
        done(sync, s)
        t = claim(sync, s)
    ready = _forward_stages(*d, sync, s + 1, 2)
    s += 1 + d[9].shape[0]
    wait(sync, s - 1, ready)
    if claim(sync, s) == 0:
        logits, dlogits, half = d[6], db[9], d[6].shape[0] // 2
        real, real_target, fake, fake_target = heads
        loss[0] = (_loss_head(logits[:half], real, real_target, weight, dlogits[:half])
                   + _loss_head(logits[half:], fake, fake_target, weight, dlogits[half:]))
        done(sync, s)
    _backward_stages(*db, step, sync, s + 1, 1)


@njit(cache=True)
def _add_noise(x, noise, fake, t):
    """Rows block t of D's input (0: real, 1: fake) with instance noise: the fake rows are
    G's output `fake` first; then x += noise. Nothing without noise."""
    if noise.size == 0:
        return
    n, f = fake.shape
    for i in range(t * n, (t + 1) * n):
        row, added = x[i, :f], noise[i]
        if t == 1:
            row[:] = fake[i - n]
        for j in range(f):
            row[j] += added[j]


@njit(cache=True, parallel=True)
def _gan_g_step(d, db, dstep, g, gstep, head, weight):
    stages = 2 * d[9].shape[0] + g[13].shape[0] + 3
    sync, loss = counters(stages), np.zeros(1)
    workers = _workers(g[13], d[9])
    if workers == 1:
        _g_stages(d, db, dstep, g, gstep, head, weight, loss, sync)
    else:
        for _ in prange(workers):
            _g_stages(d, db, dstep, g, gstep, head, weight, loss, sync)
    return loss[0]


@njit(cache=True)
def _g_stages(d, db, dstep, g, gstep, head, weight, loss, sync):
    """One thread's share of the G update: D's layers, the head, D's gradients, G's."""
    s = d[9].shape[0]
    ready = _forward_stages(*d, sync, 0, 0)
    wait(sync, s - 1, ready)
    if claim(sync, s) == 0:
        loss[0] = _loss_head(d[6], head[0], head[1], weight, db[9])
        done(sync, s)
    ready = _backward_stages(*db, dstep, sync, s + 1, 1)
    _backward_stages(*g, gstep, sync, s + 2 + d[9].shape[0], ready)


@njit(cache=True)
def _workers(g_plan, d_plan):
    """Workers of a step: one (no region) when no layer is worth a region."""
    if max(g_plan[:, _PARALLEL].max(), d_plan[:, _PARALLEL].max()) == 0:
        return 1
    return _THREADS


gan_d_step.unchecked = _gan_d_step  # for callers whose arrays fit by construction
gan_g_step.unchecked = _gan_g_step
