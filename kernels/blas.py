"""BLAS's gemm called straight from compiled kernels, on any block of a row-major array.

Numba's np.dot takes whole contiguous arrays only, so a kernel that wants a block of columns,
or x.T without copying it, has to copy first. Calling gemm itself lets each core multiply just
its block of a weight matrix (packing only that block) and read x.T in place.

The BLAS is Intel's MKL on Intel CPUs where the mkl package is installed (kernels.mkl: 1.15-
1.6x OpenBLAS's speed on the kernels' blocks there). Otherwise it is NumPy's own where its
wheel exports the Fortran gemm with 64-bit integers (NumPy's PyPI wheels do): the same
library the NumPy backend multiplies with. Its OpenBLAS ran the kernels' blocks 1.02-1.45x
faster than SciPy's older one on GAN S and L's layer shapes (`python bench/blas_choice.py`).
Elsewhere (a NumPy built on another BLAS) the kernels call SciPy's gemm through a compiled
adapter that narrows the integers to its 32 bits. The environment variable FASTGAN_BLAS
(mkl, numpy or scipy) picks one by hand. Whichever it is, the kernels call one symbol,
registered with LLVM at import, with 64-bit integers, so the code they compile, and Numba's
on-disk cache of it, is the same whichever library serves it.
"""
import ctypes
import functools
import os

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import cfunc, njit, types
from numba.extending import intrinsic

from . import mkl
from .checks import BlasChoiceError

_N, _T = 0, 1  # offsets of "N" and "T" in the kernels' flags array
# gemm's 13 arguments, all addresses (Fortran passes every argument by reference)
_SIGNATURE = types.void(*[types.intp] * 13)
# where NumPy's wheels have put the 64-bit-integer gemm over the years
_NUMPY_NAMES = ("scipy_{}_64_", "{}_64_", "scipy_{}64_", "{}64_")


@functools.cache  # asked for at import by choose, NARROW_SOURCE and the symbols alike
def numpy_gemm(name):
    """C address of NumPy's own ILP64 `name` ("sgemm" or "dgemm"), or None if its BLAS has
    none. Looked up through NumPy's extension module, which links the BLAS it ships."""
    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath
    library = ctypes.CDLL(_multiarray_umath.__file__)
    for pattern in _NUMPY_NAMES:
        symbol = getattr(library, pattern.format(name), None)
        if symbol is not None:
            return ctypes.cast(symbol, ctypes.c_void_p).value
    return None


def _capsule_address(name):
    """The C address of SciPy's cython_blas function `name` (32-bit integers)."""
    # imported only here: importing scipy.linalg takes 0.17-0.28 s of every start, and
    # NumPy's wheels have a gemm of their own
    from scipy.linalg import cython_blas
    capsule = cython_blas.__pyx_capi__[name]
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))


@intrinsic
def _load_int64(typingctx, address):
    """The int64 stored at `address` (an integer)."""
    def codegen(context, builder, signature, args):
        return builder.load(builder.inttoptr(args[0], ir.IntType(64).as_pointer()))
    return types.int64(types.intp), codegen


@intrinsic
def _keep_alive(typingctx, a, b, c):
    """Does nothing, but uses a, b and c: Numba frees an array right after its last use in
    the code, and the BLAS call after that last use reads them through bare addresses."""
    def codegen(context, builder, signature, args):
        return context.get_dummy_value()
    return types.none(a, b, c), codegen


