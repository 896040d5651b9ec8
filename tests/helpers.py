"""Shared test helpers: random dense-layer problems, the kernels' tolerances, tiny GANs."""
import numpy as np

from fastgan import GAN
from fastgan.kernels import reference as ref
from fastgan.kernels.codes import ACTIVATIONS

DTYPES = [np.float64, np.float32]
ALPHA = 0.2  # leaky_relu slope: large enough that a wrong slope shows
DROPOUT = 0.3

# Kernel vs twin. They agree up to the rounding of the reductions: the kernel runs BLAS on
# blocks of rows, the twin one matmul over the whole batch, so a sum of k terms is taken in a
# different order. With O(1) inputs and weights scaled by 1/sqrt(k), each result is O(1):
# float64 (eps 1.1e-16) differs by about sqrt(k) eps ~ 1e-15, far inside 1e-12;
# float32 (eps 6e-8) by sqrt(k) eps ~ 2e-6 for k ~ 1k, and at worst k eps ~ 6e-5 relative;
# rtol 1e-4 covers that, atol 1e-5 covers results that cancel to near zero.
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12),
       np.float32: dict(rtol=1e-4, atol=1e-5)}


def empty(dtype, ndim=2):
    """The size-0 array a caller passes for an output it does not want (or no mask)."""
    return np.zeros((0,) * ndim, dtype)


def dense_problem(rng, n, k, m, act, dtype, dropout):
    """Inputs of one dense layer: x (n, k), w (k, m), b (m,), mask (n, m) or empty.

    Weights are scaled by 1/sqrt(k) so that pre-activations are O(1) whatever k is.
    """
    x = rng.standard_normal((n, k)).astype(dtype)
    w = (rng.standard_normal((k, m)) / np.sqrt(k)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    mask = dropout_mask(rng, n, m, dtype) if dropout else empty(dtype)
    return x, w, b, ACTIVATIONS[act], mask


def dropout_mask(rng, n, m, dtype, p=DROPOUT):
    """Inverted-dropout mask as the engine draws it: 0 or 1 / (1 - p)."""
    return ((rng.random((n, m)) >= p) / (1 - p)).astype(dtype)


def forward_outputs(x, w, b, act, mask):
    """out, h of the twin's forward pass (h is empty without a mask)."""
    n, m = x.shape[0], w.shape[1]
    out = np.zeros((n, m), x.dtype)
    h = np.zeros_like(out) if mask.size else empty(x.dtype)
    ref.dense_forward(x, w, b, act, ALPHA, mask, out, h)
    return out, h


# A GAN of tiny nets on the NumPy backend, and data for it: a step takes microseconds.
FEATURES = 16
SMALL_GAN = dict(g_layers=[4, 8, FEATURES], d_layers=[FEATURES, 8, 1], batch_size=64, epochs=1,
                 backend="numpy", verbose=False)


def small_gan(**changes):
    """GAN(**SMALL_GAN) with `changes` applied."""
    return GAN(**{**SMALL_GAN, **changes})


def uniform_data(n=200, seed=0):
    """n samples of FEATURES values in [-1, 1]; 200 make 3 steps of 64 per epoch."""
    return np.random.default_rng(seed).uniform(-1, 1, (n, FEATURES))
