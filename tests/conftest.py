"""Shared fixtures: MNIST's t10k split, embedded in the package, and the real data sets beside
the repository (../shared/data), which CI has and a plain clone has not.

Tests that need ../shared/data skip with a reason when it is absent; set
FASTGAN_REQUIRE_REAL_DATA=1 (as .ci/run does) to make its absence an error instead.
"""
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST_T10K = REPO / "fastgan" / "data" / "mnist_sample"  # MNIST's official t10k files


@pytest.fixture(scope="session")
def shared_data():
    """Path of ../shared/data (relative to the repo root), holding mnist/ and fashion-mnist/."""
    if not (SHARED_DATA / "mnist").is_dir():
        message = (f"needs the real data sets in {SHARED_DATA} (mnist/ and fashion-mnist/, "
                   f"see shared/data/README.md)")
        if os.environ.get("FASTGAN_REQUIRE_REAL_DATA"):
            pytest.fail(f"FASTGAN_REQUIRE_REAL_DATA is set but this test {message}")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A tiny image data set: 200 random 28x28 uint8 images with labels 0..4."""
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x=rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
             y=rng.integers(0, 5, 200))
    return path


@pytest.fixture(scope="session")
def mnist_t10k():
    """Folder of MNIST's official t10k images and labels (the package's embedded sample)."""
    return MNIST_T10K
