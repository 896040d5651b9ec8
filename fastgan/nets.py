"""Multilayer perceptrons whose parameters and gradients each live in one flat buffer, and
the passes over them.

Each layer's weight and bias are views into the flat buffer, so an optimizer updates a whole
network in one fused kernel call, and a checkpoint is one array per network. `forward`,
`backward` and `adam_step` run a network through a backend's kernels on a preallocated
`Workspace`; the GAN engine and the evaluation classifier both train with them. With the
Numba backend a pass is one compiled call over all layers (kernels/network.py); its twin
is the loop over the layers here, which the NumPy backend runs.
"""
from types import SimpleNamespace

import numpy as np

from .kernels.codes import ACTIVATIONS
from .kernels.dense import finish_output, unit_columns
from .kernels.network import backward_plan, compiled_activations, forward_plan


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
        self.compiled_acts = compiled_activations(self.acts)  # None: per-layer passes only

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
    `grads` is False (sampling only), gradients."""

    def __init__(self, net, rows, dropout=0.0, first_input_grad=False, grads=True):
        dt = net.dtype
        widths = net.sizes[1:]
        self.empty, self.empty1 = np.zeros((0, 0), dt), np.zeros(0, dt)
        self.outs = [np.zeros((rows, m), dt) for m in widths]
        hidden = range(len(widths) - 1)
        self.masks = [np.zeros((rows, widths[l]), dt) if dropout and l in hidden
                      else self.empty for l in range(len(widths))]
        self.hs = [np.zeros_like(mk) if mk.size else out for mk, out in zip(self.masks, self.outs)]
        if grads:
            self.grads = [np.zeros((rows, m), dt) for m in widths]
            self.dx0 = np.zeros((rows, net.sizes[0]), dt) if first_input_grad else self.empty
        self._layers = {}

    def layers(self, net, rows):
        """The tuples of per-layer arrays (and plans) a compiled pass over `rows` takes,
        formed once per row range: the buffers never move."""
        key = (rows.start, rows.stop)
        if key not in self._layers:
            n = len(self.outs[0][rows])
            grads = getattr(self, "grads", self.outs)
            self._layers[key] = SimpleNamespace(
                outs=tuple(a[rows] for a in self.outs),
                hs=tuple(a[rows] if a.size else a for a in self.hs),
                masks=tuple(a[rows] if a.size else a for a in self.masks),
                grads=tuple(a[rows] for a in grads),
                no_dw=(self.empty,) * net.n_layers, no_db=(self.empty1,) * net.n_layers,
                forward_plan=forward_plan(n, net.sizes),
                backward_plan=backward_plan(n, net.sizes))
        return self._layers[key]


def forward(be, net, ws, x, rows=slice(None)):
    """Run x (r, sizes[0]) through `net` into rows `rows` of `ws` (dropout masks as drawn
    there); return the output (r, sizes[-1]), a view into ws."""
    if net.compiled_acts is not None and hasattr(be, "network_forward"):
        lay = ws.layers(net, rows)
        be.network_forward(unit_columns(x), net.weights, net.biases, net.compiled_acts,
                           net.alpha, lay.masks, lay.outs, lay.hs, lay.forward_plan)
        finish_output(net.acts[-1], lay.outs[-1])
        return lay.outs[-1]
    h = x
    for l in range(net.n_layers):
        mask = ws.masks[l][rows] if ws.masks[l].size else ws.empty
        out = ws.outs[l][rows]
        hl = ws.hs[l][rows] if mask.size else ws.empty
        be.dense_forward(h, net.weights[l], net.biases[l], net.acts[l], net.alpha, mask, out, hl)
        h = hl if mask.size else out
    return h


def backward(be, net, ws, x, dout, rows=slice(None), want_dw=False, want_dx=False):
    """Backpropagate dout (r, sizes[-1]) through the last `forward` of x on rows `rows`.

    Fills net.dweights/dbiases when `want_dw`, and ws.dx0[rows] (the input's gradient)
    when `want_dx`; dout and the hidden gradients are overwritten.
    """
    if net.compiled_acts is not None and hasattr(be, "network_backward"):
        lay = ws.layers(net, rows)
        dx0 = ws.dx0[rows] if want_dx else ws.empty
        be.network_backward(unit_columns(x), net.weights, lay.outs, lay.hs, lay.masks,
                            net.compiled_acts, net.alpha,
                            net.dweights if want_dw else lay.no_dw,
                            net.dbiases if want_dw else lay.no_db, lay.grads, dout, dx0,
                            lay.backward_plan)
        return
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


def adam_step(be, net, m, v, t, learning_rate, beta1, beta2, eps):
    """Adam's t-th update (t from 1) of net.params from net.grads and the moments m, v."""
    be.adam_update(net.params, net.grads, m, v, learning_rate / (1 - beta1 ** t), beta1, beta2,
                   eps, 1 / (1 - beta2 ** t))


def _views(flat, shapes):
    """(weights, biases): tuples of views into `flat`, as the compiled passes take them."""
    weights, biases, start = [], [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        view = flat[start:start + size].reshape(shape)
        (weights if len(shape) == 2 else biases).append(view)
        start += size
    return tuple(weights), tuple(biases)
