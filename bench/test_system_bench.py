"""Figures from fresh processes: start-up, peak memory, and the peers PyTorch and JAX.

Targets (start-up < 2 s warm and < 20 s with an empty cache, memory < 300 MB) are checked
only when timing is on: --benchmark-disable checks that each figure can be measured. Peers run
with FASTGAN_PEER_PYTHON (an interpreter that has torch and/or jax), else this one; a peer
that isn't installed there is skipped.
"""
import os
import shutil
import tempfile

import pytest

from fastgan import peers
from fastgan.benchmark import GANS, PEER_GANS, make_engine, step_data, train_steps
from fastgan.threads import thread_settings
from support import BATCHES

L = GANS["L"]


def check_target(benchmark, value, target, what):
    benchmark.extra_info.update(value=value, target=target)
    if not benchmark.disabled:
        assert value < target, f"{what}: {value:.3g}, target < {target:g}"


def test_startup_warm_cache(benchmark):
    peers.run_child(L)  # fill the cache
    # the child's own figure, launch to the end of its step; the benchmark's timing of the
    # call also counts the child's exit
    figures = []
    benchmark.pedantic(lambda: figures.append(peers.run_child(L)[0]), rounds=3)
    check_target(benchmark, min(figures), peers.WARM_TARGET_S, "s to GAN L's first step")


def test_startup_empty_cache(benchmark):
    def fresh_cache():
        folder = tempfile.mkdtemp(prefix="fastgan-numba-cache-")
        return (), {"env": {**os.environ, "NUMBA_CACHE_DIR": folder}}

    def remove_cache(env):
        shutil.rmtree(env["NUMBA_CACHE_DIR"])

    seconds = benchmark.pedantic(lambda env: peers.run_child(L, env=env)[0], setup=fresh_cache,
                                 teardown=remove_cache, rounds=1)
    check_target(benchmark, seconds, peers.COLD_TARGET_S, "s to compile and run GAN L's step")


def test_peak_memory_gan_l(benchmark):
    result = benchmark.pedantic(peers.memory_figure, args=("L", L), rounds=1)
    benchmark.extra_info.update(result)
    check_target(benchmark, result["peak_mb"], result["target_mb"], "MB training GAN L")


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("gan", PEER_GANS)
@pytest.mark.parametrize("peer", peers.PEERS)
def test_peer(benchmark, peer, gan, batch):
    """The peer's float32 step in its subprocess; fastgan's numba step timed here."""
    steps, repeats = (2, 1) if benchmark.disabled else (10, 5)
    result = peers.run_peer(peer, GANS[gan], batch, steps, repeats)
    if result["status"] == "not installed":
        pytest.skip(f"{peer} is not installed for {peers.peer_python()}")
    assert result["status"] == "ok", result["status"]
    benchmark.group = f"peers GAN {gan} batch {batch}"
    engine = make_engine(GANS[gan], "float32", batch, "numba")
    data, idxs = step_data(GANS[gan], "float32", batch)
    with thread_settings("numba"):
        train_steps(engine, data, idxs, 1)
        benchmark(train_steps, engine, data, idxs, 1)
    if benchmark.stats is not None:
        sec = benchmark.stats.stats.min
        benchmark.extra_info.update(
            peer=f"{peer} {result['version']}", batch=batch, peer_ms=result["ms_per_step"],
            fastgan_ms=1e3 * sec, images_per_s=batch / sec,
            fastgan_speed_ratio=result["ms_per_step"] / (1e3 * sec))
