"""Plain-NumPy twins of the Numba kernels: same names, same signatures, same results.

They fill preallocated outputs like the kernels do. The NumPy backend runs on them, and the
tests hold every kernel to its twin. Empty (size-0) arrays mean "not wanted": no mask, no dw,
no dx.
"""
import functools

import numpy as np

from .box_muller import horner, normal_draws, series
from .codes import BCE, HINGE, LEAKY_RELU, NEG_SOFTPLUS, RELU, SIGMOID, SQUARED, TANH


def _activate(z, act, alpha):
    if act == RELU:
        return np.maximum(z, 0)
    if act == LEAKY_RELU:
        return np.where(z > 0, z, alpha * z)
    if act == TANH:
        return np.tanh(z)
    if act == SIGMOID:
        return _sigmoid(z)
    return z


def _sigmoid(z):
    # exp of a non-positive number never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _derivative(y, act, alpha):
    """act'(z) written in terms of y = act(z), so backward needs no pre-activations."""
    if act == RELU:
        return (y > 0).astype(y.dtype)
    if act == LEAKY_RELU:
        return np.where(y > 0, 1, alpha).astype(y.dtype)
    if act == TANH:
        return 1 - y * y
    if act == SIGMOID:
        return y * (1 - y)
    return np.ones_like(y)


def dense_forward(x, w, b, act, alpha, mask, out, h):
    """out = act(x @ w + b); h = out * mask when mask is given (dropout).

    x (n, k), w (k, m), b (m,), mask (n, m) or empty, out (n, m), h (n, m) or empty.
    """
    np.matmul(x, w, out=out)
    out += b
    out[...] = _activate(out, act, alpha)
    if mask.size:
        np.multiply(out, mask, out=h)


def dense_backward(x, w, out, dout, act, alpha, mask, dw, db, dx):
    """Backward of dense_forward from the upstream gradient dout (n, m), overwritten with dz.

    Fills dw (k, m) and db (m,) unless dw is empty, and dx (n, k) unless dx is empty.
    """
    if mask.size:
        dout *= mask
    dout *= _derivative(out, act, alpha)
    if dw.size:
        np.matmul(x.T, dout, out=dw)
        db[...] = dout.sum(axis=0)
    if dx.size:
        np.matmul(dout, w.T, out=dx)


def loss_head(logits, head, target, weight, dlogits):
    """Return weight * sum f(l) over logits (n, 1) and fill dlogits with weight * f'(l).

    bce: softplus(l) - t*l (sigmoid + binary cross-entropy, stable for any |l|);
    neg_softplus: -softplus(l) (the minimax generator loss log(1 - D));
    squared: (l - t)^2 / 2; hinge: relu(1 - t*l); linear: -t*l (Wasserstein).
    """
    l = logits
    if head == BCE:
        f = _softplus(l) - target * l
        d = _sigmoid(l) - target
    elif head == NEG_SOFTPLUS:
        f = -_softplus(l)
        d = -_sigmoid(l)
    elif head == SQUARED:
        f = 0.5 * (l - target) ** 2
        d = l - target
    elif head == HINGE:
        f = np.maximum(1 - target * l, 0)
        d = np.where(1 - target * l > 0, -target, 0).astype(l.dtype)
    else:
        f = -target * l
        d = np.full_like(l, -target)
    dlogits[...] = weight * d
    return float(weight * f.sum(dtype=np.float64))


def _softplus(l):
    return np.maximum(l, 0) + np.log1p(np.exp(-np.abs(l)))


def gather_scaled(data, idx, out):
    """out[:, :f] = rows idx of uint8 data (N, f) scaled to [-1, 1] as `scale_images` scales
    them (in float64), in out's dtype; out's columns past f stay as they are."""
    out[:, :data.shape[1]] = _pixel_scale(out.dtype)[data[idx]]


def batch_inputs(raw, data, idx, labels, z, noise_width, x_d, out_labels):
    """A step's real rows, noise, labels and one-hot columns from raw draws, as the kernel
    (kernels.inputs) lays them out: the gather, the normals, then one draw per fake label."""
    n, classes = len(idx), z.shape[1] - noise_width
    draws = normal_draws(n * noise_width, z.dtype)
    normals_from_raw(raw[:draws], z[:, :noise_width])
    gather_scaled(data, idx, x_d[:n])
    if classes:
        batch_labels(raw[draws:draws + n], labels, idx, z[:, noise_width:],
                     x_d[:, data.shape[1]:], out_labels)


def batch_labels(raw, labels, idx, z_codes, x_codes, out_labels):
    """out_labels (2n,) = the real rows' labels[idx], then n fake ones drawn from raw (one
    draw each, labels_from_raw); their one-hot columns into z_codes (n, classes), the fake
    rows', and x_codes (2n, classes), real rows then fake."""
    n = len(idx)
    out_labels[:n] = labels[idx]
    out_labels[n:] = labels_from_raw(raw[:n], z_codes.shape[1])
    one_hot(z_codes, out_labels[n:])
    one_hot(x_codes, out_labels)


