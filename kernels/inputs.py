"""A training step's inputs in one compiled call: the real rows of a batch, G's normal noise,
the fake rows' labels and every one-hot label column, from one array of raw draws. The call
forms them in blocks (`input_block`), which the threads of a compiled D update share
instead (kernels.step).

Inside a step each of these took 20-80 us as a NumPy call of its own (the gather, the
noise, drawing 64 labels, two one-hot writes), several times what they take alone: the
step's products leave NumPy's code and data out of the caches. One call for all of them made
the default preset's `GAN.fit` 1.08x faster (30 rounds, the two versions taking turns in one
process).

A fake row's label is one raw draw: its top 32 bits times the number of classes, shifted
down 32 bits (kernels.reference.labels_from_raw; each class's share is off by at most
2^-32). `batch_draws` says how many raw draws a batch takes: the noise first (in
kernels.box_muller's layout), then the labels.
"""
import numpy as np
from numba import njit

from . import checks
from .box_muller import normal_draws
from .gather import _FORMS, _check_indices, _scale_row
from .normal import normals

NOISE_PAIRS = 1024  # pairs of normal values a block
INPUT_ROWS = 16  # rows a block of the gather and the labels


def batch_draws(rows, noise_width, classes, dtype):
    """The raw 64-bit draws a batch of `rows` fake rows takes: normal noise of
    noise_width values a row, then one draw per label when there are classes."""
    return normal_draws(rows * noise_width, dtype) + (rows if classes else 0)


def batch_inputs(raw, data, idx, labels, z, noise_width, x_d, out_labels):
    """Fill a step's inputs from `raw` (batch_draws(n, noise_width, classes, dtype) draws):

    - x_d[i, :f] = data[idx[i]] scaled to [-1, 1] (uint8 data (N, f), as gather_scaled),
    - z[:, :noise_width] = standard normal noise (normals_from_raw of the first draws),

    and with classes (labels (N,) ints, out_labels (2n,) int64, C = z's columns past
    noise_width = x_d's past f): out_labels[:n] = labels[idx], out_labels[n:] drawn from the
    remaining draws (labels_from_raw), and the one-hot columns z[:, noise_width:] (fake
    rows) and x_d[:, f:] (real rows, then fake rows n:2n). With no classes, labels and
    out_labels are empty.
    """
    _check(raw, data, idx, labels, z, noise_width, x_d, out_labels)
    _batch_unchecked(raw, data, idx, labels, z, noise_width, x_d, out_labels)


def _batch_unchecked(raw, data, idx, labels, z, noise_width, x_d, out_labels):
    _batch(batch_parts(raw, data, idx, labels, z, noise_width, x_d, out_labels))


batch_inputs.unchecked = _batch_unchecked  # for callers whose arrays fit by construction


