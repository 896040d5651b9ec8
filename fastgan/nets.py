"""Multilayer perceptrons whose parameters and gradients each live in one flat buffer.

Each layer's weight and bias are views into the flat buffer, so an optimizer updates a whole
network in one fused kernel call, and a checkpoint is one array per network.
"""
import numpy as np

from .kernels.codes import ACTIVATIONS


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

    def init(self, rng):
        """He-normal weights before relu-family activations, Xavier-normal elsewhere; zero biases."""
        for w, act, b in zip(self.weights, self.acts, self.biases):
            fan_in, fan_out = w.shape
            if act in (ACTIVATIONS["relu"], ACTIVATIONS["leaky_relu"]):
                std = np.sqrt(2.0 / fan_in)
            else:
                std = np.sqrt(2.0 / (fan_in + fan_out))
            w[...] = rng.standard_normal(w.shape) * std
            b[...] = 0


def _views(flat, shapes):
    weights, biases, start = [], [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        view = flat[start:start + size].reshape(shape)
        (weights if len(shape) == 2 else biases).append(view)
        start += size
    return weights, biases
