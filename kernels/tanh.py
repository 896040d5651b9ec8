"""tanh (and sigmoid) for compiled loops, written so that LLVM vectorises them.

Numba calls libm's scalar tanh (PyPI's llvmlite has no SVML), which keeps a loop scalar:
about 11 ns a value here, where NumPy's tanh took 2.7-5 (float32) and 14 (float64). This
one is plain arithmetic, so a loop over it runs 8 float32 or 4 float64 values at a time:
about 1.4 and 5.7 ns a value on one core, inside a kernel's epilogue and on every core.

    tanh(x) = sign(x) e / (e + 2),  e = expm1(2|x|) = 2^n (expm1(r) + 1) - 1,
    2|x| = n ln2 + r, |r| <= ln2 / 2,

with expm1(r) from its Taylor series (to r^8 in float32, r^14 in float64: each term left
out is under half an ulp) and 2^n built from its bits. |x| is clamped where tanh rounds to
1 (9 in float32, 19.5 in float64). It is within 3 ulp of the correctly rounded tanh
(tests/test_tanh.py); NumPy's is within about 1, so the kernels and their NumPy twin agree
to rounding. Callers must compile with error_model="numpy": Python's error model checks the
division for zero, and that branch stops vectorisation.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

_INV_LN2 = 1.4426950408889634
# ln 2 split in two, the first part with trailing zero bits, so n * ln2_hi is exact
_LN2_HI32, _LN2_LO32 = 0.693145751953125, 1.428606765330187e-06
_LN2_HI64, _LN2_LO64 = 0.6931471803691238, 1.9082149292705877e-10


@intrinsic
def _pow2(typingctx, n, like):
    """2.0 ** n in the float type of `like`, from its bits; n an int32 in the normal range."""
    def codegen(context, builder, signature, args):
        bits, shift, bias = (32, 23, 127) if like.bitwidth == 32 else (64, 52, 1023)
        word = ir.IntType(bits)
        exponent = builder.sext(args[0], word) if bits == 64 else args[0]
        exponent = builder.add(exponent, ir.Constant(word, bias))
        return builder.bitcast(builder.shl(exponent, ir.Constant(word, shift)),
                               context.get_value_type(like))
    return like(types.int32, like), codegen


def tanh(x):
    """tanh of a float32 or float64 scalar: this module's in compiled code, NumPy's here."""
    return np.tanh(x)


# FMA contraction: each mul-add pair of the series as one instruction, a shorter chain
_FMA = {"fastmath": {"contract"}}


@overload(tanh, jit_options=_FMA)
def _tanh(x):
    if x == types.float32:
        return _tanh32
    if x == types.float64:
        return _tanh64
    return None


def sigmoid(x):
    """(1 + tanh(x / 2)) / 2, in x's own float type: no overflow for any x."""
    half = np.asarray(x).dtype.type(0.5)
    return (np.tanh(x * half) + 1) * half


@overload(sigmoid, jit_options=_FMA)
def _sigmoid(x):
    if x not in (types.float32, types.float64):
        return None
    half, one = (np.float32(0.5), np.float32(1)) if x == types.float32 else (0.5, 1.0)

    def impl(x):  # the constants in x's type: a float64 0.5 would take float32 to float64
        return (tanh(x * half) + one) * half
    return impl


def _tanh32(x):
    f = np.float32
    a = min(abs(x), f(9))
    t = a + a
    n = np.int32(t * f(_INV_LN2) + f(0.5))
    r = t - f(n) * f(_LN2_HI32) - f(n) * f(_LN2_LO32)
    p = f(1 / 40320)
    p = p * r + f(1 / 5040)
    p = p * r + f(1 / 720)
    p = p * r + f(1 / 120)
    p = p * r + f(1 / 24)
    p = p * r + f(1 / 6)
    p = p * r + f(0.5)
    return _finish(x, r + r * r * p, _pow2(n, x), f(1), f(2))


def _tanh64(x):
    a = min(abs(x), 19.5)
    t = a + a
    n = np.int32(t * _INV_LN2 + 0.5)
    r = t - n * _LN2_HI64 - n * _LN2_LO64
    p = 1 / 87178291200
    p = p * r + 1 / 6227020800
    p = p * r + 1 / 479001600
    p = p * r + 1 / 39916800
    p = p * r + 1 / 3628800
    p = p * r + 1 / 362880
    p = p * r + 1 / 40320
    p = p * r + 1 / 5040
    p = p * r + 1 / 720
    p = p * r + 1 / 120
    p = p * r + 1 / 24
    p = p * r + 1 / 6
    p = p * r + 0.5
    return _finish(x, r + r * r * p, _pow2(n, x), 1.0, 2.0)


@njit(fastmath=_FMA["fastmath"])  # LLVM inlines it (Numba's inlining upset its SSA checks)
def _finish(x, expm1_r, scale, one, two):
    """tanh(x) from expm1(r) and 2^n; x itself for +-0 and NaN."""
    e = scale * expm1_r + (scale - one)
    y = e / (e + two)
    return y if x > 0 else (-y if x < 0 else x)
