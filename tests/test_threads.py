"""thread_settings: Numba's pool and every BLAS pool set for the block, then restored."""
import numba
import pytest
import scipy.linalg.cython_blas  # noqa: F401  (thread_settings loads SciPy's BLAS: count it before)
from threadpoolctl import threadpool_info

from fastgan import Config
from fastgan.threads import available_cores, step_threads, thread_settings


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


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
