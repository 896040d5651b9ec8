"""Resuming: stop, save, load, continue gives the bit-identical run an uninterrupted one gives."""
import json

import numpy as np
import pytest

from fastgan import GAN
from fastgan.cli import main
from helpers import small_gan, uniform_data

STEPS = 200 // 64  # steps per epoch of the data below
RUNS = {
    "sgd-decay": dict(optimizer="sgd", learning_rate=0.05, decay_rate=0.5),
    "adam-dropout": dict(optimizer="adam", learning_rate=1e-3, dropout=0.3),
}


@pytest.fixture(scope="module")
def data():
    return uniform_data()


def make(backend="numpy", **options):
    return small_gan(epochs=3, dtype="float64", backend=backend, seed=11, **options)


def stop_after(k):
    """A should_stop that asks to stop after k steps."""
    calls = [0]

    def should_stop():
        calls[0] += 1
        return calls[0] == k
    return should_stop


def interrupted_run(data, tmp_path, k, **options):
    """Train k steps, save, load into a new GAN and finish the run."""
    first = make(**options)
    assert first.fit(data, should_stop=stop_after(k)) is not None
    assert first.last_stop == "stopped"
    assert first.trainer.step == k
    first.save(tmp_path / "ckpt.npz")
    resumed = GAN.load(tmp_path / "ckpt.npz", verbose=False)
    resumed.fit(data)
    return resumed


def assert_same_run(a, b):
    assert a.history == b.history
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    for name in ("G", "D"):
        oa, ob = a.engine.opt[name], b.engine.opt[name]
        assert (oa.learning_rate, oa.t) == (ob.learning_rate, ob.t)
        np.testing.assert_array_equal(oa.m, ob.m)
        np.testing.assert_array_equal(oa.v, ob.v)
    assert a.engine.rng.bit_generator.state == b.engine.rng.bit_generator.state
    np.testing.assert_array_equal(a.generate(5), b.generate(5))


@pytest.mark.parametrize("k", [1, STEPS + 2])  # inside the first and the second epoch
@pytest.mark.parametrize("run", list(RUNS))
def test_interrupted_run_matches_uninterrupted(data, tmp_path, run, k):
    whole = make(**RUNS[run])
    whole.fit(data)
    assert_same_run(interrupted_run(data, tmp_path, k, **RUNS[run]), whole)


def test_interrupted_run_matches_uninterrupted_with_numba(data, tmp_path):
    whole = make(backend="numba", **RUNS["adam-dropout"])
    whole.fit(data)
    resumed = interrupted_run(data, tmp_path, STEPS + 1, backend="numba", **RUNS["adam-dropout"])
    assert_same_run(resumed, whole)


def test_sgd_decay_state_survives_the_checkpoint(data, tmp_path):
    gan = make(**RUNS["sgd-decay"])
    gan.fit(data, epochs=2)
    lr = gan.engine.opt["G"].learning_rate
    assert lr == pytest.approx(0.05 / (1 + 0.5 * 0) / (1 + 0.5 * 1))
    gan.save(tmp_path / "a.npz")
    assert GAN.load(tmp_path / "a.npz").engine.opt["G"].learning_rate == lr


@pytest.mark.parametrize("run", list(RUNS))
def test_resume_after_a_finished_epoch(data, tmp_path, run):
    whole = make(**RUNS[run])
    whole.fit(data)
    first = make(**RUNS[run])
    first.fit(data, epochs=1)
    first.save(tmp_path / "a.npz")
    resumed = GAN.load(tmp_path / "a.npz")
    resumed.fit(data)
    assert_same_run(resumed, whole)


def test_resume_after_a_stop_on_the_last_step_of_an_epoch(data, tmp_path):
    whole = make(**RUNS["sgd-decay"])
    whole.fit(data)
    assert_same_run(interrupted_run(data, tmp_path, STEPS, **RUNS["sgd-decay"]), whole)


def test_resume_refuses_other_data(data, tmp_path):
    first = make()
    first.fit(data, should_stop=stop_after(1))
    first.save(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="200 samples but the data has 150"):
        GAN.load(tmp_path / "a.npz").fit(data[:150])


def test_failed_resume_can_be_retried_with_the_right_data(data, tmp_path):
    whole = make()
    whole.fit(data)
    first = make()
    first.fit(data, should_stop=stop_after(1))
    first.save(tmp_path / "a.npz")
    resumed = GAN.load(tmp_path / "a.npz")
    with pytest.raises(ValueError):
        resumed.fit(data[:150])
    resumed.fit(data)
    assert_same_run(resumed, whole)


# --- through the CLI --------------------------------------------------------------------
def cli_args(dataset):
    return ["train", "--dataset", str(dataset), "--backend", "numpy", "--dtype", "float64",
            "--g-layers", "4,8,784", "--d-layers", "784,8,1", "--batch-size", "32",
            "--optimizer", "adam", "--dropout", "0.2", "--no-progress"]


def test_cli_resume_matches_an_uninterrupted_run(images, tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*cli_args(images), "--out", str(whole), "--epochs", "2"]) == 0
    assert main([*cli_args(images), "--out", str(parts), "--epochs", "1"]) == 0
    assert main(["train", "--out", str(parts), "--resume", "--epochs", "2", "--no-progress"]) == 0
    a, b = GAN.load(whole / "checkpoint.npz"), GAN.load(parts / "checkpoint.npz")
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    with np.load(whole / "checkpoint.npz") as za, np.load(parts / "checkpoint.npz") as zb:
        for name in ("d_loss", "g_loss", "g_m", "d_v"):
            np.testing.assert_array_equal(za[name], zb[name], err_msg=name)
    assert json.loads((parts / "config.json").read_text())["epochs"] == 2
    assert "finished at epoch 2, step 12" in capsys.readouterr().out


def test_cli_resume_keeps_the_metrics_of_the_first_part(images, tmp_path):
    out = tmp_path / "run"
    assert main([*cli_args(images), "--out", str(out), "--epochs", "1"]) == 0
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 13))


def test_cli_resume_finds_a_relative_data_file_from_another_folder(images, tmp_path,
                                                                   monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "d.npz").write_bytes(images.read_bytes())
    monkeypatch.chdir(tmp_path / "a")
    args = cli_args("d.npz")
    assert main([*args, "--out", str(tmp_path / "run"), "--epochs", "1"]) == 0
    monkeypatch.chdir(tmp_path / "b")
    assert main(["train", "--out", str(tmp_path / "run"), "--resume", "--epochs", "2",
                 "--no-progress"]) == 0


def test_cli_resume_refuses_changed_options(images, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*cli_args(images), "--out", str(out), "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--lr", "0.1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastgan: error: --resume continues the run") and "learning_rate" in err
    assert main(["train", "--out", str(out), "--resume", "--unconditional"]) == 1
    assert "(unconditional)" in capsys.readouterr().err


def test_cli_resume_takes_a_thread_count_which_changes_no_result(images, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*cli_args(images), "--out", str(whole), "--epochs", "2"]) == 0
    assert main([*cli_args(images), "--out", str(parts), "--epochs", "1"]) == 0
    assert main(["train", "--out", str(parts), "--resume", "--epochs", "2", "--threads", "1",
                 "--no-progress"]) == 0
    a, b = GAN.load(whole / "checkpoint.npz"), GAN.load(parts / "checkpoint.npz")
    assert b.config.threads == 1
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k], err_msg=k)
