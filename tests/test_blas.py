"""The gemm the kernels call: NumPy's 64-bit-integer one, or SciPy's through the adapter.

Both are called by address with the convention the kernels use (every argument by
reference, 64-bit integers), from Python and from compiled code through `blas.gemm_calling`,
and compared with NumPy's matmul; the kernels built on them are compared with their NumPy
twins in test_kernels.py.
"""
import ctypes

import numpy as np
import pytest
from numba import njit

from fastgan.kernels import blas

_GEMM = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 13)
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 9), (17, 33, 8), (64, 100, 128)]


def call(address, trans_a, trans_b, a, b):
    """Row-major op(a) @ op(b) through the Fortran gemm at `address`."""
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    k = a.shape[0] if trans_a else a.shape[1]
    c = np.full((m, n), np.nan, a.dtype)
    ints = np.array([n, m, k, max(1, b.shape[1]), max(1, a.shape[1]), max(1, n)], np.int64)
    scalars = np.array([1, 0], a.dtype)
    flag = {False: ctypes.c_char(b"N"), True: ctypes.c_char(b"T")}
    at = [ctypes.addressof(flag[trans_b]), ctypes.addressof(flag[trans_a])]
    p, s = ints.ctypes.data, scalars.ctypes.data
    size = a.itemsize
    # row-major c = op(a) op(b) is column-major c.T = op(b).T op(a).T
    _GEMM(address)(*at, p, p + 8, p + 16, s, b.ctypes.data, p + 24, a.ctypes.data, p + 32,
                   s + size, c.ctypes.data, p + 40)
    return c


def libraries():
    found = [("scipy", blas.scipy_gemm)]
    if blas.numpy_gemm("sgemm") is not None:
        found.append(("numpy", blas.numpy_gemm))
    return found


@pytest.mark.parametrize("library, address", libraries(),
                         ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_gemm_matches_matmul(library, address, dtype, trans_a, trans_b, m, k, n):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    want = (a.T if trans_a else a) @ (b.T if trans_b else b)
    name = "sgemm" if dtype == np.float32 else "dgemm"
    got = call(address(name), trans_a, trans_b, a, b)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


def compiled_gemm(library):
    """An njit function c = op(a) @ op(b) through `blas.gemm_of(library)`."""
    gemm = blas.gemm_of(library)

    @njit
    def product(trans_a, trans_b, a, b, c):
        k = a.shape[0] if trans_a else a.shape[1]
        gemm(trans_a, trans_b, c.shape[0], c.shape[1], k, a, 0, b, 0, c, 0)
    return product


@pytest.mark.parametrize("library", [name for name, _ in libraries()])
def test_compiled_gemm_matches_matmul(library):
    # every shape, dtype and transpose in one compiled function: float64 after float32
    # catches a call that reads its argument arrays after Numba has freed them
    product = compiled_gemm(library)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        for trans_a, trans_b in [(False, False), (True, False), (False, True)]:
            for m, k, n in SHAPES:
                rng = np.random.default_rng(m + k + n)
                a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
                b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
                c = np.full((m, n), np.nan, dtype)
                product(trans_a, trans_b, a, b, c)
                want = (a.T if trans_a else a) @ (b.T if trans_b else b)
                np.testing.assert_allclose(c, want, rtol=tol, atol=tol,
                                           err_msg=f"{dtype.__name__} {trans_a} {trans_b}")


def test_kernels_use_numpys_gemm_where_numpy_has_one():
    assert blas.SOURCE == ("numpy" if blas.numpy_gemm("dgemm") is not None else "scipy")
