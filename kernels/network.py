"""A whole network's forward or backward pass in one compiled call.

The layer loop runs inside Numba over tuples of the layers' arrays, each layer cut into the
same blocks as `dense_forward` / `dense_backward` (the plan, from `dense.forward_cut`,
`dense.backward_cut` and `dense.parallel`) and calling the same gemm (kernels.blas), so
results are bit-identical to the per-layer kernels. One call per network saves the Python
and the dispatch of a call per layer (about 6 us each; a GAN S step has twelve layer
calls). tanh and sigmoid stay NumPy's (see `dense.dense_forward`): an output layer with one
is left linear here and finished by `dense.finish_output`; a network with one on a hidden
layer takes the per-layer kernels.
"""
import numpy as np
from numba import njit, prange

from .dense import (_TANH, _SIGMOID, _dz_block, _forward_block, _gradient_block,
                    backward_cut, forward_cut, parallel)


def forward_plan(rows, sizes):
    """Per layer of a network of `sizes` on `rows` rows: (by_columns, block, parallel)."""
    plan = np.zeros((len(sizes) - 1, 3), np.int64)
    for l, (k, m) in enumerate(zip(sizes, sizes[1:])):
        by_columns, step = forward_cut(rows, k, m)
        plan[l] = by_columns, step, parallel(rows, k, m)
    return plan


def backward_plan(rows, sizes):
    """Per layer: (rows per dz block, w's rows per gradient block, parallel)."""
    plan = np.zeros((len(sizes) - 1, 3), np.int64)
    for l, (k, m) in enumerate(zip(sizes, sizes[1:])):
        plan[l] = *backward_cut(rows, k), parallel(rows, k, m)
    return plan


def compiled_activations(acts):
    """acts as an int64 array for the compiled passes, or None when a hidden layer has tanh
    or sigmoid. The forward pass leaves an output tanh or sigmoid linear (`_activate` is the
    identity for them) for `dense.finish_output`; the backward pass applies their derivatives."""
    if any(a in (_TANH, _SIGMOID) for a in acts[:-1]):
        return None
    return np.array(acts, np.int64)


@njit(cache=True, parallel=True)
def network_forward(x, weights, biases, acts, alpha, masks, outs, hs, plan):
    """Each layer l: outs[l] = act(h @ weights[l] + biases[l]), hs[l] = outs[l] * masks[l]
    when the mask is non-empty; h is x, then the previous layer's hs or outs."""
    h = x
    for l in range(len(weights)):
        w, b, mask, out, hl = weights[l], biases[l], masks[l], outs[l], hs[l]
        by_columns, step = plan[l, 0] == 1, plan[l, 1]
        size = out.shape[1] if by_columns else out.shape[0]
        blocks = (size + step - 1) // step
        if plan[l, 2]:
            for t in prange(blocks):
                _forward_block(h, w, b, acts[l], alpha, mask, out, hl, by_columns, step, t)
        else:  # too small for a parallel region
            for t in range(blocks):
                _forward_block(h, w, b, acts[l], alpha, mask, out, hl, by_columns, step, t)
        h = hl if mask.size > 0 else out


@njit(cache=True, parallel=True)
def network_backward(x, weights, outs, hs, masks, acts, alpha, dweights, dbiases, grads,
                     dout, dx0, plan):
    """Backpropagate dout through the layers, last first: dz into dout, then grads[l - 1];
    dweights/dbiases when non-empty, dx0 (the input's gradient) when non-empty."""
    last = len(weights) - 1
    for i in range(last + 1):
        l = last - i
        inp = x if l == 0 else hs[l - 1]
        dz = dout if l == last else grads[l]
        dx = dx0 if l == 0 else grads[l - 1]
        out, mask, w, dw, db = outs[l], masks[l], weights[l], dweights[l], dbiases[l]
        rows, krows = plan[l, 0], plan[l, 1]
        n, k = out.shape[0], inp.shape[1]
        if plan[l, 2]:
            for t in prange((n + rows - 1) // rows):
                _dz_block(out, dz, acts[l], alpha, mask, rows, t)
            for t in prange((k + krows - 1) // krows):
                _gradient_block(inp, w, dz, dw, db, dx, krows, t)
        else:
            for t in range((n + rows - 1) // rows):
                _dz_block(out, dz, acts[l], alpha, mask, rows, t)
            for t in range((k + krows - 1) // krows):
                _gradient_block(inp, w, dz, dw, db, dx, krows, t)
