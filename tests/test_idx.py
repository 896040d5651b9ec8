"""IDX reader and writer: real files, round trips, corrupt files, and fuzzing."""
import gzip
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastgan.data.idx import MAX_BYTES, IDXError, read_idx, write_idx


def idx_bytes(shape, payload=None, type_byte=0x08, ndim=None):
    """Raw IDX bytes; `payload` defaults to the right number of bytes."""
    ndim = len(shape) if ndim is None else ndim
    header = bytes([0, 0, type_byte, ndim]) + b"".join(n.to_bytes(4, "big") for n in shape)
    if payload is None:
        payload = bytes(range(256)) * (int(np.prod(shape)) // 256 + 1)
        payload = payload[:int(np.prod(shape))]
    return header + payload


def gz(data):
    return gzip.compress(data, mtime=0)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One reusable file path: hypothesis can't use function-scoped fixtures."""
    return tmp_path_factory.mktemp("idx") / "fuzz.idx"


# ---- real files -------------------------------------------------------------------------

@pytest.mark.parametrize("rel, shape, first", [
    ("mnist/t10k-labels-idx1-ubyte.gz", (10000,), [7, 2, 1, 0, 4]),
    ("mnist/train-labels-idx1-ubyte.gz", (60000,), [5, 0, 4, 1, 9]),
    ("fashion-mnist/t10k-labels-idx1-ubyte.gz", (10000,), [9, 2, 1, 1, 6]),
    ("mnist/t10k-images-idx3-ubyte.gz", (10000, 28, 28), None),
    ("fashion-mnist/t10k-images-idx3-ubyte.gz", (10000, 28, 28), None),
])
def test_read_real_files(request, mnist_t10k, rel, shape, first):
    # MNIST's t10k pair ships in the package; the other files are in ../shared/data only.
    if rel.startswith("mnist/t10k"):
        path = mnist_t10k / rel.split("/")[1]
    else:
        path = request.getfixturevalue("shared_data") / rel
    a = read_idx(path)
    assert a.shape == shape and a.dtype == np.uint8
    if first is not None:  # labels
        assert a[:5].tolist() == first
        assert set(np.unique(a).tolist()) == set(range(10))
    else:  # images: full 0..255 range, dark corners, a plausible mean (MNIST 34, Fashion 73)
        assert a.min() == 0 and a.max() == 255
        assert a[:, :2, :2].mean() < 1
        assert 20 < a.mean() < 100


def test_read_real_file_uncompressed_matches(mnist_t10k, tmp_path):
    raw = tmp_path / "labels.idx"
    gz_path = mnist_t10k / "t10k-labels-idx1-ubyte.gz"
    raw.write_bytes(gzip.decompress(gz_path.read_bytes()))
    np.testing.assert_array_equal(read_idx(raw), read_idx(gz_path))


# ---- round trip -------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 28, 28), (1, 2, 3, 4)])
def test_round_trip(tmp_path, shape, compress):
    a = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    path = tmp_path / "a.idx"
    write_idx(path, a, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    b = read_idx(path)
    assert b.dtype == np.uint8
    np.testing.assert_array_equal(a, b)


def test_write_gz_suffix_compresses_deterministically(tmp_path):
    a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "a.gz", a)
    write_idx(tmp_path / "b.gz", a)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == idx_bytes((3, 4, 5), a.tobytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gz", "b.gz"]  # no temp files left


def test_write_non_contiguous(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4).T
    write_idx(tmp_path / "t.idx", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "t.idx"), a)


@pytest.mark.parametrize("array, error", [
    (np.zeros(3, dtype=np.float32), TypeError),
    (np.zeros(3, dtype=np.int64), TypeError),
    ([1, 2, 3], TypeError),
    (np.array(3, dtype=np.uint8), ValueError),
    (np.zeros((1, 1, 1, 1, 1), dtype=np.uint8), ValueError),
    (np.zeros((0, 28), dtype=np.uint8), ValueError),
])
def test_write_rejects(tmp_path, array, error):
    with pytest.raises(error, match="array"):
        write_idx(tmp_path / "x.idx", array)
    assert not list(tmp_path.iterdir())


# ---- corrupt files ----------------------------------------------------------------------

CORRUPT = {
    "empty": (b"", "too short"),
    "bad magic": (b"\x01\x00" + idx_bytes((3,))[2:], "two zero bytes"),
    "float type": (idx_bytes((3,), b"\0" * 12, type_byte=0x0D), "float32.*not supported"),
    "unknown type": (idx_bytes((3,), type_byte=0x07), "unknown type byte 0x07"),
    "zero ndim": (idx_bytes((), b""), "0 dimensions"),
    "five dims": (idx_bytes((1, 1, 1, 1, 1)), "5 dimensions"),
    "short header": (idx_bytes((3, 4))[:9], "header truncated"),
    "zero size": (idx_bytes((3, 0, 2), b""), "must be >= 1"),
    "absurd dims": (idx_bytes((2**32 - 1,) * 4, b"\0" * 10), "limit"),
    "just over limit": (idx_bytes((2, MAX_BYTES // 2 + 1), b"\0" * 10), "limit"),
    "truncated payload": (idx_bytes((3, 4))[:-1], "truncated"),
    "trailing bytes": (idx_bytes((3, 4)) + b"\0", "trailing"),
}


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_file_raises_idxerror(tmp_path, case, compress):
    data, message = CORRUPT[case]
    path = tmp_path / "bad-file.idx"
    path.write_bytes(gz(data) if compress else data)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert "bad-file.idx" in str(info.value)
    assert isinstance(info.value, ValueError)


def _flip_middle(data):
    mid = len(data) // 2
    return data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]


@pytest.mark.parametrize("damage", [
    lambda d: d[:len(d) // 2],      # truncated gzip stream
    lambda d: d[:-4],               # size trailer missing
    lambda d: d[:-8] + b"\0" * 8,   # wrong CRC and size
    _flip_middle,                   # corrupt deflate data
    lambda d: d + b"garbage",       # junk after the gzip member
    lambda d: d[:3],                # header only
])
def test_corrupt_gzip_raises_idxerror(tmp_path, damage):
    good = gz(idx_bytes((20, 28, 28)))
    path = tmp_path / "x.gz"
    path.write_bytes(damage(good))
    with pytest.raises(IDXError, match="x.gz"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_lying_header_allocates_nothing(tmp_path, compress):
    """A header declaring 2 GiB over a 100-byte payload must fail without a big allocation."""
    data = idx_bytes((2**15, 2**16), b"\1" * 100)
    path = tmp_path / "liar.idx"
    path.write_bytes(gz(data) if compress else data)
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match="truncated"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_missing_file_and_bad_path_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(TypeError, match="path"):
        read_idx(3)


# ---- property-based ---------------------------------------------------------------------

def _check_read(path, data):
    """read_idx either raises IDXError or returns exactly the payload the header declares."""
    try:
        a = read_idx(path)
    except IDXError:
        return
    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    assert a.dtype == np.uint8 and 1 <= a.ndim <= 4
    assert raw[:4] == bytes([0, 0, 8, a.ndim])
    assert a.tobytes() == raw[4 + 4 * a.ndim:]


FUZZ = settings(max_examples=150, deadline=500,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=64))
def test_fuzz_random_bytes(scratch, data):
    scratch.write_bytes(data)
    _check_read(scratch, data)


@FUZZ
@given(data=st.binary(max_size=64))
def test_fuzz_random_gzip_payload(scratch, data):
    scratch.write_bytes(gz(data))
    _check_read(scratch, gz(data))


_VALID = idx_bytes((2, 3, 4))


@FUZZ
@given(compress=st.booleans(), edits=st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert", "append"]),
              st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_valid_file(scratch, compress, edits):
    data = bytearray(gz(_VALID) if compress else _VALID)
    for op, pos, value in edits:
        pos %= len(data) + 1
        if op == "flip" and pos < len(data):
            data[pos] ^= value or 1
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = bytes([value])
        else:
            data += bytes([value])
        if not data:
            break
    scratch.write_bytes(bytes(data))
    _check_read(scratch, bytes(data))


@FUZZ
@given(compress=st.booleans(),
       dims=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4),
       payload=st.binary(max_size=32))
def test_fuzz_header_sizes_bounded_memory(scratch, compress, dims, payload):
    data = idx_bytes(tuple(dims), payload)
    data = gz(data) if compress else data
    scratch.write_bytes(data)
    tracemalloc.start()
    try:
        _check_read(scratch, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # whatever the header declares, memory follows the real payload
