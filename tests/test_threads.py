"""thread_settings: Numba's pool and every BLAS pool set for the block, then restored."""
import numba
import pytest
from threadpoolctl import threadpool_info

from fastgan.threads import available_cores, thread_settings


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
