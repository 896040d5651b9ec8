"""The benchmark suite (pytest-benchmark); run it apart from the tests: `pytest bench/`.

    pytest bench/                            # everything, with timings (minutes)
    pytest bench/ -k "step and L"            # a subset
    pytest bench/ --benchmark-disable -x     # correctness only: each case once, backends compared
    pytest bench/ --benchmark-json out.json  # keep the numbers, extra_info included

Each case puts images_per_s, gflops and peak_fraction (of this run's GEMM peak for its
dtype) into benchmark.extra_info; a summary of them closes the run. Cases are grouped so
that numba and numpy appear side by side. Defaults set here (a flag given on the command
line wins): sort by name, columns min, median, rounds.
"""
import pytest

from support import Peaks

# pytest-benchmark's default of each option, and ours
_DEFAULTS = {"benchmark_sort": ("min", "name"),
             "benchmark_columns": (None, ["min", "median", "rounds"])}


def pytest_configure(config):
    # runs before pytest-benchmark's own pytest_configure (trylast) reads these options
    for option, (default, ours) in _DEFAULTS.items():
        if getattr(config.option, option, None) == default:
            setattr(config.option, option, ours)


@pytest.fixture(scope="session")
def peaks():
    return Peaks()


def pytest_terminal_summary(terminalreporter, config):
    """One line per timed case with the figures pytest-benchmark's table leaves out."""
    session = getattr(config, "_benchmarksession", None)
    timed = [b for b in (session.benchmarks if session else []) if "images_per_s" in b.extra_info]
    if not timed:
        return
    tr = terminalreporter
    tr.section("images/s, GFLOP/s and % of GEMM peak (best round)")
    for b in sorted(timed, key=lambda b: b.fullname):
        info = b.extra_info
        line = f"{b.name:<58} {info['images_per_s']:>10.0f} images/s"
        if "gflops" in info:
            line += f" {info['gflops']:>7.1f} GFLOP/s {100 * info['peak_fraction']:>5.1f}% peak"
        if "fastgan_speed_ratio" in info:
            line += f"  fastgan {info['fastgan_speed_ratio']:.2f}x vs {info['peer']}"
        tr.write_line(line)
