"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header (two zero bytes, a type byte, the number of dimensions,
then one uint32 size per dimension) followed by the payload in C order. The files are usually
gzipped; `read_idx` tells the two apart by the gzip magic bytes, not by the file name.
"""
import gzip
import os
import zlib

import numpy as np

from fastgan.fileio import atomic_path

__all__ = ["IDXError", "read_idx", "write_idx", "MAX_BYTES"]

# The largest payload read_idx accepts. Full MNIST train images are 47 MB; the cap only stops a
# lying header from making us allocate or decompress gigabytes.
MAX_BYTES = 2**31
MAX_NDIM = 4
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_TYPE_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32",
               0x0D: "float32", 0x0E: "float64"}


class IDXError(ValueError):
    """An IDX file is malformed: bad header, unsupported type, wrong payload size, bad gzip."""


def read_idx(path):
    """Read an IDX file, gzipped or raw, into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is detected from the magic bytes, so the suffix does not matter.

    Returns
    -------
    np.ndarray
        uint8 array with the shape the header declares, e.g. (10000, 28, 28) for MNIST
        test images or (10000,) for its labels.

    Raises
    ------
    IDXError
        If the header is malformed, the type is not uint8 (0x08), a size is 0, the declared
        payload exceeds `MAX_BYTES`, the payload is shorter or longer than declared, or the
        gzip stream is corrupt. The message names the file and the problem.
    FileNotFoundError
        If `path` does not exist.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"read_idx: `path` must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fspath(path)
    with open(name, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_stream(stream, name, file_size=None)
            # gzip reports damage as BadGzipFile (an OSError), EOFError or zlib.error.
            except (OSError, EOFError, zlib.error) as err:
                raise IDXError(f"{name}: corrupt gzip stream ({err}); re-download the file") \
                    from None
        return _read_stream(raw, name, file_size=os.fstat(raw.fileno()).st_size)


def _read_stream(stream, name, file_size):
    """Parse header and payload from `stream`; `file_size` is known for raw files only."""
    shape = _read_header(stream, name)
    size = int(np.prod(shape, dtype=np.int64))
    if file_size is not None:
        # Raw file: compare against the real size before allocating anything.
        header_size = 4 + 4 * len(shape)
        _check_payload_size(name, size, file_size - header_size)
        data = np.empty(size, dtype=np.uint8)
        stream.readinto(memoryview(data))
        return data.reshape(shape)
    # Gzip: the decompressed size is unknown until read, so read in chunks, never more than
    # size + 1 bytes (one extra byte reveals trailing data), and let memory grow with the data.
    buf = bytearray()
    while len(buf) <= size:
        chunk = stream.read(min(_CHUNK, size + 1 - len(buf)))
        if not chunk:
            break
        buf += chunk
    _check_payload_size(name, size, len(buf))
    return np.frombuffer(buf, dtype=np.uint8).reshape(shape)


def _read_header(stream, name):
    """Return the shape declared by the header, validated against the limits above."""
    head = stream.read(4)
    if len(head) < 4:
        raise IDXError(f"{name}: file too short for an IDX header ({len(head)} bytes, need 4)")
    if head[0] != 0 or head[1] != 0:
        raise IDXError(f"{name}: not an IDX file: it must start with two zero bytes, "
                       f"found 0x{head[0]:02x} 0x{head[1]:02x}")
    dtype, ndim = head[2], head[3]
    if dtype != 0x08:
        known = _TYPE_NAMES.get(dtype)
        what = f"type {known} (0x{dtype:02x})" if known else f"unknown type byte 0x{dtype:02x}"
        raise IDXError(f"{name}: IDX {what} is not supported; fastgan reads only uint8 (0x08)")
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXError(f"{name}: IDX header declares {ndim} dimensions; expected 1 to {MAX_NDIM}")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise IDXError(f"{name}: IDX header truncated: {ndim} sizes need {4 * ndim} bytes, "
                       f"found {len(dims)}")
    shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    if min(shape) < 1:
        raise IDXError(f"{name}: IDX header declares shape {shape}; every size must be >= 1")
    total = 1
    for n in shape:  # Python ints: no overflow before the comparison
        total *= n
    if total > MAX_BYTES:
        raise IDXError(f"{name}: IDX header declares shape {shape} = {total} bytes, over the "
                       f"{MAX_BYTES}-byte limit; the header is corrupt")
    return shape


def _check_payload_size(name, declared, found):
    if found < declared:
        raise IDXError(f"{name}: IDX payload truncated: header declares {declared} bytes, "
                       f"found {found}; re-download the file")
    if found > declared:
        raise IDXError(f"{name}: trailing bytes after the {declared}-byte IDX payload; "
                       f"the file is corrupt or its header is wrong")


def write_idx(path, array, compress=None):
    """Write a uint8 array as an IDX file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    array : np.ndarray
        uint8 array with 1 to 4 dimensions, each of size >= 1, e.g. images (n, 28, 28).
    compress : bool, optional
        Gzip the file. Default: gzip if `path` ends in ``.gz``.

    Raises
    ------
    TypeError
        If `array` is not a uint8 ndarray.
    ValueError
        If its number of dimensions or a size is out of range.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        what = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(f"write_idx: `array` must be a uint8 ndarray, got {what}; "
                        f"convert with np.asarray(array, dtype=np.uint8) after checking its range")
    if not 1 <= array.ndim <= MAX_NDIM or array.size == 0:
        raise ValueError(f"write_idx: `array` has shape {array.shape}; IDX needs 1 to {MAX_NDIM} "
                         f"dimensions, each of size >= 1")
    path = os.fspath(path)
    if compress is None:
        compress = path.endswith(".gz")
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array).tobytes()
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        if compress:
            # filename="" and mtime=0 keep the temp name and the clock out of the gzip
            # header, so the same array always gives the same bytes.
            with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw,
                               mtime=0) as out:
                out.write(payload)
        else:
            raw.write(payload)
