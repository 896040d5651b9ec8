"""`fastgan eval`, `fastgan bench` and `fastgan train --eval-every`, run in-process."""
import json
import signal
import subprocess
import sys

import pytest

import fastgan.benchmark
from fastgan.cli import main

TINY_IMAGE = ["--g-layers", "8,16,784", "--d-layers", "784,16,1", "--no-progress"]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ring") / "run"
    assert main(["train", "--dataset", "ring8", "--epochs", "1", "--out", str(out),
                 "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def digit_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    assert main(["train", "--dataset", "mnist-sample", "--digits", "1", "--epochs", "2",
                 "--eval-every", "1", "--eval-n", "200", "--out", str(out), *TINY_IMAGE]) == 0
    return out


def test_eval_reads_the_toy_set_from_the_run_folder(ring_run, capsys):
    assert main(["eval", str(ring_run / "checkpoint.npz"), "--n", "500", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["modes"] == 8
    assert 0 <= metrics["modes_captured"] <= 8


def test_eval_into_a_closed_pipe_exits_quietly(ring_run):
    proc = subprocess.Popen([sys.executable, "-m", "fastgan.cli", "eval", str(ring_run),
                             "--n", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before eval prints, as with `| head -0`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGPIPE, err
    assert b"rror" not in err


def test_eval_of_a_digit_run_reports_fid_beside_its_floor(digit_run, capsys):
    assert main(["eval", str(digit_run / "checkpoint.npz"), "--n", "300", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert len(metrics["digit_share"]) == 10
    assert metrics["fid"] > metrics["fid_floor"] > 0


@pytest.fixture(scope="module")
def retrained_classifier(tmp_path_factory):
    from fastgan.evaluation import train_classifier
    path = tmp_path_factory.mktemp("clf") / "digits.npz"
    train_classifier(out_path=path, epochs=1, n_train=500)
    return path


def test_eval_judges_by_a_retrained_classifier(digit_run, retrained_classifier, capsys):
    """--classifier swaps the judge: the same samples land in another feature space."""
    scores = []
    for extra in ([], ["--classifier", str(retrained_classifier)]):
        assert main(["eval", str(digit_run), "--n", "300", "--json", *extra]) == 0
        scores.append(json.loads(capsys.readouterr().out))
    assert scores[0]["fid"] != scores[1]["fid"]
    assert scores[1]["fid"] > scores[1]["fid_floor"] > 0


def test_eval_names_a_classifier_it_cannot_use(digit_run, ring_run, retrained_classifier,
                                               tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    assert main(["eval", str(digit_run), "--classifier", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and len(err.strip().splitlines()) == 1
    assert main(["eval", str(ring_run), "--classifier", str(retrained_classifier)]) == 1
    assert "image GANs only" in capsys.readouterr().err


def test_eval_prints_a_report_for_people(digit_run, capsys):
    assert main(["eval", str(digit_run / "checkpoint.npz"), "--n", "300"]) == 0
    out = capsys.readouterr().out
    assert "FID" in out and "real vs real" in out


def test_eval_every_logs_metrics_each_epoch(digit_run):
    lines = [json.loads(l) for l in (digit_run / "metrics.jsonl").read_text().splitlines()]
    evals = [l for l in lines if "eval" in l]
    assert [e["epoch"] for e in evals] == [1, 2]
    assert all("fid" in e["eval"] for e in evals)
    assert (digit_run / "losses.png").stat().st_size > 0


def test_eval_every_refuses_data_the_classifier_cannot_judge(tmp_path, capsys):
    code = main(["train", "--dataset", "ring8", "--epochs", "1", "--eval-every", "0",
                 "--out", str(tmp_path / "r"), "--no-progress"])
    assert code == 1
    assert "--eval-every" in capsys.readouterr().err


def test_eval_and_sample_take_a_run_folder_for_its_checkpoint(digit_run, capsys):
    assert main(["eval", str(digit_run), "--n", "300", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["digit_share"]) == 10
    out = digit_run.parent / "from_folder.npy"
    assert main(["sample", str(digit_run), "--n", "4", "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_eval_of_a_folder_without_a_checkpoint_says_so(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "folder without checkpoint.npz" in err and err.count("\n") == 1


def test_eval_of_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "none.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastgan: error:") and err.count("\n") == 1


def test_bench_prints_json_and_a_table(monkeypatch, capsys):
    real = fastgan.benchmark.run_bench
    tiny = {"tiny": dict(g_layers=[4, 8, 6], d_layers=[6, 8, 1], optimizer="sgd")}

    def small(**kwargs):
        return real(**kwargs, gans=tiny, batches=(4,), steps=2, repeats=1, gemm_size=32,
                    startup=False)
    monkeypatch.setattr(fastgan.benchmark, "run_bench", small)
    assert main(["bench", "--no-peers", "--threads", "1", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert {c["gan"] for c in results["cases"]} == {"tiny"}
    assert main(["bench", "--no-peers", "--threads", "1"]) == 0
    assert "tiny" in capsys.readouterr().out
