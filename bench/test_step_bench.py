"""Whole training steps (d_step then g_step) of the reference GANs, numba vs numpy."""
import functools
import time

import pytest

from fastgan.benchmark import (GANS, STEP_TOL, backend_diff, make_engine, step_data,
                               step_flops, train_steps)
from fastgan.threads import thread_settings
from support import BACKENDS, BATCHES, DTYPES, record


@functools.lru_cache(maxsize=None)
def agreement(gan, batch, dtype, steps=3):
    """Relative parameter difference (norm) after the same seeded steps (checked)."""
    diff, _ = backend_diff(GANS[gan], dtype, batch, steps)
    tol = STEP_TOL[dtype]
    assert diff <= tol, f"backends differ by {diff:.2e} (> {tol:g}) after {steps} steps"
    return diff


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("gan", list(GANS))
def test_step(benchmark, peaks, gan, batch, dtype, backend):
    benchmark.group = f"step GAN {gan} batch {batch} {dtype}"
    benchmark.extra_info["max_backend_diff"] = agreement(gan, batch, dtype)
    spec = GANS[gan]
    engine = make_engine(spec, dtype, batch, backend)
    data, idxs = step_data(spec, dtype, batch)
    with thread_settings(backend) as threads:
        benchmark.extra_info["threads"] = threads
        t0 = time.perf_counter()
        train_steps(engine, data, idxs, 1)  # Numba compiles, or loads its cache
        benchmark.extra_info["first_step_s"] = time.perf_counter() - t0
        benchmark(train_steps, engine, data, idxs, 1)
    record(benchmark, peaks, dtype, batch, step_flops(spec, batch))