def batch_parts(raw, data, idx, labels, z, noise_width, x_d, out_labels):
    """batch_inputs' arguments as input_block takes them: (noise draws (uint32 halves for
    float32 noise, which reads its draws in halves), label draws, data, idx, labels, z,
    noise_width, x_d, out_labels, the pixels' scaling, and a buffer for the noise)."""
    n, classes = idx.size, z.shape[1] - noise_width
    draws = normal_draws(n * noise_width, z.dtype)
    real = z.dtype.type
    before, after = _FORMS[z.dtype]
    noise = raw[:draws].view(np.uint32) if z.itemsize == 4 else raw[:draws]
    flat = np.empty(2 * (-(-(n * noise_width) // 2)), z.dtype)
    return (noise, raw[draws:draws + (n if classes else 0)], data, idx, labels, z,
            noise_width, x_d, out_labels, (real(before), real(127.5), real(after)), flat)


@njit(cache=True)
def _batch(parts):
    for t in range(input_blocks(parts)):
        input_block(parts, t)


@njit(cache=True)
def input_blocks(parts):
    """The blocks a batch's inputs are cut into (batch_parts; none for an empty batch):
    NOISE_PAIRS pairs of normal values each, then INPUT_ROWS rows each of the gather and
    the labels. Any thread may form any block."""
    idx, flat = parts[3], parts[10]
    if idx.size == 0:
        return 0
    return _noise_blocks(flat) + -(-idx.size // INPUT_ROWS)


@njit(cache=True, error_model="numpy")  # numpy: no zero check on the scaling's division
def input_block(parts, t):
    """Form block t of a batch's inputs (input_blocks)."""
    noise, label_raw, data, idx, labels, z, noise_width, x_d, out_labels, scale, flat = parts
    n, f, pairs = idx.size, data.shape[1], flat.size // 2
    noise_blocks = _noise_blocks(flat)
    if t < noise_blocks:
        lo, hi = t * NOISE_PAIRS, min((t + 1) * NOISE_PAIRS, pairs)
        normals(noise[lo:hi], noise[pairs + lo:pairs + hi], flat[lo:hi],
                flat[pairs + lo:pairs + hi])
        values = n * noise_width  # value k of the noise is row k // noise_width's
        _to_rows(flat, lo, hi, z, noise_width)
        _to_rows(flat, pairs + lo, min(pairs + hi, values), z, noise_width)
        return
    r0 = (t - noise_blocks) * INPUT_ROWS
    r1 = min(r0 + INPUT_ROWS, n)
    before, half, after = scale
    for i in range(r0, r1):
        _scale_row(data[idx[i]], before, half, after, x_d[i, :f])
    classes = z.shape[1] - noise_width
    if classes == 0:
        return
    for i in range(r0, r1):
        out_labels[i] = labels[idx[i]]
        out_labels[n + i] = np.int64(((label_raw[i] >> np.uint64(32)) * np.uint64(classes))
                                     >> np.uint64(32))
        _one_hot_row(z[i, noise_width:], out_labels[n + i])
        _one_hot_row(x_d[i, f:], out_labels[i])
        _one_hot_row(x_d[n + i, f:], out_labels[n + i])


@njit(cache=True, inline="always")
def _noise_blocks(flat):
    """The blocks of the noise whose values `flat` holds, NOISE_PAIRS pairs each."""
    return -(-(flat.size // 2) // NOISE_PAIRS)


@njit(cache=True)
def _to_rows(flat, lo, hi, z, width):
    """Values lo:hi of the noise `flat` into their places in z's first `width` columns."""
    k = lo
    while k < hi:
        row, column = k // width, k % width
        count = min(width - column, hi - k)
        target, source = z[row, column:column + count], flat[k:k + count]
        for j in range(count):
            target[j] = source[j]
        k += count


@njit(cache=True, inline="always")
def _one_hot_row(row, label):
    for c in range(row.size):
        row[c] = 0
    row[label] = 1


def _check(raw, data, idx, labels, z, noise_width, x_d, out_labels):
    name = "batch_inputs"
    _, f = checks.matrix(name, "data", data)
    n, width = checks.matrix(name, "z", z)
    if data.dtype != np.uint8:
        raise checks.KernelArgumentError(f"{name}: data must be uint8 pixels; got {data.dtype}")
    _check_indices(name, idx, len(data))
    if idx.size != n:
        raise checks.KernelArgumentError(f"{name}: idx must hold {n} indices, one per row of "
                                         f"z; got {idx.size}")
    if not 0 < noise_width <= width:
        raise checks.KernelArgumentError(f"{name}: noise_width={noise_width} must be in 1.."
                                         f"{width} (z's columns)")
    classes = width - noise_width
    checks.shape(name, "x_d", x_d, (2 * n, f + classes))
    checks.floats(name, z=z, x_d=x_d)
    for label, a in (("z", z), ("x_d", x_d)):
        checks.writable_rows(name, label, a)
    if raw.dtype != np.uint64 or raw.ndim != 1 or raw.size < batch_draws(n, noise_width,
                                                                         classes, z.dtype):
        raise checks.KernelArgumentError(
            f"{name}: a batch of {n} rows takes {batch_draws(n, noise_width, classes, z.dtype)}"
            f" uint64 draws; got {raw.dtype} {raw.shape}")
    if classes:
        if labels.shape != (len(data),) or labels.dtype != np.int64:
            raise checks.KernelArgumentError(f"{name}: labels must be int64, one per row of "
                                             f"data; got {labels.dtype} {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise checks.KernelArgumentError(f"{name}: labels must lie in 0..{classes - 1}")
        if out_labels.shape != (2 * n,) or out_labels.dtype != np.int64:
            raise checks.KernelArgumentError(f"{name}: out_labels must be {2 * n} int64s; got "
                                             f"{out_labels.dtype} {out_labels.shape}")
