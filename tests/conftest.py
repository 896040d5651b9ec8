"""Shared fixtures: the read-only real data sets beside the repository."""
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """Path of ../shared/data (relative to the repo root), holding mnist/ and fashion-mnist/."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.fail(f"the real data sets are missing: expected {SHARED_DATA}/mnist and "
                    f"fashion-mnist (see shared/data/README.md); tests need them")
    return SHARED_DATA
