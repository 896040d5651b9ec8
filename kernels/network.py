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

A conditional GAN's D reads each sample followed by its label's one-hot columns, so G's
output cannot be D's input in place. The forward pass can copy the output layer's blocks
into rows of another array (`copy_to`, from row `copy_at`) as each is finished, and the
backward pass can take the output layer's upstream gradient from rows of another array
(`dout_from`). NumPy's strided copies of these 64 x 784 blocks, between the passes, took
35-55 us of a step in a probe of the default preset's run on a slow machine, where the
blocks' copies inside the passes read them from cache.

The backward pass also takes an optimizer step (kernels.optim's UPDATE), which each block
applies to its rows of a layer's weights and its slice of the biases right after forming
their gradients and the gradient it passes down; and each block finishes that gradient
(the layer below's mask and activation derivative) while it is in cache.
"""
import numba
import numpy as np
from numba import njit, prange

from . import checks
from .codes import ACTIVATIONS
from .dense import (_dz_block, _forward_block, _gradient_block, _span, backward_cut,
                    forward_cut, parallel, unit_columns)
from .optim import ADAM, NONE, SGD
from .sync import claim, counters, done, wait

# workers per pass: Numba freezes it into the compiled passes, and any count is correct
_THREADS = numba.config.NUMBA_NUM_THREADS
# the columns of a plan's row for one layer (Numba freezes them into the compiled passes)
_W, _B, _K, _M, _ACT, _AT, _DROPOUT, _BY_COLUMNS, _STEP, _PARALLEL, _ROWS, _KROWS = range(12)
PARALLEL = _PARALLEL  # a plan's column: whether the layer's product is worth splitting


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


def network_forward(x, params, alpha, outs, masks, hs, last, copy_to, copy_at, plan):
    """Each layer l: out = act(h @ w + b), and h = out * mask when the layer has dropout
    masks (h is x for the first layer); `last` is the output layer's out. A non-empty
    `copy_to` also gets `last` in its rows copy_at: and first columns."""
    x = unit_columns(x)
    _check_pass("network_forward", x, plan, params=params, outs=outs, masks=masks, hs=hs,
                last=last)
    _check_rows_of("network_forward", "copy_to", copy_to, copy_at, last, write=True)
    _network_forward(x, params, alpha, outs, masks, hs, last, copy_to, copy_at, plan)


@njit(cache=True, parallel=True)
def _network_forward(x, params, alpha, outs, masks, hs, last, copy_to, copy_at, plan):
    sync, workers = counters(plan.shape[0]), _workers(plan)
    if workers == 1:
        _forward_stages(x, params, alpha, outs, masks, hs, last, copy_to, copy_at, plan, sync,
                        0, 0)
        return
    for _ in prange(workers):
        _forward_stages(x, params, alpha, outs, masks, hs, last, copy_to, copy_at, plan, sync,
                        0, 0)


@njit(cache=True, error_model="numpy")  # numpy: see kernels.tanh
def _forward_stages(x, params, alpha, outs, masks, hs, last, copy_to, copy_at, plan, sync,
                    base, ready):
    """One thread's share of a forward pass: stage base + l for layer l, whose blocks it
    claims once the stage before is done (kernels.sync; stage base - 1, if any, has `ready`
    blocks). Returns the blocks of the last stage."""
    n, layers = x.shape[0], plan.shape[0]
    h, below = x, ready
    for l in range(layers):
        row = plan[l]
        w, b = _weight(params, row), _bias(params, row)
        top = l == layers - 1
        out = last if top else _rows(outs, row, n)
        mask, hl = outs[:0].reshape((0, 0)), out
        if row[_DROPOUT]:
            mask, hl = _rows(masks, row, n), _rows(hs, row, n)
        by_columns, step, act = row[_BY_COLUMNS] == 1, row[_STEP], row[_ACT]
        size = out.shape[1] if by_columns else n
        blocks = (size + step - 1) // step
        copy = top and copy_to.size > 0
        if base + l > 0:
            wait(sync, base + l - 1, below)
        t = claim(sync, base + l)
        while t < blocks:
            _forward_block(h, w, b, act, alpha, mask, out, hl, by_columns, step, t)
            if copy:
                _copy_block(out, copy_to, copy_at, by_columns, step, t)
            done(sync, base + l)
            t = claim(sync, base + l)
        h, below = hl, blocks
    return below


@njit(cache=True)
def _workers(plan):
    """Workers of a pass of `plan`: one (no region) when no layer is worth a region, else
    one per thread Numba may use. A worker that finds every block claimed only walks the
    stages, so fewer threads (numba.set_num_threads) leave some workers next to nothing."""
    if plan[:, _PARALLEL].max() == 0:
        return 1
    return _THREADS


@njit(cache=True)
def _copy_block(out, copy_to, copy_at, by_columns, step, t):
    """The block t of `out` that _forward_block formed, into copy_to's rows from copy_at."""
    n, m = out.shape
    r0, r1, c0, c1 = 0, n, 0, m
    if by_columns:
        c0, c1 = _span(m, step, t)
    else:
        r0, r1 = _span(n, step, t)
    for i in range(r0, r1):
        source, target = out[i, c0:c1], copy_to[copy_at + i, c0:c1]
        for j in range(source.size):
            target[j] = source[j]


def network_backward(x, params, alpha, outs, masks, hs, last, grads, dparams, dout,
                     dout_from, dout_at, dx0, plan, step):
    """Backpropagate dout (the output layer's) through the layers, last first: each layer's
    dz into dout or its rows of grads (a hidden layer's as the layer above forms its
    gradient), then the previous layer's gradient. A non-empty `dout_from` holds the
    upstream gradient instead, in its rows dout_at: and first columns (dout then only
    receives dz). dparams (laid out as params) gets dW and db when non-empty, dx0 the
    input's gradient when non-empty. The UPDATE `step` (kernels.optim; on params and
    dparams) updates each block of a layer's parameters once its gradients and the
    gradient it passes down are formed."""
    x = unit_columns(x)
    _check_pass("network_backward", x, plan, params=params, outs=outs, masks=masks, hs=hs,
                last=last, grads=grads, dparams=dparams, dout=dout, dx0=dx0)
    _check_rows_of("network_backward", "dout_from", dout_from, dout_at, dout, write=False)
    _check_step(params, dparams, step)
    _network_backward(x, params, alpha, outs, masks, hs, last, grads, dparams, dout,
                      dout_from, dout_at, dx0, plan, step)


@njit(cache=True, parallel=True)
def _network_backward(x, params, alpha, outs, masks, hs, last, grads, dparams, dout,
                      dout_from, dout_at, dx0, plan, step):
    sync, workers = counters(plan.shape[0] + 1), _workers(plan)
    if workers == 1:
        _backward_stages(x, params, alpha, outs, masks, hs, last, grads, dparams, dout,
                         dout_from, dout_at, dx0, plan, step, sync, 0, 0)
        return
    for _ in prange(workers):
        _backward_stages(x, params, alpha, outs, masks, hs, last, grads, dparams, dout,
                         dout_from, dout_at, dx0, plan, step, sync, 0, 0)


@njit(cache=True)
def _backward_stages(x, params, alpha, outs, masks, hs, last, grads, dparams, dout,
                     dout_from, dout_at, dx0, plan, step, sync, base, ready):
    """One thread's share of a backward pass (kernels.sync): stage base forms the output
    layer's dz once stage base - 1 (if any) has its `ready` blocks done, stage base + 1 + i
    the gradient blocks of layer layers - 1 - i, which also form the dz of the layer below.
    Returns the blocks of the last stage."""
    n, layers = x.shape[0], plan.shape[0]
    empty = outs[:0].reshape((0, 0))
    top = plan[layers - 1]
    blocks = (n + top[_ROWS] - 1) // top[_ROWS]
    if base > 0:
        wait(sync, base - 1, ready)
    t = claim(sync, base)
    while t < blocks:
        _fetch_rows(dout_from, dout_at, dout, top[_ROWS], t)
        _dz_block(last, dout, top[_ACT], alpha,
                  _rows(masks, top, n) if top[_DROPOUT] else empty, top[_ROWS], t)
        done(sync, base)
        t = claim(sync, base)
    for i in range(layers):
        l = layers - 1 - i
        row = plan[l]
        inp = x if l == 0 else _input(outs, hs, plan[l - 1], n)
        dz = dout if l == layers - 1 else _rows(grads, row, n)
        dx = dx0 if l == 0 else _rows(grads, plan[l - 1], n)
        dw, db = empty, dparams[:0]
        if dparams.size > 0:
            dw, db = _weight(dparams, row), _bias(dparams, row)
        w, krows = _weight(params, row), row[_KROWS]
        # a hidden layer's dz was formed by the layer above, with the gradient it passed down
        below = (empty, np.int64(0), alpha, empty)
        if l > 0:
            under = plan[l - 1]
            below = (_rows(outs, under, n), under[_ACT], alpha,
                     _rows(masks, under, n) if under[_DROPOUT] else empty)
        wait(sync, base + i, blocks)
        blocks = (inp.shape[1] + krows - 1) // krows
        t = claim(sync, base + i + 1)
        while t < blocks:
            _gradient_block(inp, w, dz, dw, db, dx, krows, t, step, row[_W], row[_B], below)
            done(sync, base + i + 1)
            t = claim(sync, base + i + 1)
    return blocks


@njit(cache=True)
def _fetch_rows(source, source_at, dz, rows, t):
    """dz's rows block t from source's rows source_at: (when source is non-empty)."""
    if source.size == 0:
        return
    lo, hi = _span(dz.shape[0], rows, t)
    for i in range(lo, hi):
        row, target = source[source_at + i, :dz.shape[1]], dz[i]
        for j in range(target.size):
            target[j] = row[j]


@njit(cache=True, inline="always")
def _input(outs, hs, row, n):
    """A hidden layer's output as the next layer sees it: masked when it has dropout."""
    return _rows(hs, row, n) if row[_DROPOUT] else _rows(outs, row, n)


network_forward.unchecked = _network_forward  # for callers whose arrays fit by construction
network_backward.unchecked = _network_backward


def _check_pass(name, x, plan, **arrays):
    """Refuse a pass whose arrays do not fit its plan: every buffer must reach each layer's
    offsets, as `plan` and fastgan.nets.Workspace lay them out."""
    if not (isinstance(plan, np.ndarray) and plan.dtype == np.int64 and plan.ndim == 2
            and plan.shape[0] >= 1 and plan.shape[1] == 12):
        raise checks.KernelArgumentError(f"{name}: plan must be a table made by "
                                         f"kernels.network.plan; got {_describe(plan)}")
    n, k = checks.matrix(name, "x", x)
    chained = plan[0, _K] == k and (plan[1:, _K] == plan[:-1, _M]).all()
    counts = plan[:, [_K, _M, _STEP, _ROWS, _KROWS]]
    if not chained or (plan[:, :_PARALLEL] < 0).any() or (counts < 1).any():
        raise checks.KernelArgumentError(f"{name}: the plan does not fit x of shape {x.shape} "
                                         f"(its first layer takes {plan[0, _K]} columns); make "
                                         f"it with kernels.network.plan for these layers")
    for layer, act in enumerate(plan[:, _ACT]):
        checks.code(name, f"layer {layer}'s activation", int(act), ACTIVATIONS)
    checks.floats(name, x=x, **arrays)
    for label, a in arrays.items():
        if label not in ("last", "dout", "dx0") and a.ndim != 1:
            raise checks.KernelArgumentError(f"{name}: {label} must be a flat buffer; got "
                                             f"shape {a.shape}")
    _check_sizes(name, n, plan, arrays)
    checks.shape(name, "last", arrays["last"], (n, plan[-1, _M]))
    for label in ("last", "dout"):
        if label in arrays:
            checks.writable_rows(name, label, arrays[label])
    if "dout" in arrays:
        checks.shape(name, "dout", arrays["dout"], (n, plan[-1, _M]))
        checks.shape(name, "dx0", arrays["dx0"], (n, k), empty_ok=True)
        checks.writable_rows(name, "dx0", arrays["dx0"])


def _check_rows_of(name, label, a, at, like, write):
    """Refuse a non-empty `a` that does not hold rows at:at+n, as wide as `like` (n, m) or
    wider, of like's dtype, with adjacent columns (and writable when `write`)."""
    if a.size == 0 and a.ndim == 2:
        if a.dtype != like.dtype:
            raise checks.KernelArgumentError(f"{name}: an empty {label} must be {like.dtype}")
        return
    n, m = like.shape
    if not (isinstance(at, (int, np.integer)) and at >= 0 and a.ndim == 2
            and a.shape[0] >= at + n and a.shape[1] >= m and a.dtype == like.dtype):
        raise checks.KernelArgumentError(
            f"{name}: {label} must hold rows {at}..{at + n - 1} and {m} columns of "
            f"{like.dtype}; got {_describe(a)}")
    if write:
        checks.writable_rows(name, label, a)
    elif a.strides[1] != a.itemsize:
        raise checks.KernelArgumentError(f"{name}: {label} must have adjacent columns; got "
                                         f"strides {a.strides}")


def _check_sizes(name, n, plan, arrays):
    """Each buffer holds what the plan reaches into: parameters (and their gradients, when
    wanted) to the last bias, hidden layers' rows to the last one's end."""
    hidden = plan[:-1]
    rows_end = int((hidden[:, _AT] + n * hidden[:, _M]).max(initial=0))
    dropped = hidden[hidden[:, _DROPOUT] == 1]
    masked_end = int((dropped[:, _AT] + n * dropped[:, _M]).max(initial=0))
    need = {"params": int(plan[-1, _B] + plan[-1, _M]), "outs": rows_end, "grads": rows_end,
            "masks": masked_end, "hs": masked_end}
    if arrays.get("dparams", np.zeros(1)).size:
        need["dparams"] = need["params"]
    for label, size in need.items():
        a = arrays.get(label)
        if a is not None and a.size < size:
            raise checks.KernelArgumentError(f"{name}: {label} holds {a.size} values; the plan "
                                             f"reaches {size}")
        if a is not None and label != "params" and size and not a.flags.writeable:
            raise checks.KernelArgumentError(f"{name}: {label} must be writable")


def _check_step(params, dparams, step):
    """Refuse an UPDATE (kernels.optim.update) that is malformed or not over these
    parameters and their gradients."""
    name = "network_backward"
    if not (isinstance(step, tuple) and len(step) == 13
            and isinstance(step[0], int) and step[0] in (NONE, SGD, ADAM)):
        raise checks.KernelArgumentError(f"{name}: step must be an UPDATE made by "
                                         f"kernels.optim.update; got {_describe(step)}")
    if step[0] == NONE:
        return
    p, g, m, v, average = step[8:]
    if p is not params or g is not dparams:
        raise checks.KernelArgumentError(f"{name}: an update's params and grads must be the "
                                         f"pass's params and dparams")
    for label, a in (("params", p), ("m", m), ("v", v), ("average", average)):
        wanted = label != "average" and (step[0] == ADAM or label == "params")
        if (a.size or wanted) and (a.shape != params.shape or a.dtype != params.dtype
                                   or not a.flags.writeable):
            raise checks.KernelArgumentError(f"{name}: the update's {label} must be writable "
                                             f"and shaped as params {params.shape} "
                                             f"{params.dtype}; got {a.shape} {a.dtype}")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
