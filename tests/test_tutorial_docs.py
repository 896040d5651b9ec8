"""Each tutorial's command or script in docs/tutorials.md runs (shortened) and draws its
picture; so do the plain-NumPy yardsticks of bench/tutorials/programs.py it is timed
against."""
import glob
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench", "tutorials"))
import doc_scripts  # noqa: E402
import programs  # noqa: E402

from fastgan.datasets import load_data  # noqa: E402

# the picture each block must leave in the folder it runs in
PICTURES = {
    "numpy-tutorial": ["GAN_sample_images/GAN_epoch0.png", "GAN.gif"],
    "adam-tutorial": ["adam-run/samples/*.png", "adam-run/samples.gif"],
    "pytorch-tutorial": ["pytorch-run/samples/*.png"],
    "toy-2d-tutorial": ["toy-2d-run/samples/*.png"],
    "toy-1d-tutorial": ["toy_1d.png"],
}


def test_the_page_has_a_block_for_every_tutorial():
    assert sorted(doc_scripts.scripts()) == sorted(PICTURES)


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_tutorial_block_runs_and_draws(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lang, code = doc_scripts.scripts()[name]
    doc_scripts.run(lang, doc_scripts.shortened(lang, code, 2), tmp_path / "script.py")
    for pattern in PICTURES[name]:
        found = glob.glob(pattern)
        assert found and all(os.path.getsize(f) > 0 for f in found), pattern


def test_shortened_sets_the_run_length():
    assert doc_scripts.shortened("python", "GAN(epochs = 100)\nfor s in range(400):", 2) == \
        "GAN(epochs=2)\nfor s in range(2):"
    assert doc_scripts.shortened("bash", "fastgan train --preset x --epochs 50 -lr 1", 3) == \
        "fastgan train --preset x -lr 1 --steps 3"
    assert doc_scripts.shortened("bash", "fastgan train --epochs 50", 1, "epochs") == \
        "fastgan train --epochs 1"


def test_plain_numpy_programs_draw_the_tutorials_pictures(tmp_path):
    (x, y), _ = load_data()
    programs.numpy_tutorial(x, y, tmp_path, epochs=1)
    assert sorted(os.listdir(tmp_path)) == ["GAN.gif", "GAN_epoch0.png"]
    programs.toy_1d_tutorial(tmp_path / "toy_1d.png", steps=3)
    programs.toy_2d_tutorial(tmp_path, epochs=1)
    assert (tmp_path / "toy_1d.png").exists() and (tmp_path / "gen_data_0.png").exists()
    G = programs.pytorch_tutorial(np.zeros((64, 784)), tmp_path, epochs=1)  # 2 steps
    assert (tmp_path / "generated_image_samples_0.png").exists()
    assert {p.dtype for p in G.params()} == {np.dtype(np.float32)}  # PyTorch's default
