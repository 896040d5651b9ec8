"""Multilayer perceptrons whose parameters and gradients each live in one flat buffer, and
the passes over them.

Each layer's weight and bias are views into the flat buffer, so an optimizer step works on
a whole network through offsets into one buffer, and a checkpoint is one array per network.
`forward` and `backward` run a network through a backend's kernels on a preallocated
`Workspace`, and `backward` can apply an optimizer step (`adam`, `sgd`) as it goes; the GAN
engine and the evaluation classifier both train with them. With the Numba backend a pass
is one compiled call over all layers (kernels/network.py); its twin is the loop over the
layers here, which the NumPy backend runs.
"""
import numpy as np

from .kernels import network
from .kernels.codes import ACTIVATIONS
from .kernels.dense import unit_columns
from .kernels.optim import ADAM, SGD, no_update, update


class MLP:
    """Dense layers sizes[0] -> ... -> sizes[-1].

    Parameters
    ----------
    sizes : list of int
        Layer widths, input first.
    hidden, output : str
        Activation of the hidden layers and of the output layer (a key of ACTIVATIONS).
    alpha : float
        Negative slope of leaky_relu.
    dtype : numpy dtype
        float32 or float64.
    """

    def __init__(self, sizes, hidden, output, alpha, dtype):
        self.sizes = [int(s) for s in sizes]
        self.acts = [ACTIVATIONS[hidden]] * (len(sizes) - 2) + [ACTIVATIONS[output]]
        self.alpha = float(alpha)
        self.dtype = np.dtype(dtype)
        shapes = [s for k, m in zip(sizes[:-1], sizes[1:]) for s in ((k, m), (m,))]
        self.params = np.zeros(sum(int(np.prod(s)) for s in shapes), self.dtype)
        self.grads = np.zeros_like(self.params)
        self.weights, self.biases = _views(self.params, shapes)
        self.dweights, self.dbiases = _views(self.grads, shapes)

    @property
    def n_layers(self):
        return len(self.sizes) - 1

    def init(self, rng, scheme="auto"):
        """Zero biases and normal weights: "auto" He before relu-family activations and Xavier
        elsewhere, "he" He everywhere (the NumPy tutorial's)."""
        for w, act, b in zip(self.weights, self.acts, self.biases):
            fan_in, fan_out = w.shape
            if scheme == "he" or act in (ACTIVATIONS["relu"], ACTIVATIONS["leaky_relu"]):
                std = np.sqrt(2.0 / fan_in)
            else:
                std = np.sqrt(2.0 / (fan_in + fan_out))
            w[...] = rng.standard_normal(w.shape) * std
            b[...] = 0


class Workspace:
    """Buffers for one network at a fixed row count: outputs, dropout masks and, unless
    `grads` is False (sampling only), gradients.

    The hidden layers' arrays of each kind live in one flat buffer (hidden_outs, ...), as
    the compiled passes take them; outs, masks, hs and grads are per-layer views of them.
    The output layer's out and grad are arrays of their own, which a caller may replace
    before the first pass (the GAN engine points G's out at D's input)."""

    def __init__(self, net, rows, dropout=0.0, first_input_grad=False, grads=True):
        dt = net.dtype
        hidden, last = net.sizes[1:-1], net.sizes[-1]
        self.height, self.dropout = rows, bool(dropout and hidden)
        self.empty, self.empty1 = np.zeros((0, 0), dt), np.zeros(0, dt)
        size = rows * sum(hidden)
        self.hidden_outs = np.zeros(size, dt)
        self.hidden_masks = np.zeros(size if self.dropout else 0, dt)
        self.hidden_hs = np.zeros(size if self.dropout else 0, dt)  # outputs times masks
        self.outs = _layer_views(self.hidden_outs, rows, hidden) + [np.zeros((rows, last), dt)]
        if self.dropout:
            self.masks = _layer_views(self.hidden_masks, rows, hidden) + [self.empty]
            self.hs = _layer_views(self.hidden_hs, rows, hidden) + [self.outs[-1]]
        else:
            self.masks, self.hs = [self.empty] * len(self.outs), list(self.outs)
        if grads:
            self.hidden_grads = np.zeros(size, dt)
            self.grads = (_layer_views(self.hidden_grads, rows, hidden)
                          + [np.zeros((rows, last), dt)])
            self.dx0 = np.zeros((rows, net.sizes[0]), dt) if first_input_grad else self.empty
        self._plans = {}

    def plan(self, net, rows):
        """The compiled passes' plan over `rows` (a slice), formed once per row range."""
        key = (rows.start, rows.stop)
        if key not in self._plans:
            r0, r1, _ = rows.indices(self.height)
            self._plans[key] = network.plan(net.sizes, net.acts, self.height, r0, r1,
                                            self.dropout)
        return self._plans[key]

    def formed_plans(self):
        """The plans formed so far, one per row range a pass has run on."""
        return list(self._plans.values())


def mask_spans(ws, rows):
    """(start, size) in ws.hidden_masks of each hidden layer's dropout masks on `rows` (a
    slice), layer after layer: what kernels.masks.stream_masks fills for a pass on those
    rows; no rows without dropout."""
    r0, r1, _ = rows.indices(ws.height)
    spans, at = [], 0
    for mask in ws.masks[:-1] if ws.dropout else []:
        m = mask.shape[1]
        spans.append((at + r0 * m, (r1 - r0) * m))
        at += ws.height * m
    return np.array(spans, np.int64).reshape(-1, 2)


def _layer_views(flat, rows, widths):
    """(rows, m) views of `flat` for each width m, one after another."""
    views, start = [], 0
    for m in widths:
        views.append(flat[start:start + rows * m].reshape(rows, m))
        start += rows * m
    return views


