"""Property-based tests: random and mutated bytes to the checkpoint loader.

Whatever the bytes, loading ends in a CheckpointError or a valid GAN: never another
exception, a hang, or an allocation the file's size doesn't justify.
"""
import resource

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastgan import GAN
from fastgan.checkpoint import CheckpointError

FUZZ = settings(max_examples=150, deadline=2000, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    gan = GAN(g_layers=[3, 5, 6], d_layers=[6, 4, 1], batch_size=4, epochs=1, backend="numpy",
              optimizer="adam", seed=0)
    gan.fit(np.random.default_rng(0).uniform(-1, 1, (20, 6)))
    path = tmp_path_factory.mktemp("ckpt") / "valid.npz"
    gan.save(path)
    return path.read_bytes()


def _load(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        gan = GAN.load(path)
    except CheckpointError as e:
        assert str(e) and "\n" not in str(e)
        gan = None
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000, f"loading {len(data)} bytes grew memory by {grown_kb} kB"
    return gan


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path, data):
    _load(tmp_path, data)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)),
                      min_size=1, max_size=8))
def test_mutated_checkpoint(tmp_path, valid_bytes, edits):
    data = bytearray(valid_bytes)
    for pos, value in edits:
        data[pos % len(data)] = value
    gan = _load(tmp_path, bytes(data))
    if gan is not None:  # a mutation the loader accepted must still give a working GAN
        assert gan.generate(2).shape == (2, 6)


@FUZZ
@given(cut=st.integers(min_value=0))
def test_truncated_checkpoint(tmp_path, valid_bytes, cut):
    _load(tmp_path, valid_bytes[:cut % len(valid_bytes)])
