"""A whole network's forward or backward pass in one compiled call.

The layer loop runs inside Numba over flat buffers: the network's parameters (or their
gradients) in one array, and each kind of per-layer array of the hidden layers (outputs,
dropout masks, masked outputs, gradients) in one array each, layer after layer. A plan
table, one row per layer, gives each layer's offsets into them, its activation and its cut
into blocks (the cut of `dense.forward_cut`, `dense.backward_cut` and `dense.parallel`, with
the same blocks and gemm calls, so results are bit-identical to the per-layer kernels).
The output layer's array is passed on its own, so a caller may place it (the GAN engine has
G write into D's input). A pass's signature does not depend on the depth: one compiled
copy serves every network of a dtype. One call per network saves the Python and the
dispatch of a call per layer (about 6 us each; a GAN S step has twelve layer calls).

The backward pass also takes an optimizer step (kernels.optim's UPDATE), which each block
applies to its rows of a layer's weights and its slice of the biases right after forming
their gradients and the gradient it passes down; and each block finishes that gradient
(the layer below's mask and activation derivative) while it is in cache.
"""
import numpy as np
from numba import njit, prange

from .dense import _dz_block, _forward_block, _gradient_block, backward_cut, forward_cut, parallel

# the columns of a plan's row for one layer (Numba freezes them into the compiled passes)
_W, _B, _K, _M, _ACT, _AT, _DROPOUT, _BY_COLUMNS, _STEP, _PARALLEL, _ROWS, _KROWS = range(12)


def plan(sizes, acts, height, r0, r1, dropout):
    """The plan of a pass over rows r0:r1 of workspace buffers `height` rows tall, for a
    network of layer widths `sizes` and activation codes `acts`; `dropout`: whether its
    hidden layers have masks. _AT is a hidden layer's offset into the workspace buffers."""
    n, layers = r1 - r0, len(sizes) - 1
    table = np.zeros((layers, 12), np.int64)
    param = at = 0
    for l, (k, m) in enumerate(zip(sizes, sizes[1:])):
        table[l] = (param, param + k * m, k, m, acts[l], at + r0 * m,
                    dropout and l < layers - 1, *forward_cut(n, k, m), parallel(n, k, m),
                    *backward_cut(n, k))
        param += k * m + m
        at += height * m
    return table


@njit(cache=True, inline="always")
def _weight(flat, row):
    return flat[row[_W]:row[_W] + row[_K] * row[_M]].reshape((row[_K], row[_M]))


@njit(cache=True, inline="always")
def _bias(flat, row):
    return flat[row[_B]:row[_B] + row[_M]]


@njit(cache=True, inline="always")
def _rows(flat, row, n):
    """A hidden layer's (n, m) rows of a workspace buffer."""
    return flat[row[_AT]:row[_AT] + n * row[_M]].reshape((n, row[_M]))


@njit(cache=True, parallel=True, error_model="numpy")  # numpy: see kernels.tanh
def network_forward(x, params, alpha, outs, masks, hs, last, plan):
    """Each layer l: out = act(h @ w + b), and h = out * mask when the layer has dropout
    masks (h is x for the first layer); `last` is the output layer's out."""
    n, layers = x.shape[0], plan.shape[0]
    h = x
    for l in range(layers):
        row = plan[l]
        w, b = _weight(params, row), _bias(params, row)
        out = last if l == layers - 1 else _rows(outs, row, n)
        mask, hl = outs[:0].reshape((0, 0)), out
        if row[_DROPOUT]:
            mask, hl = _rows(masks, row, n), _rows(hs, row, n)
        by_columns, step, act = row[_BY_COLUMNS] == 1, row[_STEP], row[_ACT]
        size = out.shape[1] if by_columns else n
        blocks = (size + step - 1) // step
        if row[_PARALLEL]:  # prange's index is unsigned: int64 keeps one compiled block
            for t in prange(blocks):
                _forward_block(h, w, b, act, alpha, mask, out, hl, by_columns, step,
                               np.int64(t))
        else:  # too small for a parallel region
            for t in range(blocks):
                _forward_block(h, w, b, act, alpha, mask, out, hl, by_columns, step, t)
        h = hl


@njit(cache=True, parallel=True)
def network_backward(x, params, alpha, outs, masks, hs, last, grads, dparams, dout, dx0,
                     plan, step):
    """Backpropagate dout (the output layer's) through the layers, last first: each layer's
    dz into dout or its rows of grads (a hidden layer's as the layer above forms its
    gradient), then the previous layer's gradient. dparams (laid out as params) gets dW and
    db when non-empty, dx0 the input's gradient when non-empty. The UPDATE `step`
    (kernels.optim; on params and dparams) updates each block of a layer's parameters once
    its gradients and the gradient it passes down are formed."""
    n, layers = x.shape[0], plan.shape[0]
    empty = outs[:0].reshape((0, 0))
    for i in range(layers):
        l = layers - 1 - i
        row = plan[l]
        inp = x if l == 0 else _input(outs, hs, plan[l - 1], n)
        out = last if l == layers - 1 else _rows(outs, row, n)
        dz = dout if l == layers - 1 else _rows(grads, row, n)
        dx = dx0 if l == 0 else _rows(grads, plan[l - 1], n)
        mask = _rows(masks, row, n) if row[_DROPOUT] else empty
        dw, db = empty, dparams[:0]
        if dparams.size > 0:
            dw, db = _weight(dparams, row), _bias(dparams, row)
        w, act, rows, krows = _weight(params, row), row[_ACT], row[_ROWS], row[_KROWS]
        k = inp.shape[1]
        # a hidden layer's dz was formed by the layer above, with the gradient it passed down
        below = (empty, np.int64(0), alpha, empty)
        if l > 0:
            under = plan[l - 1]
            below = (_rows(outs, under, n), under[_ACT], alpha,
                     _rows(masks, under, n) if under[_DROPOUT] else empty)
        top = l == layers - 1
        if row[_PARALLEL]:
            if top:
                for t in prange((n + rows - 1) // rows):
                    _dz_block(out, dz, act, alpha, mask, rows, np.int64(t))
            for t in prange((k + krows - 1) // krows):
                _gradient_block(inp, w, dz, dw, db, dx, krows, np.int64(t), step, row[_W],
                                row[_B], below)
        else:
            if top:
                for t in range((n + rows - 1) // rows):
                    _dz_block(out, dz, act, alpha, mask, rows, t)
            for t in range((k + krows - 1) // krows):
                _gradient_block(inp, w, dz, dw, db, dx, krows, t, step, row[_W], row[_B],
                                below)


@njit(cache=True, inline="always")
def _input(outs, hs, row, n):
    """A hidden layer's output as the next layer sees it: masked when it has dropout."""
    return _rows(hs, row, n) if row[_DROPOUT] else _rows(outs, row, n)
