"""Intel MKL's gemm, from the `mkl` package on PyPI, set up for the kernels' blocks.

The kernels multiply blocks of 32-128 rows on each core, one gemm call per block. There
MKL's sgemm ran 1.15-1.6x the speed of the OpenBLAS that NumPy's wheels ship (0.3.31) on
every block shape of GAN S, L and the default preset, on a 2-core Intel Xeon with AVX-512;
a newer OpenBLAS (0.3.34) gained 1.0-1.15x (`python bench/blas_choice.py`). So on Intel
CPUs the kernels call MKL where it is installed (`pip install "fastgan[mkl]"`, on x86-64
Linux, where it is tested: the extra installs nothing elsewhere).

Two settings keep its results what the kernels promise. MKL runs sequentially inside a
block: the kernels' threads are the parallelism, and MKL's own threads would fight them for
the cores. And its conditional numerical reproducibility is on, in strict mode, for the
machine's own code branch: a product's bits then depend neither on the arrays' alignment
in memory (which differs between a run and its resume) nor on anything but the block, as
with OpenBLAS. Neither cost any speed measurable here.
"""
import ctypes
import functools
import importlib.metadata

_SEQUENTIAL = 1  # MKL_THREADING_SEQUENTIAL
_STRICT = 0x10000  # MKL_CBWR_STRICT
_SUCCESS = 0  # MKL_CBWR_SUCCESS


def _library_path():
    """Where the mkl package put its single dynamic library (libmkl_rt), or None."""
    try:
        files = importlib.metadata.distribution("mkl").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.startswith("libmkl_rt.so"):
            return str(file.locate())
    return None


@functools.cache
def library():
    """MKL's runtime library, loaded and set to run sequentially with reproducible results;
    None where the mkl package is missing or cannot be set up so (another copy of MKL
    already at work in this process with its own threads, say)."""
    path = _library_path()
    if path is None:
        return None
    try:
        mkl = ctypes.CDLL(path)
        # returns the layer in force: another means MKL was already working in threads
        if mkl.MKL_Set_Threading_Layer(ctypes.c_int(_SEQUENTIAL)) != _SEQUENTIAL:
            return None
        branch = mkl.MKL_CBWR_Get_Auto_Branch()
        if mkl.MKL_CBWR_Set(ctypes.c_int(branch | _STRICT)) != _SUCCESS:
            return None
    except (OSError, AttributeError):  # not loadable, or a release without these functions
        return None
    return mkl


def gemm(name):
    """C address of MKL's ILP64 Fortran `name` ("sgemm" or "dgemm"), or None without MKL."""
    mkl = library()
    function = getattr(mkl, f"{name}_64", None) if mkl is not None else None
    return None if function is None else ctypes.cast(function, ctypes.c_void_p).value


def intel_cpu():
    """Whether this machine's CPU is Intel's, where MKL's speed was measured (read on Linux,
    the only system the extra installs MKL on)."""
    try:
        with open("/proc/cpuinfo") as info:
            return any(line.startswith("vendor_id") and "GenuineIntel" in line for line in info)
    except OSError:
        return False
