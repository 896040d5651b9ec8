"""The training progress bar: ETA over steps, or a countdown over a time budget."""
import re
import time
from types import SimpleNamespace

from fastgan.progress import Progress

GAN = SimpleNamespace(config=SimpleNamespace(batch_size=8), history={"d_loss": [0.7] * 5})


def drive(bar, steps, pause=0.0):
    for step in range(6, 6 + steps):
        time.sleep(pause)
        bar.update(SimpleNamespace(step=step, epoch=1), 0.5, 0.25)
    bar.close()


def test_epoch_bound_run_shows_steps_and_eta(capsys):
    drive(Progress(GAN, total_steps=20), steps=15)
    last = capsys.readouterr().err.split("\r")[-1]
    assert "20/20" in last and "<00:00" in last  # elapsed<remaining
    assert "epoch 1 D 0.500 G 0.250" in last and "img/s" in last


def test_timed_run_counts_down_to_its_end(capsys):
    drive(Progress(GAN, seconds=60.0), steps=3, pause=0.3)
    out = capsys.readouterr().err
    last = out.split("\r")[-1]
    assert re.search(r"\| 00:5\d left, step 8 epoch 1 D 0.500", last)  # a minute, ~1 s spent
    assert "/60" not in out  # no step count pretending to be a total


def test_disabled_bar_prints_nothing(capsys):
    drive(Progress(GAN, seconds=1.0, enabled=False), steps=2)
    assert capsys.readouterr().err == ""
