"""Dropout masks from a SplitMix64 stream: one draw of the run's generator seeds all the
masks of a pass, and any thread can form any piece of them.

A pass's masks are one stream of 64-bit words, SplitMix64 seeded by `key` (word s is the
generator's s-th output: mix64(key + (s + 1) * GOLDEN)), read layer after layer. Each word
gives four 16-bit chunks, the low end first, one mask value each: value k of a layer (k = i
* m + j) is kept when its chunk is >= round(rate * 2^16) (the rate as drawn is off by at
most 2^-17), so a mask's values do not depend on its shape. A layer takes ceil(size / 4)
words.

Why a stream with a seed rather than raw draws of the run's generator: drawing GAN L's
86,000 words a step from NumPy's PCG64 took 0.44 ms of a 12 ms step, one thread drawing
while the other waited, since the generator's draws come one after another. SplitMix64's
word s is a function of s alone, so the threads of the compiled update form the masks
together, in pieces (60 us of work for GAN L's step). SplitMix64 passes BigCrush; a fresh
seed for every pass keeps the passes' masks apart.
"""
import numpy as np
from numba import njit, prange

from . import checks

CHUNKS = 4  # 16-bit chunks per 64-bit word
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment
PIECE_WORDS = 2048  # words per piece that one thread forms (8192 mask values)
# Smaller masks are filled on the calling thread: a parallel region takes several us to
# start, as long as the work it would split
PARALLEL_MIN_BYTES = 1 << 19


def stream_masks(key, rate, flat, spans):
    """Fill flat[start:start + size] for each row (start, size) of `spans`, in order, with
    dropout masks from the SplitMix64 stream seeded by `key`: 1 / (1 - rate) where a value's
    16-bit chunk is >= round(rate * 2^16), else 0. flat: a 1-D float32 or float64 buffer;
    spans: int64 (layers, 2); key: an integer in [0, 2^64)."""
    name = "stream_masks"
    if not (isinstance(flat, np.ndarray) and flat.ndim == 1):
        raise checks.KernelArgumentError(f"{name}: flat must be a 1-D buffer; got "
                                         f"{getattr(flat, 'shape', type(flat).__name__)}")
    checks.floats(name, flat=flat)
    if not flat.flags.writeable or flat.strides[0] != flat.itemsize:
        raise checks.KernelArgumentError(f"{name}: flat must be writable and contiguous")
    if not (isinstance(spans, np.ndarray) and spans.dtype == np.int64 and spans.ndim == 2
            and spans.shape[1] == 2):
        raise checks.KernelArgumentError(f"{name}: spans must be int64 rows (start, size); "
                                         f"got {getattr(spans, 'shape', type(spans).__name__)}")
    if spans.size and ((spans < 0).any() or (spans.sum(axis=1) > flat.size).any()):
        raise checks.KernelArgumentError(f"{name}: every span must lie in flat's {flat.size} "
                                         f"values")
    if not (isinstance(key, (int, np.integer)) and 0 <= int(key) < 2 ** 64):
        raise checks.KernelArgumentError(f"{name}: key={key!r} must be an integer in "
                                         f"[0, 2^64)")
    if not 0 <= rate < 1:
        raise checks.KernelArgumentError(f"{name}: rate={rate!r} must lie in [0, 1)")
    _stream_unchecked(key, rate, flat, spans)


def _stream_unchecked(key, rate, flat, spans):
    big = spans[:, 1].sum() * flat.itemsize >= PARALLEL_MIN_BYTES
    (_stream_parallel if big else _stream_serial)(np.uint64(key), rate, flat, spans)


stream_masks.unchecked = _stream_unchecked  # for callers whose arrays fit by construction


@njit(cache=True, parallel=True)
def _stream_parallel(key, rate, flat, spans):
    for t in prange(pieces(spans)):
        fill_piece(key, rate, flat, spans, np.int64(t))


@njit(cache=True)
def _stream_serial(key, rate, flat, spans):
    for t in range(pieces(spans)):
        fill_piece(key, rate, flat, spans, t)


@njit(cache=True)
def pieces(spans):
    """The pieces that the masks of `spans` are cut into: PIECE_WORDS words each, a span's
    last one shorter."""
    total = 0
    for s in range(spans.shape[0]):
        total += _pieces(words(spans[s, 1]))
    return total


@njit(cache=True, error_model="numpy")
def fill_piece(key, rate, flat, spans, t):
    """Form piece t (of `pieces(spans)`) of the masks that stream_masks fills."""
    first = 0  # the stream's word at the span's start
    for s in range(spans.shape[0]):
        start, size = spans[s, 0], spans[s, 1]
        count = words(size)
        here = _pieces(count)
        if t < here:
            lo = t * PIECE_WORDS
            _fill_words(key, rate, flat[start:start + size], first, lo,
                        min(lo + PIECE_WORDS, count))
            return
        t -= here
        first += count


@njit(cache=True, error_model="numpy")
def _fill_words(key, rate, out, first, lo, hi):
    """out's values from words lo:hi of a span whose first word is the stream's `first`."""
    real = out.dtype.type
    keep, zero = real(1.0 / (1.0 - rate)), real(0)
    threshold = np.uint64(rate * 65536.0 + 0.5)  # 2^16 keeps nothing
    state = key + np.uint64(first + lo + 1) * GOLDEN  # word lo's
    # a view from word lo, indexed from 0: with lo in the index the loop did not vectorise
    # (0.6 ns a value against 0.2)
    part = out[CHUNKS * lo:min(CHUNKS * hi, out.size)]
    whole = part.size // CHUNKS
    for i in range(whole):
        word = _mix64(state + np.uint64(i) * GOLDEN)
        for c in range(CHUNKS):
            chunk = (word >> np.uint64(16 * c)) & np.uint64(0xFFFF)
            part[CHUNKS * i + c] = keep if chunk >= threshold else zero
    if whole * CHUNKS < part.size:  # the span's last word, partly used
        word = _mix64(state + np.uint64(whole) * GOLDEN)
        for c in range(part.size - whole * CHUNKS):
            chunk = (word >> np.uint64(16 * c)) & np.uint64(0xFFFF)
            part[CHUNKS * whole + c] = keep if chunk >= threshold else zero


@njit(cache=True, inline="always")
def _pieces(count):
    """The pieces of a span of `count` words."""
    return (count + PIECE_WORDS - 1) // PIECE_WORDS


@njit(cache=True)
def words(size):
    """The words of the stream a layer of `size` mask values takes."""
    return (size + CHUNKS - 1) // CHUNKS


@njit(cache=True, inline="always")
def _mix64(z):
    """SplitMix64's output function."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
