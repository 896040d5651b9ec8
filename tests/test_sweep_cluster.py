"""Sweeps on a real Dask LocalCluster of two worker processes: every trial recorded once,
a killed worker's trial resumed, an interrupted sweep resumed, a diverging trial recorded."""
import json
import os
import signal
import threading
import time

import pytest

from fastgan.cli import main
from fastgan.sweep import SweepFolder, SweepSpec, run_sweep

distributed = pytest.importorskip("distributed", reason='needs pip install ".[sweep]"')
TOY = {"dataset": "bimodal", "epochs": 2}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def _lines(folder):
    with open(os.path.join(folder, "results.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_sweep_records_every_trial_and_goes_on_past_a_diverging_one(client, tmp_path):
    spec = SweepSpec(set={**TOY, "optimizer": "sgd"}, grid={"learning_rate": [1e-3, 1e3]},
                     seeds=2, eval_n=500)
    result = run_sweep(spec, str(tmp_path), client=client, progress=False, say=lambda m: None)
    records = _lines(tmp_path)
    assert sorted(r["id"] for r in records) == [t["id"] for t in result["trials"]]
    status = {r["id"]: (r["options"]["learning_rate"], r["status"]) for r in records}
    assert sorted(status.values()) == [(1e-3, "done")] * 2 + [(1e3, "diverged")] * 2
    for r in records:
        if r["status"] == "done":
            assert r["metrics"]["modes"] == 2
            assert os.path.exists(os.path.join(tmp_path, "trials", r["id"], "checkpoint.npz"))
        else:
            assert "loss became nan" in r["error"]
    csv_rows = (tmp_path / "results.csv").read_text().splitlines()
    assert len(csv_rows) == 5 and csv_rows[0].startswith("id,dataset,epochs,optimizer,")
    assert (tmp_path / "report.png").stat().st_size > 0
    assert "| 0.001 | 0 | done |" in result["report"]


def test_a_killed_worker_costs_no_trial(client, tmp_path):
    spec = SweepSpec(set={"dataset": "bimodal", "minutes": 0.1}, seeds=4, eval_n=500)
    done = {}
    sweep = threading.Thread(target=lambda: done.update(run_sweep(
        spec, str(tmp_path), client=client, checkpoint_seconds=0, progress=False,
        say=lambda m: None)))
    sweep.start()
    killed = _kill_a_worker_mid_trial(client, tmp_path)
    sweep.join(timeout=240)
    assert not sweep.is_alive()
    records = _lines(tmp_path)
    assert sorted(r["id"] for r in records) == [t["id"] for t in done["trials"]]
    assert all(r["status"] == "done" for r in records), records
    resumed = next(r for r in records if r["id"] == killed)
    assert resumed["resumed_from_step"] > 0   # from the checkpoint the killed worker left


def _kill_a_worker_mid_trial(client, folder, timeout=60):
    """SIGKILL the process of a worker running a trial that has a checkpoint; its trial id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = client.run(os.getpid)
        running = client.run(lambda dask_worker: [ts.key for ts in dask_worker.state.executing])
        for address, keys in running.items():
            for key in keys:
                trial = key.removeprefix("fastgan-trial-").rsplit("-", 1)[0]
                if os.path.exists(os.path.join(folder, "trials", trial, "checkpoint.npz")):
                    os.kill(pids[address], signal.SIGKILL)
                    return trial
        time.sleep(0.2)
    raise AssertionError("no trial wrote a checkpoint in time")


def test_resume_after_an_interrupted_sweep_runs_only_what_is_missing(client, tmp_path):
    spec = SweepSpec(set=TOY, grid={"loss": ["hinge", "least-squares"]}, seeds=2, eval_n=500)

    def interrupt(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, str(tmp_path), client=client, progress=False, on_record=interrupt,
                  say=lambda m: None)
    first = {r["id"] for r in _lines(tmp_path)}
    assert len(first) == 1
    result = run_sweep(None, str(tmp_path), resume=True, client=client, progress=False,
                       say=lambda m: None)
    ran = {r["id"] for r in result["ran"]}
    every = {t["id"] for t in result["trials"]}
    assert ran == every - first and len(every) == 4
    assert sorted(r["id"] for r in _lines(tmp_path)) == sorted(every)
    again = run_sweep(None, str(tmp_path), resume=True, client=client, progress=False,
                      say=lambda m: None)
    assert again["ran"] == []


def test_cli_sweep_on_its_own_local_cluster_and_report(tmp_path, capsys):
    out = str(tmp_path / "s")
    assert main(["sweep", "--dataset", "bimodal", "--epochs", "1", "--grid",
                 "loss=hinge,wasserstein", "--eval-n", "500", "--workers", "2", "--out", out,
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "2 of 2 trials on 2 Dask workers (1 thread per trial)" in text
    assert "| hinge | 0 | done |" in text and "2 trials run" in text
    os.remove(os.path.join(out, "report.png"))
    assert main(["sweep", "--report", out]) == 0
    assert "| wasserstein | 0 | done |" in capsys.readouterr().out
    assert os.path.exists(os.path.join(out, "report.png"))
    assert len(SweepFolder(out).records) == 2
