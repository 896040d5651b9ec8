"""Read an .npz archive's arrays without trusting it: each .npy header is checked first.

`np.load` believes a member's header: a few hundred bytes declaring 10**10 floats make it
allocate 75 GB before finding the data missing. `read_member` refuses object arrays and any
header promising more bytes than the member can hold, then reads exactly that many bytes.
Pickles are never loaded.
"""
import math
import zipfile

import numpy as np

MAX_BYTES = 1 << 33  # 8 GiB: far above any array this package reads
# deflate encodes at most 1032 bytes per byte of output (258-byte runs in 2 bits)
_MAX_DEFLATE_RATIO = 1032


def read_member(zf, member, error=ValueError, check=None, compressed=True):
    """Read the .npy `member` of the open ZipFile `zf` after checking its header.

    Parameters
    ----------
    zf : zipfile.ZipFile
    member : str
        Name of the .npy entry.
    error : type
        Exception class raised, with a message naming `member`.
    check : callable, optional
        check(shape, dtype, fortran_order), called with the header's values before any data
        is read; it raises to refuse the array.
    compressed : bool
        Accept deflated members (a stored member can't hold more than the file itself).

    Returns
    -------
    numpy.ndarray
    """
    info = zf.getinfo(member)
    if not compressed and info.compress_type != zipfile.ZIP_STORED:
        raise error(f"{member}: compressed entries are not accepted (save with np.savez)")
    with zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise error(f"{member}: unsupported .npy version {version}")
        if any(not isinstance(s, int) or s < 0 for s in shape) \
                or math.prod(shape) * dtype.itemsize > MAX_BYTES:
            raise error(f"{member}: shape {shape} is absurd")
        if dtype.hasobject:
            raise error(f"{member}: object arrays are not accepted (they need pickle)")
        if check is not None:
            check(shape, dtype, fortran)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > min(info.file_size, _MAX_DEFLATE_RATIO * max(info.compress_size, 1)):
            raise error(f"{member}: its header promises {nbytes} bytes, more than the "
                        f"{info.compress_size}-byte entry holds")
        data = f.read(nbytes + 1)
    if len(data) != nbytes:
        raise error(f"{member}: holds {len(data)} bytes, its header promises {nbytes}")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()
