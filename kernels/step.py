"""A GAN's D update and G update as stages of blocks that threads share (kernels.sync).

Each is what fastgan.engine's step otherwise calls one by one: D's dropout masks
(kernels.masks, in pieces), the networks' passes (kernels.network's stages, with the
optimizer step inside the backward passes), the instance noise on D's input and the loss
heads. The blocks are the passes' own, so results
are bit-identical to the step of calls. kernels.crew runs them, on the training thread and
its helpers. The caller draws the step's random numbers before, in the order the step of
calls draws them.

A pass arrives as the tuple of its arguments (fastgan.nets.forward_args and
backward_args), an UPDATE (kernels.optim.update) apart.
"""
from numba import njit

from .inputs import input_block, input_blocks
from .losses import _loss_head
from .masks import fill_piece, pieces
from .network import _backward_stages, _forward_stages
from .sync import claim, done, wait


@njit(cache=True)
def d_stages(g, d, db, step, heads, weight, noisy, masking, inputs, loss, sync):
    """One thread's share of the D update: D's dropout masks (`masking`, as _first takes
    it) and the batch's `inputs` (kernels.inputs.batch_parts), G's forward pass g, then
    `noisy` = (x, noise), instance noise on D's input rows x (n real rows, then n fake
    ones, G's output copied in first) when noise (2n, f) is non-empty, then D's forward
    pass d, the loss heads on the real and fake halves of D's logits (heads = (real head,
    real target, fake head, fake target), each weighted by `weight`, their sum into
    loss[0]), and D's backward pass db with its UPDATE `step`."""
    ready = _first(d[4], masking, inputs, True, sync, 0)
    s = 1 + g[9].shape[0]
    ready = _forward_stages(*g, sync, 1, ready)
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


@njit(cache=True)
def _first(flat, masking, inputs, with_inputs, sync, stage):
    """Stage `stage`: the dropout masks of a D pass in its masks buffer `flat`, masking =
    (seed, rate, spans) as kernels.masks.stream_masks takes them, a piece a block, then
    when `with_inputs` the blocks of a batch's `inputs` (kernels.inputs.batch_parts; none
    for an empty batch). Returns the stage's blocks."""
    key, rate, spans = masking
    masks = pieces(spans)
    blocks = masks + (input_blocks(inputs) if with_inputs else 0)
    t = claim(sync, stage)
    while t < blocks:
        if t < masks:
            fill_piece(key, rate, flat, spans, t)
        else:
            input_block(inputs, t - masks)
        done(sync, stage)
        t = claim(sync, stage)
    return blocks


@njit(cache=True)
def g_stages(d, db, dstep, g, gstep, head, weight, masking, inputs, loss, sync):
    """One thread's share of the G update through D: D's dropout masks (`masking`, as
    _first takes it; `inputs` unused), D's forward pass d, the loss head =
    (head, target) on its logits (into loss[0]), D's backward pass db (its UPDATE dstep:
    none, as a rule) and G's backward pass g, whose upstream gradient D's pass formed, with
    its UPDATE gstep."""
    ready = _first(d[4], masking, inputs, False, sync, 0)
    s = 1 + d[9].shape[0]
    ready = _forward_stages(*d, sync, 1, ready)
    wait(sync, s - 1, ready)
    if claim(sync, s) == 0:
        loss[0] = _loss_head(d[6], head[0], head[1], weight, db[9])
        done(sync, s)
    ready = _backward_stages(*db, dstep, sync, s + 1, 1)
    _backward_stages(*g, gstep, sync, s + 2 + d[9].shape[0], ready)
