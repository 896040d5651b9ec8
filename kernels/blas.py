"""BLAS's gemm called straight from compiled kernels, on any block of a row-major array.

Numba's np.dot takes whole contiguous arrays only, so a kernel that wants a block of columns,
or x.T without copying it, has to copy first. Calling gemm itself lets each core multiply just
its block of a weight matrix (packing only that block) and read x.T in place.

The BLAS is SciPy's, the one np.dot uses inside Numba. Its gemm is bound by a symbol name
registered with LLVM at import, not by an address baked into the code, so kernels that call
it stay in Numba's on-disk cache.
"""
import ctypes

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from scipy.linalg import cython_blas

_N, _T = 0, 1  # offsets of "N" and "T" in the kernels' flags array


def _address(name):
    """The C address of SciPy's cython_blas function `name`."""
    capsule = cython_blas.__pyx_capi__[name]
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))


# Fortran gemm: every argument by address (13 of them), passed here as integers
for _name in ("sgemm", "dgemm"):
    llvm.add_symbol(f"fastgan_{_name}", _address(_name))
_sgemm = types.ExternalFunction("fastgan_sgemm", types.void(*[types.intp] * 13))
_dgemm = types.ExternalFunction("fastgan_dgemm", types.void(*[types.intp] * 13))


@njit(cache=True, inline="always")
def gemm(trans_a, trans_b, m, n, k, a, a_at, b, b_at, c, c_at):
    """c[m, n] block = op(a) @ op(b), row-major, op = transpose when trans_* is True.

    a, b, c are 2-D arrays with unit column stride (any row stride); *_at is the flat offset,
    in elements, of the block's first element (row * row_stride + column). op(a) is (m, k)
    and op(b) (k, n). The block of c is overwritten.
    """
    size = c.itemsize
    # a leading dimension below 1 (a one-row or empty array's stride) is refused by BLAS
    lda = max(1, a.strides[0] // size)
    ldb, ldc = max(1, b.strides[0] // size), max(1, c.strides[0] // size)
    # row-major c = op(a) op(b) is column-major c.T = op(b).T op(a).T: swap the operands
    ints = np.empty(6, np.int32)
    ints[0], ints[1], ints[2], ints[3], ints[4], ints[5] = n, m, k, ldb, lda, ldc
    scalars = np.empty(2, c.dtype)
    scalars[0], scalars[1] = 1, 0
    flags = np.empty(2, np.uint8)
    flags[_N], flags[_T] = 78, 84  # "N", "T"
    fi, pi, ps = flags.ctypes.data, ints.ctypes.data, scalars.ctypes.data
    ta, tb = fi + (_T if trans_a else _N), fi + (_T if trans_b else _N)
    pa, pb = a.ctypes.data + size * a_at, b.ctypes.data + size * b_at
    pc = c.ctypes.data + size * c_at
    if size == 4:
        _sgemm(tb, ta, pi, pi + 4, pi + 8, ps, pb, pi + 12, pa, pi + 16, ps + size, pc, pi + 20)
    else:
        _dgemm(tb, ta, pi, pi + 4, pi + 8, ps, pb, pi + 12, pa, pi + 16, ps + size, pc, pi + 20)