def forward(be, net, ws, x, rows=slice(None), copy_to=None, copy_at=0):
    """Run x (r, sizes[0]) through `net` into rows `rows` of `ws` (dropout masks as drawn
    there); return the output (r, sizes[-1]), a view into ws. `copy_to` (2-D, C-contiguous)
    also gets the output, in its rows copy_at: and first sizes[-1] columns."""
    if hasattr(be, "network_forward"):
        args = forward_args(net, ws, x, rows, copy_to, copy_at)
        be.network_forward(*args)
        return args[6]
    h = x
    for l in range(net.n_layers):
        mask = ws.masks[l][rows] if ws.masks[l].size else ws.empty
        out = ws.outs[l][rows]
        hl = ws.hs[l][rows] if mask.size else ws.empty
        be.dense_forward(h, net.weights[l], net.biases[l], net.acts[l], net.alpha, mask, out, hl)
        h = hl if mask.size else out
    if copy_to is not None:
        copy_to[copy_at:copy_at + len(h), :h.shape[1]] = h
    return h


def backward(be, net, ws, x, dout, rows=slice(None), want_dw=False, want_dx=False,
             dout_from=None, dout_at=0, step=None):
    """Backpropagate dout (r, sizes[-1]) through the last `forward` of x on rows `rows`.

    With `dout_from` (2-D, C-contiguous), the upstream gradient is its rows dout_at: and
    first sizes[-1] columns instead, and dout only receives dz.
    Fills net.dweights/dbiases when `want_dw`, and ws.dx0[rows] (the input's gradient)
    when `want_dx`; dout and the hidden gradients are overwritten. `step`, an UPDATE of
    net.params from net.grads (`adam`, `sgd`; needs want_dw), is applied as the gradients
    are formed in the compiled pass, to each block of a layer's parameters while it is in
    cache, or after the pass otherwise.
    """
    if step is not None and not want_dw:
        raise ValueError("an update needs the gradients: pass want_dw=True")
    if hasattr(be, "network_backward"):
        be.network_backward(*backward_args(net, ws, x, dout, rows, want_dw, want_dx, dout_from,
                                           dout_at),
                            no_update(net.dtype) if step is None else step)
        return
    if dout_from is not None:
        dout[...] = dout_from[dout_at:dout_at + len(dout), :dout.shape[1]]
    for l in reversed(range(net.n_layers)):
        inp = x if l == 0 else ws.hs[l - 1][rows]
        mask = ws.masks[l][rows] if ws.masks[l].size else ws.empty
        dw = net.dweights[l] if want_dw else ws.empty
        db = net.dbiases[l] if want_dw else ws.empty1
        if l > 0:
            dx = ws.grads[l - 1][rows]
        else:
            dx = ws.dx0[rows] if want_dx else ws.empty
        be.dense_backward(inp, net.weights[l], ws.outs[l][rows], dout, net.acts[l], net.alpha,
                          mask, dw, db, dx)
        dout = dx
    if step is not None:
        apply_update(be, step)


def forward_args(net, ws, x, rows=slice(None), copy_to=None, copy_at=0):
    """The arguments of kernels.network's forward pass that `forward` makes."""
    return (unit_columns(x), net.params, net.alpha, ws.hidden_outs, ws.hidden_masks,
            ws.hidden_hs, ws.outs[-1][rows], ws.empty if copy_to is None else copy_to, copy_at,
            ws.plan(net, rows))


def backward_args(net, ws, x, dout, rows=slice(None), want_dw=False, want_dx=False,
                  dout_from=None, dout_at=0):
    """The arguments of kernels.network's backward pass that `backward` makes, but its step."""
    return (unit_columns(x), net.params, net.alpha, ws.hidden_outs, ws.hidden_masks,
            ws.hidden_hs, ws.outs[-1][rows], ws.hidden_grads,
            net.grads if want_dw else ws.empty1, dout,
            ws.empty if dout_from is None else dout_from, dout_at,
            ws.dx0[rows] if want_dx else ws.empty, ws.plan(net, rows))


def apply_update(be, step):
    """The UPDATE `step` (kernels.optim.update) through a backend's separate update kernels:
    the twin of what the compiled backward pass does block by block."""
    kind, rate, beta1, beta2, eps, c2, clip, decay, params, grads, m, v, average = step
    if kind == SGD:
        be.sgd_update(params, grads, rate)
    elif kind == ADAM:
        be.adam_update(params, grads, m, v, rate, beta1, beta2, eps, c2)
    if clip > 0:
        be.clip_update(params, clip)
    if average.size:
        be.ema_update(average, params, decay)


def adam(net, m, v, t, learning_rate, beta1, beta2, eps, **more):
    """The UPDATE of Adam's t-th step (t from 1) of net.params with moments m, v; `more`
    (clip, decay, average) as kernels.optim.update takes them."""
    return update(ADAM, net.params, net.grads, learning_rate / (1 - beta1 ** t), beta1, beta2,
                  eps, 1 / (1 - beta2 ** t), m, v, **more)


def sgd(net, learning_rate, **more):
    """The UPDATE of an SGD step of net.params; `more` as in `adam`."""
    return update(SGD, net.params, net.grads, learning_rate, **more)


def _views(flat, shapes):
    """(weights, biases): tuples of views into `flat`, layer after layer."""
    weights, biases, start = [], [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        view = flat[start:start + size].reshape(shape)
        (weights if len(shape) == 2 else biases).append(view)
        start += size
    return tuple(weights), tuple(biases)
