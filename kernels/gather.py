"""Gathering a batch of real rows, uint8 pixels scaled to [-1, 1] as they are read.

The scaling is arithmetic, which LLVM vectorises, where a lookup table kept the loop scalar:
GAN S's 64 rows took 9-11 us against 37-40 us through a table (float32). It rounds exactly
as scaling the whole set in float64 and casting does (`scale_images(x).astype(dtype)`): in
float32 as (u - 127.5) / 127.5, in float64 as u / 127.5 - 1 (tests check every u). Batches
under PARALLEL_MIN_BYTES run on the calling thread: starting a parallel region took longer
than gathering 64 rows of MNIST (26-30 us against 9-11 us).

Rows picked at random from a data set larger than the caches come from memory: inside a
training step the same gather took 60-80 us. `prefetch_rows` asks the CPU to load the next
batch's rows while the generator step computes, so the gather finds them in cache.
"""
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import checks

_LINE = 64  # bytes in a cache line

PARALLEL_MIN_BYTES = 1 << 19
# per dtype: (before, after) in (u - before) / 127.5 - after
_FORMS = {np.dtype(np.float32): (127.5, 0.0), np.dtype(np.float64): (0.0, 1.0)}


def gather_scaled(data, idx, out):
    """out[i, :f] = data[idx[i]] scaled from 0..255 to [-1, 1]. data (N, f) uint8, idx (n,),
    out (n, f) or wider, float32 or float64: its columns past f stay as they are.

    Give a wider out rather than a view of its first f columns: rows of a C-contiguous
    array compile to SIMD code, rows of a view to scalar code (a conditional GAN's 64 rows
    of MNIST took 22 us against 85 us)."""
    _check(data, idx, out)
    _gather_unchecked(data, idx, out)


def _gather_unchecked(data, idx, out):
    real = out.dtype.type
    before, after = _FORMS[out.dtype]
    kernel = _gather_parallel if out.nbytes >= PARALLEL_MIN_BYTES else _gather_serial
    kernel(data, idx, real(before), real(127.5), real(after), out)


gather_scaled.unchecked = _gather_unchecked  # for callers whose arrays fit by construction


def _check(data, idx, out):
    name = "gather_scaled"
    rows, f = checks.matrix(name, "data", data)
    n, width = checks.matrix(name, "out", out)
    if data.dtype != np.uint8:
        raise checks.KernelArgumentError(f"{name}: data must be uint8 pixels; got {data.dtype}")
    _check_indices(name, idx, rows)
    if n != idx.size or width < f:
        raise checks.KernelArgumentError(f"{name}: out must have {idx.size} rows (one per "
                                         f"index) and at least data's {f} columns; got "
                                         f"shape {out.shape}")
    checks.floats(name, out=out)
    checks.writable_rows(name, "out", out)


def prefetch_rows(data, idx):
    """Start loading rows data[idx] into the caches and return at once; a hint that changes
    nothing else. data (N, f) C-contiguous, idx (n,) ints in 0..N-1."""
    name = "prefetch_rows"
    rows, _ = checks.matrix(name, "data", data)
    if not data.flags.c_contiguous:
        raise checks.KernelArgumentError(f"{name}: data must be C-contiguous (np.ascontiguous"
                                         f"array); got strides {data.strides}")
    _check_indices(name, idx, rows)
    _prefetch_unchecked(data, idx)


def _prefetch_unchecked(data, idx):
    _prefetch_rows(data.reshape(-1).view(np.uint8), idx, data.shape[1] * data.itemsize)


prefetch_rows.unchecked = _prefetch_unchecked


@njit(cache=True)
def _prefetch_rows(flat, idx, row_bytes):
    for i in range(idx.size):
        start = idx[i] * row_bytes
        for at in range(start, start + row_bytes, _LINE):
            _prefetch(flat, at)
        _prefetch(flat, start + row_bytes - 1)  # the last line, when the row is not aligned


@intrinsic
def _prefetch(typingctx, flat, at):
    """Prefetch the cache line holding flat[at] for reading (LLVM's llvm.prefetch: read,
    high locality, data cache). Declared without its pointer-type suffix, which LLVM adds
    as it reads the code: p0i8 before opaque pointers, p0 after."""
    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        address = builder.gep(array.data, [args[1]])
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch")
        builder.call(function, [builder.bitcast(address, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.none(flat, at), codegen


def _check_indices(name, idx, rows):
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise checks.KernelArgumentError(f"{name}: idx must be 1-D ints; got {idx.dtype} "
                                         f"{idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise checks.KernelArgumentError(f"{name}: idx must lie in 0..{rows - 1}; found "
                                         f"{idx.min()}..{idx.max()}")


@njit(cache=True, parallel=True, error_model="numpy")  # numpy: no zero check on the division
def _gather_parallel(data, idx, before, half, after, out):
    for i in prange(out.shape[0]):
        _scale_row(data[idx[i]], before, half, after, out[i, :data.shape[1]])


@njit(cache=True, error_model="numpy")
def _gather_serial(data, idx, before, half, after, out):
    for i in range(out.shape[0]):
        _scale_row(data[idx[i]], before, half, after, out[i, :data.shape[1]])


@njit(cache=True, inline="always", error_model="numpy")
def _scale_row(row, before, half, after, out):
    for j in range(out.size):
        out[j] = (row[j] - before) / half - after