@functools.cache
def scipy_gemm(name):
    """C address of a compiled adapter taking gemm's arguments with 64-bit integers and
    calling SciPy's `name`, which takes 32-bit ones."""
    target = f"fastgan_scipy_{name}"
    llvm.add_symbol(target, _capsule_address(name))
    lp64 = types.ExternalFunction(target, _SIGNATURE)

    @cfunc(_SIGNATURE)  # compiled at import where needed: no NumPy gemm to call instead
    def adapter(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        ints = np.empty(6, np.int32)
        for i, address in enumerate((m, n, k, lda, ldb, ldc)):
            ints[i] = _load_int64(address)
        p = ints.ctypes.data
        lp64(ta, tb, p, p + 4, p + 8, alpha, a, p + 12, b, p + 16, beta, c, p + 20)
        _keep_alive(ints, ints, ints)
    return adapter.address


_ADDRESSES = {"mkl": mkl.gemm, "numpy": numpy_gemm, "scipy": scipy_gemm}


def _externals(prefix, library):
    """(sgemm, dgemm) of `library` ("numpy" or "scipy") as ExternalFunctions with 64-bit
    integers, registered with LLVM as <prefix>_sgemm64 and <prefix>_dgemm64."""
    functions = []
    for name in ("sgemm", "dgemm"):
        symbol = f"{prefix}_{name}64"
        llvm.add_symbol(symbol, _ADDRESSES[library](name))
        functions.append(types.ExternalFunction(symbol, _SIGNATURE))
    return functions


def available(library):
    """Whether `library` ("mkl", "numpy" or "scipy") has both gemms for the kernels."""
    if library == "scipy":
        return True  # SciPy is a dependency, and its cython_blas has them
    return None not in (_ADDRESSES[library]("sgemm"), _ADDRESSES[library]("dgemm"))


def choose(wanted=None):
    """The library the kernels call: `wanted` (default: the FASTGAN_BLAS environment
    variable) when set, else MKL on an Intel CPU where it is installed, else NumPy's own
    where it has one, else SciPy's."""
    wanted = os.environ.get("FASTGAN_BLAS", "") if wanted is None else wanted
    if wanted:
        if wanted not in _ADDRESSES:
            raise BlasChoiceError(f"FASTGAN_BLAS={wanted!r} names no gemm fastgan can call; "
                                  f"use one of {', '.join(_ADDRESSES)}, or unset it to let "
                                  f"fastgan choose")
        if not available(wanted):
            hint = ('install it with `pip install "fastgan[mkl]"`' if wanted == "mkl"
                    else "NumPy's BLAS exports no 64-bit-integer gemm")
            raise BlasChoiceError(f"FASTGAN_BLAS={wanted!r}: that gemm is not available "
                                  f"here ({hint}); unset FASTGAN_BLAS to let fastgan choose")
        return wanted
    if mkl.intel_cpu() and available("mkl"):
        return "mkl"
    return "numpy" if available("numpy") else "scipy"


# whose gemm the kernels call; their symbols' names leave it out, so their cached code
# stays the same whichever library serves them
SOURCE = choose()


def gemm_calling(sgemm, dgemm, narrow=None):
    """A `gemm` (below) that calls the Fortran functions sgemm and dgemm (ExternalFunctions
    with 64-bit integers), or the pair `narrow` (default: the same) for a product narrower
    than NARROW either way: kernels/ builds one on fastgan_[sd]gemm64 and
    fastgan_narrow_[sd]gemm64, bench/ others."""
    narrow_s, narrow_d = (sgemm, dgemm) if narrow is None else narrow

    @njit(inline="always")
    def gemm(trans_a, trans_b, m, n, k, a, a_at, b, b_at, c, c_at):
        """c[m, n] block = op(a) @ op(b), row-major, op = transpose when trans_* is True.

        a, b, c are 2-D arrays with unit column stride (any row stride); *_at is the flat
        offset, in elements, of the block's first element (row * row_stride + column).
        op(a) is (m, k) and op(b) (k, n). The block of c is overwritten.
        """
        size = c.itemsize
        # a leading dimension below 1 (a one-row or empty array's stride) is refused by BLAS
        lda = max(1, a.strides[0] // size)
        ldb, ldc = max(1, b.strides[0] // size), max(1, c.strides[0] // size)
        # row-major c = op(a) op(b) is column-major c.T = op(b).T op(a).T: swap the operands
        ints = np.empty(6, np.int64)
        ints[0], ints[1], ints[2], ints[3], ints[4], ints[5] = n, m, k, ldb, lda, ldc
        scalars = np.empty(2, c.dtype)
        scalars[0], scalars[1] = 1, 0
        flags = np.empty(2, np.uint8)
        flags[_N], flags[_T] = 78, 84  # "N", "T"
        fi, pi, ps = flags.ctypes.data, ints.ctypes.data, scalars.ctypes.data
        ta, tb = fi + (_T if trans_a else _N), fi + (_T if trans_b else _N)
        pa, pb = a.ctypes.data + size * a_at, b.ctypes.data + size * b_at
        pc, pe = c.ctypes.data + size * c_at, ps + size  # pe: beta, the scale of c's old values
        wide = min(m, n) >= NARROW
        if size == 4 and wide:
            sgemm(tb, ta, pi, pi + 8, pi + 16, ps, pb, pi + 24, pa, pi + 32, pe, pc, pi + 40)
        elif size == 4:
            narrow_s(tb, ta, pi, pi + 8, pi + 16, ps, pb, pi + 24, pa, pi + 32, pe, pc, pi + 40)
        elif wide:
            dgemm(tb, ta, pi, pi + 8, pi + 16, ps, pb, pi + 24, pa, pi + 32, pe, pc, pi + 40)
        else:
            narrow_d(tb, ta, pi, pi + 8, pi + 16, ps, pb, pi + 24, pa, pi + 32, pe, pc, pi + 40)
        _keep_alive(flags, ints, scalars)
    return gemm


# a product whose result has fewer rows or columns than this (D's one-logit layer, a batch of
# a few rows) goes to NumPy's gemm where the kernels call MKL's: MKL took 4x as long there
# (12 us against 3 for 128 x 256 x 1), where it ran wider ones 1.15-1.6x faster
NARROW = 16
NARROW_SOURCE = SOURCE if SOURCE != "mkl" else "numpy" if available("numpy") else "scipy"
gemm = gemm_calling(*_externals("fastgan", SOURCE),
                    narrow=_externals("fastgan_narrow", NARROW_SOURCE))


def gemm_of(library):
    """A `gemm` on `library`'s sgemm/dgemm ("mkl", "numpy" or "scipy"), whichever the
    kernels use: for comparing them (bench/blas_choice.py, tests/test_blas.py)."""
    return gemm_calling(*_externals(f"fastgan_{library}", library))
