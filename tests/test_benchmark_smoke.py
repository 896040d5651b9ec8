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
    rows = peers.peer_rows({"adam": TINY}, (8,), 2, threads=1, python=sys.executable,
                           say=lambda m: None)
    assert [r["status"] for r in rows] == ["not installed"] * len(peers.PEERS)
    plan = {**results["plan"], "peer_rounds": 2}
    table = format_table({**results, "plan": plan, "peers": rows})
    for engine in peers.PEERS:  # each row names what is missing
        assert f"not installed ({engine}: No module named '{engine}')" in table


class FakeWorker:
    """A served script whose ms per step are scripted per engine; logs each turn."""
    turns = []
    ms = {}

    def __init__(self, engine, spec, batch, threads=None, python=None):
        self.engine, self.info = engine, {"status": "ready", "version": "0"}
        self.ready = True
        self.script = iter(self.ms[engine])

    def run(self, steps):
        self.turns.append((self.engine, steps))
        ms = next(self.script)
        if ms is None:
            raise peers.PeerFailed("failed: RuntimeError: out of memory")
        return steps * ms / 1e3

    def close(self):
        pass


def test_peers_take_turns_with_fastgan_in_rotating_order(monkeypatch):
    """fastgan's first runs set the steps of a turn; every engine then runs one untimed
    turn and one turn per round, in an order that rotates; each ratio is the peer's ms
    over fastgan's in the same round, and the row gives their medians."""
    monkeypatch.setattr(peers, "TURN_S", 0.01)
    FakeWorker.turns = []
    # fastgan: 1 step at 1 ms (too short), then 10 steps at 2 ms; then an untimed turn each
    FakeWorker.ms = {"fastgan": [1.0, 2.0, 9.0, 2.0, 4.0, 1.0],
                     "torch": [9.0, 6.0, 8.0, 5.0], "jax": [9.0, 3.0, 2.0, 2.0]}
    monkeypatch.setattr(peers, "Worker", FakeWorker)
    rows = peers.peer_rows({"S": TINY}, (8,), 3, say=lambda m: None)
    assert FakeWorker.turns[:2] == [("fastgan", 1), ("fastgan", 10)]
    order = [engine for engine, _ in FakeWorker.turns[2:]]
    assert order == ["jax", "fastgan", "torch"] + ["fastgan", "torch", "jax",
                                                   "torch", "jax", "fastgan",
                                                   "jax", "fastgan", "torch"]
    assert {steps for _, steps in FakeWorker.turns[2:]} == {10}
    torch, jax = rows
    assert torch["round_ratios"] == [3.0, 2.0, 5.0] and torch["fastgan_ratio"] == 3.0
    assert jax["round_ratios"] == [1.5, 0.5, 2.0] and jax["fastgan_ratio"] == 1.5
    assert torch["ms_per_step"] == 6.0 and torch["fastgan_ms"] == 2.0
    assert torch["steps_per_turn"] == 10 and torch["ratio_quartiles"] == [2.5, 4.0]


def test_a_peer_that_stops_mid_race_says_why_and_the_others_go_on(monkeypatch):
    monkeypatch.setattr(peers, "TURN_S", 0.01)
    FakeWorker.turns = []
    FakeWorker.ms = {"fastgan": [2.0, 3.0, 9.0, 2.0, 2.0, 2.0], "torch": [9.0, 6.0, None],
                     "jax": [9.0, 3.0, 3.0, 3.0]}
    monkeypatch.setattr(peers, "Worker", FakeWorker)
    torch, jax = peers.peer_rows({"S": TINY}, (8,), 3, say=lambda m: None)
    assert torch["status"] == "failed: RuntimeError: out of memory"
    assert torch["fastgan_ratio"] is None
    assert jax["status"] == "ok" and jax["round_ratios"] == [1.5, 1.5, 1.5]
    assert [e for e, _ in FakeWorker.turns].count("torch") == 3  # none after it stopped


def test_fastgan_step_script_serves_runs_of_steps():
    worker = peers.Worker("fastgan", TINY, 8, threads=1)
    try:
        assert worker.ready, worker.info
        assert worker.info["first_step_s"] > 0 and worker.info["threads"] == 1
        assert worker.run(3) > 0 and worker.run(2) > 0
        assert worker.last["steps"] == 6  # the untimed first step, then 3 and 2
    finally:
        worker.close()
    assert worker.proc.returncode == 0


def test_a_script_that_fails_says_why():
    worker = peers.Worker("fastgan", dict(TINY, g_layers=[8, 16, 10]), 8, threads=1)
    assert not worker.ready
    assert worker.info["status"].startswith("failed: ValueError: g_layers ends in 10")
    result = peers.run_peer("fastgan", dict(TINY, optimizer="adagrad"), 8, 1, 1, threads=1)
    assert result["status"].startswith("failed: ") and "adagrad" in result["status"]


def test_fresh_process_reaches_a_training_step():
    seconds, inside = peers.run_child(TINY, batch=8, steps=2, threads=1)
    assert seconds > inside["import_s"] + inside["steps_s"]
    assert inside["import_s"] > 0 and inside["steps_s"] > 0
