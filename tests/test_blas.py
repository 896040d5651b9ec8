"""The gemm the kernels call: MKL's on Intel CPUs where the mkl package is installed, else
NumPy's 64-bit-integer one, or SciPy's through the adapter.

Each is called by address with the convention the kernels use (every argument by
reference, 64-bit integers), from Python and from compiled code through `blas.gemm_calling`,
and compared with NumPy's matmul; the kernels built on them are compared with their NumPy
twins in test_kernels.py.
"""
import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit

from fastgan.kernels import blas, mkl

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
    for name, address in (("numpy", blas.numpy_gemm), ("mkl", mkl.gemm)):
        if blas.available(name):
            found.append((name, address))
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
    return compiled_gemm_on(blas.gemm_of(library))


def compiled_gemm_on(gemm):
    """An njit function c = op(a) @ op(b) through `gemm` (blas.gemm_calling's)."""

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


def test_the_kernels_call_mkl_on_intel_cpus_else_numpys_gemm(monkeypatch):
    monkeypatch.delenv("FASTGAN_BLAS", raising=False)
    if mkl.intel_cpu() and blas.available("mkl"):
        assert blas.choose() == "mkl"
    else:
        assert blas.choose() == ("numpy" if blas.available("numpy") else "scipy")
    monkeypatch.setattr(mkl, "intel_cpu", lambda: False)
    assert blas.choose() == ("numpy" if blas.available("numpy") else "scipy")


@pytest.mark.parametrize("wanted", [name for name, _ in libraries()])
def test_fastgan_blas_picks_the_gemm_by_hand(monkeypatch, wanted):
    monkeypatch.setenv("FASTGAN_BLAS", wanted)
    assert blas.choose() == wanted


@pytest.mark.parametrize("wanted, message", [("openblas", "names no gemm"),
                                             ("MKL", "names no gemm")])
def test_fastgan_blas_refuses_an_unknown_library(monkeypatch, wanted, message):
    monkeypatch.setenv("FASTGAN_BLAS", wanted)
    with pytest.raises(ValueError, match=f"FASTGAN_BLAS='{wanted}' {message}.*mkl, numpy"):
        blas.choose()


def test_fastgan_blas_mkl_without_the_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(mkl, "gemm", lambda name: None)
    monkeypatch.setitem(blas._ADDRESSES, "mkl", mkl.gemm)
    with pytest.raises(ValueError, match=r"not available here.*pip install \"fastgan\[mkl\]\""):
        blas.choose("mkl")


@pytest.mark.skipif(not blas.available("mkl"), reason="the mkl package is not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mkl_gives_the_same_bits_wherever_the_arrays_lie(dtype):
    # a run and its resume hold the same values at other addresses: MKL runs in strict
    # reproducible mode, so alignment must not change a bit of a block's product
    rng = np.random.default_rng(5)
    a0, b0 = rng.standard_normal((64, 200)), rng.standard_normal((200, 96))
    results = []
    for shift in range(8):
        a = np.empty(a0.size + 8, dtype)[shift:shift + a0.size].reshape(a0.shape)
        b = np.empty(b0.size + 8, dtype)[7 - shift:7 - shift + b0.size].reshape(b0.shape)
        a[:], b[:] = a0, b0
        results.append(call(mkl.gemm("sgemm" if dtype == np.float32 else "dgemm"), False,
                            False, a, b))
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])


def test_narrow_products_match_matmul_whichever_gemm_serves_them():
    # the kernels' gemm sends products narrower than NARROW either way to NumPy's gemm
    product = compiled_gemm_on(blas.gemm)
    rng = np.random.default_rng(3)
    for m, k, n in [(128, 256, 1), (1, 784, 1024), (blas.NARROW - 1, 40, 64),
                    (blas.NARROW, 40, blas.NARROW), (64, 1, 300)]:
        for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-12)):
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            c = np.full((m, n), np.nan, dtype)
            product(False, False, a, b, c)
            np.testing.assert_allclose(c, a @ b, rtol=tol, atol=tol)


# trains the same seeded GAN on the Numba backend in a process whose kernels call the gemm
# named by FASTGAN_BLAS, and prints that gemm and the trained parameters' file
_TRAIN = """
import sys
import numpy as np
from fastgan import Config, GAN
from fastgan.kernels import blas
rng = np.random.default_rng(0)
data = np.tanh(rng.standard_normal((256, 48)))
cfg = Config(g_layers=[8, 40, 48], d_layers=[48, 40, 1], batch_size=32, optimizer="adam",
             dropout=0.2, dtype="float64", seed=3)
gan = GAN.from_config(cfg, verbose=False)
gan.fit(data, epochs=3)
np.savez(sys.argv[1], g=gan.engine.G.params, d=gan.engine.D.params)
print(blas.SOURCE)
"""


@pytest.mark.skipif(not blas.available("mkl"), reason="the mkl package is not installed")
def test_training_on_numpys_gemm_matches_training_on_mkls(tmp_path):
    # CI's machine calls MKL; this keeps the kernels' OpenBLAS path, every other CPU's,
    # trained and checked there too
    params = {}
    for library in ("mkl", "numpy"):
        out = tmp_path / f"{library}.npz"
        result = subprocess.run([sys.executable, "-c", _TRAIN, str(out)], capture_output=True,
                                text=True, timeout=300,
                                env=dict(os.environ, FASTGAN_BLAS=library))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [library]
        params[library] = np.load(out)
    for name in ("g", "d"):
        np.testing.assert_allclose(params["numpy"][name], params["mkl"][name], rtol=1e-9,
                                   atol=1e-9)