def labels_from_raw(raw, classes):
    """Labels in 0..classes-1 (int64) from raw 64-bit draws, one each: the draw's top 32
    bits times `classes`, shifted down 32 bits (a class's share is off by at most 2^-32)."""
    return ((raw >> np.uint64(32)) * np.uint64(classes) >> np.uint64(32)).astype(np.int64)


def one_hot(columns, labels):
    """Row i of `columns` (rows, classes) = the one-hot vector of labels[i]."""
    columns[...] = 0
    columns[np.arange(len(labels)), labels] = 1


def prefetch_rows(data, idx):
    """The kernel's cache hint for rows data[idx]: nothing to do, or to change, in NumPy."""


@functools.cache  # built once per dtype, not every step
def _pixel_scale(dtype):
    """The 256 pixel values scaled to [-1, 1] in float64, then cast to `dtype`."""
    return (np.arange(256) / 127.5 - 1).astype(dtype)


def normals_from_raw(raw, out):
    """Fill out (n, m), float32 or float64, with standard normal values from the 64-bit draws
    raw, by Box and Muller's transform as kernels.box_muller lays it out."""
    f = out.dtype.type
    ln2, sqrt2, half_pi, scale, atanh, sin, cos, one, two, four, half = series(out.dtype)
    pairs = -(-out.size // 2)
    if f == np.float32:
        halves = (raw[:pairs].view(np.uint32) >> 8).astype(np.int32).astype(f)
        u1, u2 = (halves[:pairs] + one) * scale, halves[pairs:] * scale
        bits, mantissa, bias = u1.view(np.int32), 23, 127
    else:
        top = _top53(raw[:2 * pairs])
        u1, u2 = (top[:pairs] + one) * scale, top[pairs:] * scale
        bits, mantissa, bias = u1.view(np.int64), 52, 1023
    # ln u1 from u1 = m 2^e, m in [sqrt(1/2), sqrt(2))
    m = ((bits & ((1 << mantissa) - 1)) | (bias << mantissa)).view(f)
    e = ((bits >> mantissa) - bias).astype(np.int32).astype(f)
    big = m > sqrt2
    m, e = np.where(big, m * half, m), np.where(big, e + one, e)
    s = (m - one) / (m + one)
    r = np.sqrt((e * ln2 + s * horner(atanh, s * s)) * -two)
    # the angle 2 pi u2 = q pi / 2 + phi
    turns = u2 * four
    q = turns.astype(np.int32)
    phi = (turns - q.astype(f)) * half_pi
    p2 = phi * phi
    sin_phi, cos_phi = phi * horner(sin, p2), horner(cos, p2)
    odd = (q & 1) == 1
    c, s = np.where(odd, sin_phi, cos_phi), np.where(odd, cos_phi, sin_phi)
    c, s = np.where((q == 1) | (q == 2), -c, c), np.where(q >= 2, -s, s)
    out[...] = np.concatenate([r * c, r * s])[:out.size].reshape(out.shape)


def _top53(raw):
    """The top 53 bits of 64-bit draws as float64s (exactly; in two int32 pieces, as the
    kernel takes them)."""
    high = (raw >> np.uint64(38)).astype(np.int32).astype(np.float64)
    low = ((raw >> np.uint64(11)) & np.uint64(0x7FFFFFF)).astype(np.int32).astype(np.float64)
    return high * np.float64(2 ** 27) + low


def stream_masks(key, rate, flat, spans):
    """flat[start:start + size] for each (start, size) of spans, in order = 1 / (1 - rate)
    where the value's 16-bit chunk of the SplitMix64 stream seeded by `key` is >=
    round(rate * 2^16), else 0; value k of a span is chunk k % 4 (little end first) of the
    span's word k // 4, and a span of `size` values takes ceil(size / 4) words."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    shifts = np.arange(0, 64, 16, dtype=np.uint64)
    threshold = np.uint64(int(rate * 65536.0 + 0.5))
    first = 0
    for start, size in spans:
        count = -(-size // 4)
        z = np.uint64(key) + np.arange(first + 1, first + count + 1, dtype=np.uint64) * golden
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        chunks = ((z[:, None] >> shifts) & np.uint64(0xFFFF)).reshape(-1)[:size]
        np.multiply(chunks >= threshold, 1.0 / (1.0 - rate), out=flat[start:start + size])
        first += count


def sgd_update(p, g, learning_rate):
    """p -= learning_rate * g over flat parameter and gradient buffers (size,)."""
    p -= learning_rate * g


def adam_update(p, g, m, v, step_size, beta1, beta2, eps, c2):
    """One Adam step over flat buffers (size,). step_size = learning_rate / (1 - beta1^t), the
    bias-corrected step; c2 = 1 / (1 - beta2^t)."""
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * (g * g)
    p -= step_size * m / (np.sqrt(v * c2) + eps)


def ema_update(avg, p, decay):
    """avg = decay * avg + (1 - decay) * p over flat buffers (size,)."""
    avg *= decay
    avg += (1 - decay) * p


def clip_update(p, c):
    """Clip p (size,) to [-c, c] in place (Wasserstein weight clipping)."""
    np.clip(p, -c, c, out=p)
