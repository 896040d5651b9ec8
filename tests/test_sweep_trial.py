"""One sweep trial on its own: a run folder and an evaluation, resumed after a kill,
divergence and bad data recorded rather than raised."""
import json
import os
import time

import numpy as np

from fastgan.sweep.trial import run_trial

TOY = {"dataset": "bimodal", "epochs": 2}
TIMED = {"dataset": "bimodal", "minutes": 0.01}


def _trial(base=TOY, **options):
    return {"id": "000-test", "options": {**base, **options}, "seed": 0}


def test_trial_trains_evaluates_and_leaves_a_run_folder(tmp_path):
    record = run_trial(_trial(), str(tmp_path), threads=1, eval_n=500)
    assert record["status"] == "done" and record["error"] is None
    assert record["steps"] == 2 * (10000 // 128) and record["resumed_from_step"] == 0
    assert record["metrics"]["dataset"] == "bimodal" and record["metrics"]["n"] == 500
    for name in ("checkpoint.npz", "config.json", "metrics.jsonl", "losses.png"):
        assert (tmp_path / name).exists(), name


def test_a_cut_off_trial_resumes_from_its_checkpoint(tmp_path):
    first = run_trial(_trial(), str(tmp_path), threads=1, eval_n=500)
    # as if the trial had been killed after its checkpoint at epoch 2 of 4
    clock = json.loads((tmp_path / "trial.json").read_text())
    (tmp_path / "trial.json").write_text(json.dumps({**clock, "epochs": 4}))
    record = run_trial(_trial(), str(tmp_path), threads=1, eval_n=500)
    assert record["status"] == "done"
    assert record["resumed_from_step"] == first["steps"]
    assert record["steps"] == 2 * first["steps"]


def test_a_timed_trial_resumes_with_the_time_it_had_left(tmp_path):
    first = run_trial(_trial(TIMED), str(tmp_path), threads=1, eval_n=500)
    assert first["status"] == "done" and first["steps"] > 0
    clock = json.loads((tmp_path / "trial.json").read_text())
    assert clock["minutes"] == 0.01 and clock["trained"] == 0
    # the whole minute budget was trained before the checkpoint: nothing left but the eval
    (tmp_path / "trial.json").write_text(json.dumps(
        {**clock, "trained": 0.6, "attempt_start": time.time() + 60}))
    again = run_trial(_trial(TIMED), str(tmp_path), threads=1, eval_n=500)
    assert again["status"] == "done" and again["metrics"] is not None
    assert again["steps"] == again["resumed_from_step"] == first["steps"]


def test_a_diverging_trial_is_recorded_not_raised(tmp_path):
    record = run_trial(_trial(optimizer="sgd", learning_rate=1e3), str(tmp_path), threads=1)
    assert record["status"] == "diverged"
    assert "loss became nan" in record["error"] and record["metrics"] is None


def test_a_trial_whose_data_does_not_fit_is_recorded_as_failed(tmp_path):
    record = run_trial(_trial(g_layers=[8, 16, 2]), str(tmp_path), threads=1)
    assert record["status"] == "failed"
    assert "the data has 1 features" in record["error"]
    assert not os.path.exists(tmp_path / "checkpoint.npz")


def test_a_trial_on_images_the_evaluation_cannot_judge_is_done_unscored(tmp_path):
    images = tmp_path / "faces.npz"
    np.savez(images, x=np.random.default_rng(0).integers(0, 256, (256, 28, 28), np.uint8))
    trial = {"id": "000-test", "options": {"dataset": str(images), "epochs": 1}, "seed": 0}
    record = run_trial(trial, str(tmp_path / "run"), threads=1, eval_n=500)
    assert record["status"] == "done" and record["steps"] == 4
    assert record["metrics"] is None
    assert record["error"].startswith("not evaluated: dataset=")
