"""The kernels' tanh (kernels/tanh.py) against the correctly rounded tanh, in ulps."""
import numpy as np
import pytest
from numba import njit

from fastgan.kernels.tanh import sigmoid, tanh

MAX_ULPS = 3


@njit(error_model="numpy")
def tanh_all(x, out):
    for i in range(x.size):
        out[i] = tanh(x[i])


def exact(x):
    """tanh of x's values, correctly rounded to x's dtype (within NumPy's float64 error, far
    below a float32 ulp; for float64, long double where it has more precision)."""
    if x.dtype == np.float32:
        return np.tanh(x.astype(np.float64)).astype(np.float32)
    return np.tanh(x.astype(np.longdouble)).astype(np.float64)


def inputs(dtype):
    rng = np.random.default_rng(0)
    grid = [np.linspace(-25, 25, 200_001), np.linspace(-1e-3, 1e-3, 2001),
            rng.standard_normal(100_000) * 4, np.logspace(-30, 1.5, 5000),
            -np.logspace(-30, 1.5, 5000)]
    return np.concatenate(grid).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_within_a_few_ulps(dtype):
    x = inputs(dtype)
    got = np.empty_like(x)
    tanh_all(x, got)
    want = exact(x)
    ulps = np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want)).astype(np.float64)
    assert ulps.max() <= MAX_ULPS, f"{ulps.max():.1f} ulps at x={x[ulps.argmax()]!r}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_special_values(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e3, -1e3,
                  np.finfo(dtype).tiny, np.finfo(dtype).smallest_subnormal], dtype)
    got = np.empty_like(x)
    tanh_all(x, got)
    np.testing.assert_array_equal(got, np.tanh(x))
    assert np.signbit(got[1]), "tanh(-0.0) is -0.0"


@njit(error_model="numpy")
def sigmoid_all(x, out):
    for i in range(x.size):
        out[i] = sigmoid(x[i])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_stays_in_its_dtype_and_matches_numpy(dtype):
    x = inputs(dtype)
    got = np.empty_like(x)
    sigmoid_all(x, got)
    want = (1 / (1 + np.exp(-x.astype(np.longdouble)))).astype(dtype)
    # through tanh, values near 0 keep an absolute error of an ulp of 1, not a relative one
    np.testing.assert_allclose(got, want, rtol=0, atol=2 * np.finfo(dtype).eps)
    assert sigmoid(dtype(3.0)).dtype == dtype
