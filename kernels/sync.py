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
cache line of its own, so the threads' increments do not contend for the same line.
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
# spins before a waiting thread gives its core away: a few microseconds here, about the
# longest wait between layers on free cores; a thread waits far longer only when the one it
# waits for has lost its core, which the yield may give back
_SPINS_BEFORE_YIELD = 1 << 12
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def _yield_address():
    """The C address of the call that gives the calling thread's core to another thread."""
    if sys.platform == "win32":
        return ctypes.cast(ctypes.windll.kernel32.SwitchToThread, ctypes.c_void_p).value
    return ctypes.cast(ctypes.CDLL(None).sched_yield, ctypes.c_void_p).value


llvm.add_symbol("fastgan_yield", _yield_address())
_os_yield = types.ExternalFunction("fastgan_yield", types.int32())


@njit(cache=True)
def counters(stages):
    """Zeroed counters for `stages` stages."""
    return np.zeros(stages * 2 * _LINE, np.int64)


@njit(cache=True, inline="always")
def claim(sync, stage):
    """The next unclaimed block of `stage` (blocks past the stage's last mean none is left)."""
    return _fetch_add(sync, stage * 2 * _LINE + _CLAIMED, 1)


@njit(cache=True, inline="always")
def done(sync, stage):
    """Count one block of `stage` done: its writes are visible to any thread that then sees
    the count."""
    _fetch_add(sync, stage * 2 * _LINE + _DONE, 1)


@njit(cache=True)
def wait(sync, stage, blocks):
    """Return once `blocks` blocks of `stage` are done, and their writes visible."""
    at = stage * 2 * _LINE + _DONE
    spins = 0
    while _load_acquire(sync, at) < blocks:
        _pause()
        spins += 1
        if spins == _SPINS_BEFORE_YIELD:
            _os_yield()
            spins = 0


def _pointer(context, builder, signature, args):
    """The address of counter args[1] of the int64 array args[0]."""
    array = context.make_array(signature.args[0])(context, builder, args[0])
    return builder.gep(array.data, [args[1]])


@intrinsic
def _fetch_add(typingctx, sync, at, value):
    """sync[at] += value atomically (sequentially consistent); the value before."""
    def codegen(context, builder, signature, args):
        return builder.atomic_rmw("add", _pointer(context, builder, signature, args), args[2],
                                  "seq_cst")
    return types.int64(sync, at, value), codegen


@intrinsic
def _load_acquire(typingctx, sync, at):
    """sync[at], read so that no later read of this thread moves before it."""
    def codegen(context, builder, signature, args):
        return builder.load_atomic(_pointer(context, builder, signature, args), "acquire", 8)
    return types.int64(sync, at), codegen


@intrinsic
def _pause(typingctx):
    """A spin-wait hint (x86's pause): the waiting core slows its loop and saves power."""
    def codegen(context, builder, signature, args):
        if _X86:
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(function, [])
        return context.get_dummy_value()
    return types.none(), codegen
