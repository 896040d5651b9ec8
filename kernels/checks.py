"""Argument checks at the kernels' entry points.

Compiled code trusts its arrays: a short array is read or written past its end, an array of
another dtype is read as bytes of the kernel's own. So each entry point checks what it is
given first, in Python, and names the mismatch. The checks cost a few microseconds a call,
so the GAN engine, whose buffers fit together by construction, skips them
(fastgan.backends.trusted).
"""
import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class KernelArgumentError(ValueError):
    """A kernel was called with arrays that do not fit together."""


class BlasChoiceError(ValueError):
    """FASTGAN_BLAS names a gemm that is unknown or not available here (kernels.blas)."""


def floats(kernel, **arrays):
    """The one float dtype (float32 or float64) every array in `arrays` has."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    first = next(iter(dtypes.values()))
    if first not in FLOATS or any(d != first for d in dtypes.values()):
        listed = ", ".join(f"{name} {d}" for name, d in dtypes.items())
        raise KernelArgumentError(f"{kernel}: the arrays must all be float32 or all float64; "
                                  f"got {listed}")
    return first


def shape(kernel, name, a, expected, empty_ok=False):
    """Refuse `a` unless its shape is `expected` (or it is empty, when `empty_ok`)."""
    if empty_ok and a.size == 0:
        return
    if a.shape != tuple(expected):
        extra = " or empty" if empty_ok else ""
        raise KernelArgumentError(f"{kernel}: {name} has shape {a.shape}; expected "
                                  f"{tuple(expected)}{extra}")


def matrix(kernel, name, a):
    """Refuse `a` unless it is 2-D; return its shape."""
    if a.ndim != 2:
        raise KernelArgumentError(f"{kernel}: {name} must be 2-D; got shape {a.shape}")
    return a.shape


def writable_rows(kernel, name, a):
    """Refuse an output the kernel cannot write row by row: read-only, or columns apart."""
    apart = a.ndim == 2 and a.shape[1] > 1 and a.strides[1] != a.itemsize
    if a.size and (not a.flags.writeable or apart):
        raise KernelArgumentError(f"{kernel}: {name} must be writable with adjacent columns "
                                  f"(e.g. np.empty((n, m))); got strides {a.strides}")


def code(kernel, name, value, known):
    """Refuse an int code that is not one of `known` ({name: code})."""
    an_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not an_int or int(value) not in known.values():
        raise KernelArgumentError(f"{kernel}: {name}={value!r} is not one of "
                                  f"{sorted(known.items(), key=lambda kv: kv[1])}")
