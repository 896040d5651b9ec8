"""Each primitive over a reference GAN's layers: numba vs numpy, checked against each other."""
import functools
import time

import pytest

from fastgan.benchmark import GANS
from fastgan.threads import thread_settings
from kernel_cases import KERNELS, KernelCase
from support import BACKENDS, BATCHES, DTYPES, assert_agree, record

ROUND_BUDGET_S = 1.0  # timed rounds of a case take about this long


@functools.lru_cache(maxsize=None)
def agreement(kernel, gan, batch, dtype):
    """Max relative difference of the backends' outputs on the same inputs (checked)."""
    outs = {}
    for backend in BACKENDS:
        case = KernelCase(kernel, GANS[gan], batch, dtype, backend)
        with thread_settings(backend):
            case.run()
        outs[backend] = case.outputs()
    return assert_agree(outs["numba"], outs["numpy"], dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("gan", list(GANS))
@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel(benchmark, peaks, kernel, gan, batch, dtype, backend):
    benchmark.group = f"{kernel} GAN {gan} batch {batch} {dtype}"
    benchmark.extra_info["max_backend_diff"] = agreement(kernel, gan, batch, dtype)
    case = KernelCase(kernel, GANS[gan], batch, dtype, backend)
    with thread_settings(backend) as threads:
        benchmark.extra_info["threads"] = threads
        t0 = time.perf_counter()
        case.run()  # Numba compiles, or loads its cache, on the first call
        case.reset()
        benchmark.extra_info["first_call_s"] = time.perf_counter() - t0
        rounds = _rounds(case)
        benchmark.pedantic(case.run, setup=case.reset, rounds=rounds, warmup_rounds=1)
    record(benchmark, peaks, dtype, batch, case.flops)


def _rounds(case):
    """Enough rounds to fill the budget, at least 5 and at most 2000."""
    t0 = time.perf_counter()
    case.run()
    case.reset()
    return int(min(max(ROUND_BUDGET_S / max(time.perf_counter() - t0, 1e-7), 5), 2000))
