"""Standard normal noise from raw 64-bit draws: Box and Muller's transform (as
kernels.box_muller lays it out), vectorised.

NumPy's ziggurat took 12-15 ns a value here (GAN S draws 6,400 a step, about 5% of it). Here
ln, sin and cos are polynomials, plain arithmetic that LLVM vectorises where Numba's libm
calls would keep the loop scalar: 2.0-2.4 ns a float32 value on one core, 6.9-7.3 a float64
one. The NumPy twin (kernels.reference.normals_from_raw) evaluates the same expressions in
the same order with the same constants, so both backends draw the same noise, bit for bit.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from .box_muller import horner, normal_draws, series

_horner = njit(cache=True, inline="always")(horner)
# module globals, which Numba compiles in as constants
_K32, _K64 = series(np.float32), series(np.float64)


def normals_from_raw(raw, out):
    """Fill out (n, m), float32 or float64, with standard normal values from the draws raw
    (>= normal_draws(n * m, out.dtype),) uint64."""
    pairs = -(-out.size // 2)
    if raw.dtype != np.uint64 or raw.size < normal_draws(out.size, out.dtype):
        raise ValueError(f"{out.size} normal values of {out.dtype} take "
                         f"{normal_draws(out.size, out.dtype)} uint64 draws; got {raw.size} "
                         f"of {raw.dtype}")
    flat = np.empty(2 * pairs, out.dtype)
    # float32 reads its draws as 32-bit halves
    src = raw[:pairs].view(np.uint32) if out.itemsize == 4 else raw[:2 * pairs]
    normals(src[:pairs], src[pairs:], flat[:pairs], flat[pairs:])
    out[...] = flat[:out.size].reshape(out.shape)


@intrinsic
def _bits(typingctx, x):
    """The bits of float x as an int of its width."""
    width = x.bitwidth

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(width))
    return getattr(types, f"int{width}")(x), codegen


@intrinsic
def _float(typingctx, bits, like):
    """The float of the type of `like` whose bits are the low bits of the int `bits`."""
    def codegen(context, builder, signature, args):
        word, width = args[0], like.bitwidth
        if bits.bitwidth > width:  # Numba widens int32 arithmetic to int64
            word = builder.trunc(word, ir.IntType(width))
        return builder.bitcast(word, context.get_value_type(like))
    return like(bits, like), codegen


@njit(cache=True)
def normals(u1s, u2s, out_a, out_b):
    """Pairs t of the transform: (out_a[t], out_b[t]) from the draws u1s[t] (u1) and u2s[t]
    (u2); uint32 halves make float32 values, uint64 draws float64 ones. Any run of pairs
    is a call of its own: each view is read from its start, which keeps the loop
    vectorised."""
    _by_width(u1s, u2s, out_a, out_b)


def _by_width(u1s, u2s, out_a, out_b):
    """_normals32 or _normals64, chosen by the draws' type as Numba compiles the caller."""


@overload(_by_width, jit_options={"cache": True})
def _by_width_typed(u1s, u2s, out_a, out_b):
    if u1s.dtype == types.uint32:
        return lambda u1s, u2s, out_a, out_b: _normals32(u1s, u2s, out_a, out_b)
    return lambda u1s, u2s, out_a, out_b: _normals64(u1s, u2s, out_a, out_b)


@njit(cache=True, error_model="numpy")  # numpy: no zero checks, which stop vectorisation
def _normals32(halves1, halves2, out_a, out_b):
    f, k = np.float32, _K32
    for t in range(out_a.size):
        # 24 bits of each 32-bit half, through int32, which AVX2 converts to floats 8 at a
        # time (it has no unsigned form)
        u1 = (f(np.int32(halves1[t] >> np.uint32(8))) + f(1)) * k[3]
        bits = _bits(u1)  # u1 = m 2^e, m in [1, 2)
        m = _float((bits & 0x7FFFFF) | 0x3F800000, u1)
        e = f(np.int32((bits >> 23) - 127))
        turns = f(np.int32(halves2[t] >> np.uint32(8))) * k[3] * f(4)  # 4 u2, exact
        q = np.int32(turns)  # turns >= 0: truncation is the floor
        out_a[t], out_b[t] = _pair(m, e, turns, f(q), q, k)


@njit(cache=True, error_model="numpy")
def _normals64(raw1, raw2, out_a, out_b):
    f, k = np.float64, _K64
    for t in range(out_a.size):
        u1 = (_top53(raw1[t]) + f(1)) * k[3]
        bits = _bits(u1)
        m = _float((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000, u1)
        e = f(np.int32((bits >> 52) - 1023))
        turns = _top53(raw2[t]) * k[3] * f(4)
        q = np.int32(turns)
        out_a[t], out_b[t] = _pair(m, e, turns, f(q), q, k)


@njit(cache=True, inline="always")
def _top53(word):
    """The top 53 bits of a draw as a float64, from two int32 pieces (exact): AVX2 converts
    int32s to floats 4 at a time and has no form for int64s."""
    high = np.float64(np.int32(word >> np.uint64(38)))
    low = np.float64(np.int32((word >> np.uint64(11)) & np.uint64(0x7FFFFFF)))
    return high * np.float64(2 ** 27) + low


@njit(cache=True, inline="always", error_model="numpy")
def _pair(m, e, turns, whole, q, k):
    """(r cos, r sin) of the angle turns pi / 2 (whole = q, its floor), r = sqrt(-2 ln u1)
    for u1 = m 2^e, m in [1, 2)."""
    ln2, sqrt2, half_pi, _, atanh, sin, cos, one, two, four, half = k
    big = m > sqrt2  # m into [sqrt(1/2), sqrt(2))
    m, e = (m * half, e + one) if big else (m, e)
    s = (m - one) / (m + one)
    r = np.sqrt((e * ln2 + s * _horner(atanh, s * s)) * -two)
    phi = (turns - whole) * half_pi
    p2 = phi * phi
    sin_phi, cos_phi = phi * _horner(sin, p2), _horner(cos, p2)
    c, s = (sin_phi, cos_phi) if q & 1 else (cos_phi, sin_phi)
    return r * (-c if q == 1 or q == 2 else c), r * (-s if q >= 2 else s)
