"""thread_settings: Numba's pool and every BLAS pool set for the block, then restored; and
the threading layer Numba's parallel regions run on."""
import importlib.metadata
import os
import subprocess
import sys

import numba
import pytest
# SciPy's BLAS loaded before any test's thread_settings first lists the pools, so that it is
# among the pools set and counted, whichever test module runs first
import scipy.linalg.cython_blas  # noqa: F401
from threadpoolctl import threadpool_info

from fastgan import Config
from fastgan.kernels.threading_layer import load_tbb
from fastgan.threads import available_cores, step_threads, thread_settings


def _blas_threads():
    # MKL, where the kernels call it, runs sequentially (kernels.mkl): it has no pool to set
    return [pool["num_threads"] for pool in threadpool_info()
            if pool["user_api"] == "blas" and pool["internal_api"] != "mkl"]


def test_mkl_stays_sequential_whatever_the_settings():
    with thread_settings("numpy"):
        pools = [pool for pool in threadpool_info() if pool["internal_api"] == "mkl"]
        assert all(pool["num_threads"] == 1 for pool in pools)


@pytest.mark.parametrize("backend, blas", [("numba", 1), ("numpy", None)])
def test_thread_settings_sets_and_restores_both_pools(backend, blas):
    before_blas, before_numba = _blas_threads(), numba.get_num_threads()
    with thread_settings(backend, threads=1) as n:
        assert n == 1 and numba.get_num_threads() == 1
        # the Numba backend calls single-threaded BLAS from every core; NumPy's uses `threads`
        assert set(_blas_threads()) == {blas or 1}
    assert _blas_threads() == before_blas and numba.get_num_threads() == before_numba


def test_thread_settings_defaults_to_every_core():
    with thread_settings("numpy") as n:
        assert n == available_cores() == numba.get_num_threads()
        assert set(_blas_threads()) == {n}


def test_thread_settings_restores_a_pool_it_did_not_need_to_change():
    numba.set_num_threads(1)
    try:
        with thread_settings("numba", threads=1):
            assert numba.get_num_threads() == 1
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(available_cores())


@pytest.mark.parametrize("changes, expected", [
    (dict(g_layers=[4, 16, 16, 1], d_layers=[1, 16, 16, 1], batch_size=64), 1),
    (dict(g_layers=[4, 16, 16, 1], d_layers=[1, 16, 16, 1], batch_size=64, threads=2), 2),
    (dict(g_layers=[8, 128, 128, 2], d_layers=[2, 128, 128, 1], batch_size=128), None),
    (dict(), None),  # the NumPy tutorial's 100-128-784
])
def test_steps_too_small_to_split_run_on_one_core(changes, expected):
    threads = step_threads(Config(**changes))
    assert threads == (available_cores() if expected is None else min(expected,
                                                                      available_cores()))


# --- the threading layer ------------------------------------------------------------------
_TRAIN_AND_REPORT = """
import hashlib, numpy as np
from fastgan import GAN
from fastgan.kernels.threading_layer import threading_layer
x = np.random.default_rng(0).uniform(-1, 1, (256, 49)).astype(np.float32)
gan = GAN(g_layers=[8, 64, 49], d_layers=[49, 64, 1], batch_size=32, dropout=0.3,
          optimizer="adam", dtype="float32", seed=3)
gan.fit(x, epochs=2)
digest = hashlib.sha256(gan.engine.G.params.tobytes() + gan.engine.D.params.tobytes())
print(threading_layer(), digest.hexdigest())
"""


def _in_fresh_process(layer=None):
    """(threading layer, digest of the parameters) of a short training run in a new process,
    on Numba's choice of layer or on `layer`."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    if layer:
        env["NUMBA_THREADING_LAYER"] = layer
    done = subprocess.run([sys.executable, "-c", _TRAIN_AND_REPORT], env=env,
                          capture_output=True, text=True, check=True)
    return tuple(done.stdout.split()[-2:])


def _tbb_installed():
    try:
        importlib.metadata.distribution("tbb")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the tbb package is not installed here (fastgan installs it on Linux x86_64)")


def test_kernels_run_on_tbb_where_it_is_installed_and_train_the_same_as_on_openmp():
    _tbb_installed()
    on_tbb, on_openmp = _in_fresh_process(), _in_fresh_process("omp")
    assert on_tbb[0] == "tbb" and on_openmp[0] == "omp"  # a user's choice still decides
    assert on_tbb[1] == on_openmp[1]


def test_load_tbb_finds_nothing_without_the_package():
    assert load_tbb("no-such-distribution-here") is None
