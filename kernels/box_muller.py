"""Box and Muller's transform as fastgan computes it: its layout and constants, shared by the
Numba kernel (kernels.normal) and its NumPy twin (kernels.reference.normals_from_raw).

A pair of standard normal values (z0, z1) comes from two uniforms u1 in (0, 1], u2 in [0, 1):

    z0 = r cos(2 pi u2),  z1 = r sin(2 pi u2),  r = sqrt(-2 ln u1).

n values make P = ceil(n / 2) pairs; value k is z0 of pair k for k < P, else z1 of pair
k - P (the last z1 is dropped when n is odd), row-major whatever the output's shape.
float32 takes P 64-bit draws, seen as 2P 32-bit halves (low half first): u1 of pair t from
the top 24 bits of half t, u2 from half P + t. float64 takes 2P draws: u1 of pair t from
the top 53 bits of draw t, u2 from draw P + t.

ln u1 = e ln 2 + 2 atanh(s), s = (m - 1) / (m + 1), for u1 = m 2^e with m in
[sqrt(1/2), sqrt(2)); the angle 2 pi u2 = q pi / 2 + phi, q = floor(4 u2), phi in [0, pi/2),
an exact cut since 4 u2 is exact; atanh, sin and cos from their series, stopped where the
next term is under an ulp.
"""
import functools
import math

import numpy as np


def normal_draws(size, dtype):
    """The number of 64-bit draws `size` standard normal values of `dtype` take."""
    pairs = -(-size // 2)
    return pairs if np.dtype(dtype).itemsize == 4 else 2 * pairs


def series(dtype):
    """The transform's constants in `dtype`: (ln 2, sqrt 2, pi / 2, 2^-bits of a uniform,
    atanh's series 2 / (2i + 1), sin's and cos's Taylor coefficients in phi^2, 1, 2, 4,
    1/2); each series highest order first, as Horner's rule takes them."""
    return _series(np.dtype(dtype))


@functools.cache  # the NumPy backend asks for them every step
def _series(dtype):
    f = dtype.type
    single = f == np.float32
    ln_terms, sin_terms, cos_terms = (5, 6, 7) if single else (12, 11, 12)
    atanh = tuple(f(2 / (2 * i + 1)) for i in reversed(range(ln_terms)))
    sin = tuple(f((-1) ** i / math.factorial(2 * i + 1)) for i in reversed(range(sin_terms)))
    cos = tuple(f((-1) ** i / math.factorial(2 * i)) for i in reversed(range(cos_terms)))
    return (f(math.log(2)), f(math.sqrt(2)), f(math.pi / 2), f(2.0 ** (-24 if single else -53)),
            atanh, sin, cos, f(1), f(2), f(4), f(0.5))


def horner(coefficients, x):
    """The polynomial with `coefficients` (highest order first) at x, by Horner's rule."""
    p = coefficients[0]
    for c in coefficients[1:]:
        p = p * x + c
    return p
