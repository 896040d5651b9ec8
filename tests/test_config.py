"""Config: every field is checked once, with a message that names it; JSON round trips."""
import dataclasses
import json
import re

import numpy as np
import pytest

from fastgan import Config


def test_defaults_are_the_numpy_tutorials_gan():
    c = Config()
    assert (c.g_layers, c.d_layers) == ([100, 128, 784], [784, 128, 1])
    assert (c.optimizer, c.learning_rate, c.decay_rate, c.batch_size) == ("sgd", 1e-3, 1e-4, 64)


def test_json_round_trip_gives_an_equal_config():
    c = Config(g_layers=[4, 8, 16], d_layers=[16, 8, 1], optimizer="adam", g_learning_rate=2e-4,
               dropout=0.3, dtype="float32", backend="numpy", seed=7, threads=1)
    back = Config.from_dict(json.loads(c.to_json()))
    assert back == c


def test_decay_rate_left_open_follows_the_optimizer_through_replace_and_json():
    sgd = Config(optimizer="sgd")
    assert sgd.decay_rate == 1e-4
    assert sgd.replace(optimizer="adam").decay_rate == 0.0
    assert sgd.replace(optimizer="adam").replace(optimizer="sgd").decay_rate == 1e-4
    back = Config.from_dict(json.loads(sgd.to_json()))
    assert back == sgd and back.replace(optimizer="adam").decay_rate == 0.0
    assert json.loads(sgd.to_json())["decay_rate"] is None


@pytest.mark.parametrize("rate", [1e-4, 0.0, 0.5])
def test_a_given_decay_rate_stays_through_replace_and_json(rate):
    given = Config(optimizer="sgd", decay_rate=rate)
    assert given.replace(optimizer="adam").decay_rate == rate
    back = Config.from_dict(json.loads(given.to_json()))
    assert back == given and back.replace(optimizer="adam").decay_rate == rate


def test_a_decay_rate_set_after_building_counts_as_given():
    c = Config(optimizer="adam")
    c.decay_rate = 0.5
    assert c.replace(optimizer="sgd").decay_rate == 0.5
    assert json.loads(c.to_json())["decay_rate"] == 0.5


def test_learning_rate_of_each_net_falls_back_to_learning_rate():
    c = Config(learning_rate=0.1, d_learning_rate=0.3)
    assert (c.net_learning_rate("G"), c.net_learning_rate("D")) == (0.1, 0.3)


def test_from_dict_reads_the_former_learning_rate_keys():
    c = Config.from_dict({"learning_rate": 0.1, "g_lr": 0.2, "d_lr": None})
    assert (c.g_learning_rate, c.d_learning_rate) == (0.2, None)
    assert "g_lr" not in json.loads(c.to_json())


def test_construction_validates_once_and_replace_too():
    with pytest.raises(ValueError, match="batch_size"):
        Config(batch_size=0)
    with pytest.raises(TypeError, match="threads"):
        Config(threads="2")


def test_replace_validates_the_new_value():
    c = Config()
    assert c.replace(batch_size=32).batch_size == 32
    with pytest.raises(ValueError, match="batch_size"):
        c.replace(batch_size=0)


def test_from_dict_rejects_unknown_keys_by_name():
    with pytest.raises(ValueError, match="unknown config option.*learning_rat\\b"):
        Config.from_dict({"learning_rat": 0.1})


@pytest.mark.parametrize("values", [[], "config", 3, None])
def test_from_dict_rejects_non_objects(values):
    with pytest.raises(ValueError, match="JSON object"):
        Config.from_dict(values)


# (field, bad value, exception, text the message must hold)
BAD_FIELDS = [
    ("g_layers", [100], ValueError, "g_layers"),
    ("g_layers", [100, 0, 784], ValueError, "g_layers"),
    ("g_layers", [100, -3, 784], ValueError, "g_layers"),
    ("g_layers", [100, 2.5, 784], ValueError, "g_layers"),
    ("g_layers", "100,128,784", ValueError, "g_layers"),
    ("d_layers", [784, 128, 2], ValueError, "must end in 1"),
    ("d_layers", [784, 0, 1], ValueError, "d_layers"),
    ("g_activation", "swish", ValueError, "g_activation='swish'"),
    ("d_activation", "gelu", ValueError, "d_activation='gelu'"),
    ("g_output", "relu", ValueError, "g_output"),
    ("loss", "bce", ValueError, "loss='bce'"),
    ("optimizer", "rmsprop", ValueError, "optimizer='rmsprop'"),
    ("dtype", "float16", ValueError, "dtype='float16'"),
    ("backend", "cuda", ValueError, "backend='cuda'"),
    ("batch_size", 0, ValueError, "batch_size=0"),
    ("batch_size", -64, ValueError, "batch_size=-64"),
    ("batch_size", 64.0, TypeError, "batch_size"),
    ("batch_size", True, TypeError, "batch_size"),
    ("epochs", 0, ValueError, "epochs=0"),
    ("d_steps", 0, ValueError, "d_steps=0"),
    ("seed", -1, ValueError, "seed=-1"),
    ("latent_codes", -1, ValueError, "latent_codes=-1"),
    ("latent_codes", 2.0, TypeError, "latent_codes"),
    ("latent_codes", 1 << 30, ValueError, "parameters"),
    ("threads", 0, ValueError, "threads=0"),
    ("learning_rate", 0.0, ValueError, "learning_rate"),
    ("learning_rate", -1e-3, ValueError, "learning_rate"),
    ("learning_rate", float("nan"), ValueError, "learning_rate"),
    ("learning_rate", float("inf"), ValueError, "learning_rate"),
    ("learning_rate", "0.1", TypeError, "learning_rate"),
    ("g_learning_rate", -1.0, ValueError, "g_learning_rate"),
    ("d_learning_rate", 0, ValueError, "d_learning_rate"),
    ("decay_rate", -1e-4, ValueError, "decay_rate"),
    ("alpha", -0.2, ValueError, "alpha"),
    ("beta1", 1.0, ValueError, "beta1"),
    ("beta2", -0.1, ValueError, "beta2"),
    ("eps", 0.0, ValueError, "eps"),
    ("dropout", 1.0, ValueError, "dropout"),
    ("dropout", -0.1, ValueError, "dropout"),
]


@pytest.mark.parametrize("field, value, error, text", BAD_FIELDS)
def test_validate_names_the_bad_field(field, value, error, text):
    with pytest.raises(error, match=re.escape(text)):
        Config(**{field: value})


@pytest.mark.parametrize("loss", ["hinge", "wasserstein"])
def test_label_smoothing_without_targets_to_smooth_is_refused(loss):
    with pytest.raises(ValueError, match=f"no target to smooth under loss='{loss}'"):
        Config(loss=loss, label_smoothing=0.1)
    assert Config(loss="least-squares", label_smoothing=0.1).label_smoothing == 0.1


def test_every_field_is_reachable_from_json():
    names = {f.name for f in dataclasses.fields(Config)}
    assert names == set(json.loads(Config().to_json()))


def test_numpy_integers_pass_validation_and_serialize():
    c = Config(g_layers=list(np.array([4, 8, 16])), d_layers=[16, 8, 1],
               batch_size=np.int64(32))
    assert Config.from_dict(json.loads(c.to_json())) == c
