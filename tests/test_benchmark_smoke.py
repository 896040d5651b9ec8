"""`fastgan bench` still works: run_bench on a tiny GAN, its JSON and table, the peer fallback.

The real suite (`pytest bench/`) is too slow and noisy for CI; this checks its plumbing.
"""
import importlib.util
import json
import sys

import pytest

from fastgan import peers
from fastgan.benchmark import GANS, STEP_TOL, format_table, run_bench, step_flops

TINY = dict(g_layers=[8, 16, 12], d_layers=[12, 16, 1], g_activation="leaky_relu",
            d_activation="leaky_relu", alpha=0.2, dropout=0.3, optimizer="adam",
            learning_rate=1e-3)
TINY_SGD = dict(TINY, g_activation="relu", dropout=0.0, optimizer="sgd")
TINY_CONDITIONAL = dict(TINY, n_classes=3, ema=0.9)  # as the default preset: labels, EMA
TINY_GANS = {"adam": TINY, "sgd": TINY_SGD, "conditional": TINY_CONDITIONAL}


@pytest.fixture(scope="module")
def results():
    # one thread: tiny parallel kernels on a busy machine wait on thread wake-ups
    return run_bench(quick=True, threads=1, gans=TINY_GANS,
                     batches=(8,), steps=2, repeats=1, gemm_size=64, peers=False,
                     startup=False)


def test_results_are_json(results):
    assert json.loads(json.dumps(results)) == results
    assert set(results) >= {"machine", "plan", "gemm_peak_gflops", "cases", "peers"}
    assert set(results["gemm_peak_gflops"]) == {"float32", "float64"}


def test_one_case_per_gan_dtype_and_batch(results):
    cases = {(c["gan"], c["dtype"], c["batch"]) for c in results["cases"]}
    assert cases == {(g, dt, 8) for g in TINY_GANS for dt in ("float32", "float64")}
    for c in results["cases"]:
        assert c["ms_per_step"] > 0 and c["numpy"]["ms_per_step"] > 0
        assert c["numba"]["first_step_s"] > 0
        assert c["images_per_s"] == pytest.approx(8e3 / c["ms_per_step"])
        assert 0 < c["peak_fraction"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backends_agree(results, dtype):
    for c in results["cases"]:
        if c["dtype"] == dtype:
            assert c["diff_ok"] and c["max_backend_diff"] <= STEP_TOL[dtype], c


def test_table_has_a_row_per_case(results):
    lines = format_table(results).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("GAN"))
    assert "ms/step" in lines[header] and "vs numpy" in lines[header]
    rows = lines[header + 1:header + 1 + len(results["cases"])]
    assert [r.split()[:3] for r in rows] == [[c["gan"], c["dtype"], str(c["batch"])]
                                            for c in results["cases"]]


def test_step_flops_counts_three_g_and_eight_d_passes():
    s = GANS["S"]
    g, d = 100 * 128 + 128 * 784, 784 * 128 + 128 * 1
    assert step_flops(s, 64) == 2 * 64 * (3 * g + 8 * d)


def test_step_flops_counts_the_label_inputs_of_a_conditional_gan():
    assert GANS["default"]["n_classes"] == 10
    spec = dict(g_layers=[100, 256, 512, 784], d_layers=[784, 256, 1], n_classes=10)
    g_macs = (100 + 10) * 256 + 256 * 512 + 512 * 784
    d_macs = (784 + 10) * 256 + 256 * 1
    assert step_flops(spec, 64) == 2 * 64 * (3 * g_macs + 8 * d_macs)


@pytest.mark.skipif(any(importlib.util.find_spec(m) for m in peers.PEERS),
                    reason="a peer framework is installed in this interpreter")
def test_missing_peer_says_not_installed(results):
    plan = {"batches": (8,), "steps": 1, "repeats": 1, "peer_rounds": 2}
    turns = []
    rows = peers.peer_rows({"adam": TINY}, plan, lambda spec, batch: turns.append(1) or 1.0,
                           python=sys.executable, say=lambda m: None)
    assert [r["status"] for r in rows] == ["not installed"] * len(peers.PEERS)
    assert len(turns) == 1  # no second round when no peer runs
    table = format_table({**results, "plan": {**results["plan"], **plan}, "peers": rows})
    for engine in peers.PEERS:  # each row names what is missing
        assert f"not installed ({engine}: No module named '{engine}')" in table


def test_peers_take_turns_with_fastgan_round_by_round(monkeypatch):
    """fastgan is timed once per round, before the peers of that round; each ratio is the
    peer's ms over fastgan's in the same round, and the row gives their medians."""
    calls = []
    ours = iter([2.0, 4.0, 1.0])
    theirs = {"torch": iter([6.0, 8.0, 5.0]), "jax": iter([3.0, 2.0, 2.0])}

    def fastgan_ms(spec, batch):
        calls.append("fastgan")
        return next(ours)

    def fake_peer(engine, spec, batch, steps, repeats, threads=None, python=None):
        calls.append(engine)
        return {"status": "ok", "version": "0", "ms_per_step": next(theirs[engine])}
    monkeypatch.setattr(peers, "run_peer", fake_peer)
    plan = {"batches": (8,), "steps": 1, "repeats": 1, "peer_rounds": 3}
    rows = peers.peer_rows({"S": TINY}, plan, fastgan_ms, say=lambda m: None)
    assert calls == ["fastgan", "torch", "jax"] * 3
    torch, jax = rows
    assert torch["round_ratios"] == [3.0, 2.0, 5.0] and torch["fastgan_ratio"] == 3.0
    assert jax["round_ratios"] == [1.5, 0.5, 2.0] and jax["fastgan_ratio"] == 1.5
    assert torch["ms_per_step"] == 6.0 and torch["fastgan_ms"] == 2.0


def test_fresh_process_reaches_a_training_step():
    seconds, inside = peers.run_child(TINY, batch=8, steps=2, threads=1)
    assert seconds > inside["import_s"] + inside["steps_s"]
    assert inside["import_s"] > 0 and inside["steps_s"] > 0
