"""Stages of blocks that the threads of one parallel region share, so that a whole network
pass (every layer, one after the other) takes one region instead of one per layer.

A Numba parallel region costs several microseconds to start on TBB (Numba builds a task
arena for each), and the second thread often starts its block later still; a pass of GAN
L's D had a region per layer. Here every thread of a single region walks the same stages
in order. In each it claims blocks with an atomic counter until none is left, and counts
each block done on a second counter; before claiming from the next stage it waits, spinning,
until the stage before is done. A thread only ever waits for blocks that another running
thread has claimed, so a thread that starts late, or never, cannot stall the rest: the
others claim its blocks. A block is computed the same way whichever thread claims it.

`counters(stages)` makes the counters: a claim count and a done count per stage, each on a
cache line of its own, so the threads' increments do not contend for the same line. The
atomic operations and the waits below also serve kernels.crew.
"""
import ctypes
import platform
import sys

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_LINE = 8  # int64 counters per 64-byte cache line
_CLAIMED, _DONE = 0, _LINE  # a stage's two counters, a line apart
# spins before a waiting thread gives its core away: about 0.1 ms here, far longer than
# a wait between stages on free cores; a thread waits that long only when the one it
# waits for has lost its core, which the yield may give back
_SPINS_BEFORE_YIELD = 1 << 12
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
_WINDOWS = sys.platform == "win32"
_NAP = 1 if _WINDOWS else 100  # a nap's length: Windows' Sleep takes ms, usleep us


def _address(posix, windows):
    """The C address of libc's `posix` function, or of kernel32's `windows` on Windows."""
    library = ctypes.windll.kernel32 if _WINDOWS else ctypes.CDLL(None)
    return ctypes.cast(getattr(library, windows if _WINDOWS else posix), ctypes.c_void_p).value


# giving the calling thread's core to another thread, and sleeping a little
llvm.add_symbol("fastgan_yield", _address("sched_yield", "SwitchToThread"))
llvm.add_symbol("fastgan_nap", _address("usleep", "Sleep"))
os_yield = types.ExternalFunction("fastgan_yield", types.int32())
_sleep = types.ExternalFunction("fastgan_nap", types.void(types.uint32))


@njit(cache=True)
def counters(stages):
    """Zeroed counters for `stages` stages."""
    return np.zeros(stages * 2 * _LINE, np.int64)


@njit(cache=True, inline="always")
def claim(sync, stage):
    """The next unclaimed block of `stage` (blocks past the stage's last mean none is left)."""
    return fetch_add(sync, stage * 2 * _LINE + _CLAIMED, 1)


@njit(cache=True, inline="always")
def done(sync, stage):
    """Count one block of `stage` done: its writes are visible to any thread that then sees
    the count."""
    fetch_add(sync, stage * 2 * _LINE + _DONE, 1)


@njit(cache=True, inline="always")
def wait(sync, stage, blocks):
    """Return once `blocks` blocks of `stage` are done, and their writes visible."""
    wait_at_least(sync, stage * 2 * _LINE + _DONE, blocks)


@njit(cache=True)
def wait_at_least(counts, at, value):
    """Return once counts[at] >= value, spinning, and giving the core away now and then: a
    thread waits long only when the one it waits for has lost its core."""
    spins = 0
    while load_acquire(counts, at) < value:
        pause()
        spins += 1
        if spins == _SPINS_BEFORE_YIELD:
            os_yield()
            spins = 0


@njit(cache=True, inline="always")
def nap():
    """Sleep a little: 100 us (1 ms on Windows)."""
    _sleep(np.uint32(_NAP))


def _pointer(context, builder, signature, args):
    """The address of counter args[1] of the int64 array args[0]."""
    array = context.make_array(signature.args[0])(context, builder, args[0])
    return builder.gep(array.data, [_int64(context, builder, signature, args, 1)])


def _int64(context, builder, signature, args, i):
    """Argument i as an int64."""
    return context.cast(builder, args[i], signature.args[i], types.int64)


@intrinsic
def fetch_add(typingctx, sync, at, value):
    """sync[at] += value atomically (sequentially consistent); the value before."""
    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("add", _pointer(context, builder, signature, args),
                                  _int64(context, builder, signature, args, 2), "seq_cst")
    return types.int64(sync, at, value), codegen


@intrinsic
def load_acquire(typingctx, sync, at):
    """sync[at], read so that no later read of this thread moves before it."""
    def codegen(context, builder, signature, args):
        return builder.load_atomic(_pointer(context, builder, signature, args), "acquire", 8)
    return types.int64(sync, at), codegen


@intrinsic
def exchange(typingctx, sync, at, value):
    """sync[at] = value atomically (sequentially consistent: the writes before it are
    visible to a thread that sees it); the value before."""
    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("xchg", _pointer(context, builder, signature, args),
                                  _int64(context, builder, signature, args, 2), "seq_cst")
    return types.int64(sync, at, value), codegen


@intrinsic
def cas(typingctx, sync, at, expected, value):
    """sync[at] = value if it holds `expected`, atomically (sequentially consistent);
    whether it did."""
    def codegen(context, builder, signature, args):
        pair = builder.cmpxchg(_pointer(context, builder, signature, args),
                               _int64(context, builder, signature, args, 2),
                               _int64(context, builder, signature, args, 3), "seq_cst",
                               "seq_cst")
        return builder.extract_value(pair, 1)
    return types.boolean(sync, at, expected, value), codegen


@intrinsic
def pause(typingctx):
    """A spin-wait hint (x86's pause): the waiting core slows its loop and saves power."""
    def codegen(context, builder, signature, args):
        if _X86:
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(function, [])
        return context.get_dummy_value()
    return types.none(), codegen
