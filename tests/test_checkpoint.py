"""Checkpoints: exact round trips, atomic writes, and hostile files refused without running code."""
import errno
import io
import json
import os
import pickle
import re
import struct
import zipfile

import numpy as np
import pytest

from fastgan import GAN
from fastgan.checkpoint import CheckpointError
from fastgan.fileio import atomic_path
from fastgan.threads import available_cores
from helpers import FEATURES, small_gan, uniform_data


@pytest.fixture(scope="module")
def data():
    return uniform_data()


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """A checkpoint of a one-epoch Adam run, and its members as a dict."""
    path = tmp_path_factory.mktemp("ckpt") / "run.npz"
    gan = small_gan(optimizer="adam")
    gan.fit(data)
    gan.save(path)
    with np.load(path) as z:
        members = {k: z[k] for k in z.files}
    return path, members


# --- round trips ------------------------------------------------------------------------
@pytest.mark.parametrize("options", [dict(optimizer="sgd"), dict(optimizer="adam", dropout=0.3),
                                     dict(dtype="float32", optimizer="adam"),
                                     dict(optimizer="adam", latent_codes=3)])
def test_round_trip_keeps_params_config_and_history(data, tmp_path, options):
    gan = small_gan(**options)
    gan.fit(data)
    gan.save(tmp_path / "a.npz")
    back = GAN.load(tmp_path / "a.npz", verbose=False)
    assert back.config == gan.config
    sa, sb = gan.state_dict(), back.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sb[k].dtype == sa[k].dtype
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)
    np.testing.assert_array_equal(back.generate(4), gan.generate(4))
    back.fit(data)  # the run is complete: this restores its position and trains nothing
    assert back.history == gan.history


def test_decay_rate_left_open_stays_open_in_a_checkpoint(tmp_path):
    small_gan(optimizer="sgd").save(tmp_path / "a.npz")
    config = GAN.load(tmp_path / "a.npz").config
    assert config.decay_rate == 1e-4 and config.replace(optimizer="adam").decay_rate == 0.0


def test_loaded_history_is_the_saved_history(saved):
    path, members = saved
    history = GAN.load(path).history
    assert history["d_loss"] == list(members["d_loss"])
    assert history["g_loss"] == list(members["g_loss"])


def test_untrained_gan_round_trips_and_trains(data, tmp_path):
    gan = small_gan()
    gan.save(tmp_path / "a.npz")
    back = GAN.load(tmp_path / "a.npz")
    assert back.history == {"d_loss": [], "g_loss": []}
    gan.fit(data)
    back.fit(data)
    assert back.history == gan.history


def test_loaded_gan_continues_training(saved, data):
    path, _ = saved
    gan = GAN.load(path)
    gan.fit(data, epochs=2)
    assert len(gan.history["d_loss"]) == 2 * 3
    assert gan.history["d_loss"][:3] == list(saved[1]["d_loss"])
    assert np.isfinite(gan.history["g_loss"]).all()


def test_save_overwrites_and_leaves_no_temp_files(data, tmp_path):
    gan = small_gan()
    gan.save(tmp_path / "a.npz")
    gan.fit(data)
    gan.save(tmp_path / "a.npz")
    assert os.listdir(tmp_path) == ["a.npz"]
    with np.load(tmp_path / "a.npz") as z:
        assert z["d_loss"].shape == (3,)


def test_failed_save_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    path = tmp_path / "a.npz"
    gan = small_gan()
    gan.save(path)
    before = path.read_bytes()
    gan.fit(data)

    def half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        gan.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.npz"]
    assert GAN.load(path).history == {"d_loss": [], "g_loss": []}


# --- hostile and malformed files ----------------------------------------------------------
def write_members(path, members):
    """An uncompressed .npz holding `members` (name -> ndarray or raw .npy bytes)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in members.items():
            if isinstance(value, bytes):
                zf.writestr(f"{name}.npy", value)
            else:
                buf = io.BytesIO()
                np.save(buf, value, allow_pickle=True)
                zf.writestr(f"{name}.npy", buf.getvalue())
    return path


def npy_header(shape, descr="<i8", fortran=False):
    """A version-1.0 .npy header promising `shape`, with no data after it."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode()
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def load_fails(path, *texts):
    with pytest.raises(CheckpointError) as info:
        GAN.load(path)
    message = str(info.value)
    assert "\n" not in message
    for text in texts:
        assert text in message
    return message


def test_missing_file(tmp_path):
    load_fails(tmp_path / "nope.npz", "no such checkpoint")


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", bytes(range(256)) * 40])
def test_random_bytes(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    load_fails(path, str(path))


def test_directory(tmp_path):
    load_fails(tmp_path, str(tmp_path))


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_file(saved, tmp_path, keep):
    full = saved[0].read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(full[:int(len(full) * keep)])
    load_fails(path, str(path))


def test_corrupted_array_bytes(saved, tmp_path):
    full = bytearray(saved[0].read_bytes())
    at = full.find(b"g_params.npy")
    full[at + 200:at + 232] = b"\xff" * 32  # inside g_params' data: the CRC no longer matches
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(full))
    load_fails(path)


@pytest.mark.parametrize("member", ["format", "config", "state", "g_params", "d_v", "d_loss"])
def test_missing_member(saved, tmp_path, member):
    members = {k: v for k, v in saved[1].items() if k != member}
    load_fails(write_members(tmp_path / "m.npz", members), repr(member))


def test_unknown_format(saved, tmp_path):
    members = {**saved[1], "format": np.array("fastgan-checkpoint-99")}
    load_fails(write_members(tmp_path / "f.npz", members), "format")


class _CreatesFile:
    """Unpickling this creates `path`: the proof that a loader ran a pickle."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("member", ["config", "state", "g_params", "perm", "d_loss"])
def test_pickled_member_is_refused_without_running_it(saved, tmp_path, member):
    marker = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = _CreatesFile(marker)
    path = write_members(tmp_path / "p.npz", {**saved[1], member: payload})
    load_fails(path, "object")
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as z:  # the payload is live: a pickle loader runs it
        z[member]
    assert marker.exists()


def test_raw_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "p.npz"
    path.write_bytes(pickle.dumps(_CreatesFile(marker)))
    load_fails(path)
    assert not marker.exists()


@pytest.mark.parametrize("text, expected", [
    ("{", "not valid JSON"),
    ('{"g_layers": [4, 8, 16],}', "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"learning_rat": 0.1}', "learning_rat"),
])
def test_bad_config_text(saved, tmp_path, text, expected):
    path = write_members(tmp_path / "c.npz", {**saved[1], "config": np.array(text)})
    load_fails(path, "bad config", expected)


def _with_config(saved, tmp_path, **changes):
    config = json.loads(str(saved[1]["config"]))
    config.update(changes)
    return write_members(tmp_path / "c.npz", {**saved[1], "config": np.array(json.dumps(config))})


@pytest.mark.parametrize("changes, expected", [
    (dict(unknown_option=1), "unknown_option"),
    (dict(g_layers=[4, 0, FEATURES]), "g_layers"),
    (dict(optimizer="rmsprop"), "optimizer"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(g_layers=[4, 10**6, 10**6, FEATURES]), "parameters"),  # 10^12 weights: too many
    (dict(g_layers=[4, 10**12, FEATURES]), "g_layers"),
    (dict(dtype="float32"), "dtype"),
])
def test_config_that_does_not_fit(saved, tmp_path, changes, expected):
    load_fails(_with_config(saved, tmp_path, **changes), expected)


def test_config_with_absurd_batch_size(saved, tmp_path):
    load_fails(_with_config(saved, tmp_path, batch_size=10**12), "batch_size")


def test_checkpoint_from_a_bigger_machine_loads_with_its_cores(saved, tmp_path):
    # thread counts change speed only, so a checkpoint trained with more cores still loads
    with pytest.warns(UserWarning, match="threads"):
        gan = GAN.load(_with_config(saved, tmp_path, threads=10**6))
    assert gan.config.threads == available_cores()


def test_checkpoint_with_the_former_learning_rate_keys_loads(saved, tmp_path):
    # config g_lr/d_lr and state lr_g/lr_d, as written before the learning rate had one name
    config = json.loads(str(saved[1]["config"]))
    config["g_lr"], config["d_lr"] = 3e-3, config.pop("d_learning_rate")
    del config["g_learning_rate"]
    state = json.loads(str(saved[1]["state"]))
    state["lr_g"], state["lr_d"] = state.pop("g_learning_rate") / 2, state.pop("d_learning_rate")
    members = {**saved[1], "config": np.array(json.dumps(config)),
               "state": np.array(json.dumps(state))}
    gan = GAN.load(write_members(tmp_path / "old.npz", members))
    assert (gan.config.g_learning_rate, gan.config.d_learning_rate) == (3e-3, None)
    assert gan.engine.opt["G"].learning_rate == json.loads(str(saved[1]["state"]))[
        "g_learning_rate"] / 2


@pytest.mark.parametrize("member, value, expected", [
    ("g_params", np.zeros(5), "shape"),
    ("g_params", np.zeros((2, 92)), "shape"),
    ("d_m", np.zeros(3), "shape"),
    ("g_params", None, "dtype"),  # filled in below: the right shape as float32
    ("perm", np.zeros(4), "dtype"),
    ("d_loss", np.zeros((2, 2)), "shape"),
    ("config", np.array(["{}", "{}"]), "text"),
    ("config", np.array(5), "text"),
])
def test_array_that_does_not_fit_the_config(saved, tmp_path, member, value, expected):
    if value is None:
        value = saved[1][member].astype(np.float32)
    load_fails(write_members(tmp_path / "a.npz", {**saved[1], member: value}), member, expected)


def test_fortran_ordered_array(saved, tmp_path):
    members = dict(saved[1])
    members["d_loss"] = npy_header((3,), "<f8", fortran=True) + bytes(24)
    load_fails(write_members(tmp_path / "f.npz", members), "Fortran")


@pytest.mark.parametrize("shape", [(2**40,), (10**9,), (-5,)])
def test_header_promising_a_huge_or_negative_shape(saved, tmp_path, shape):
    members = {**saved[1], "perm": npy_header(shape)}
    load_fails(write_members(tmp_path / "h.npz", members), "perm")


@pytest.mark.parametrize("shape", [(2**63,), (10**30,)])
def test_header_promising_a_shape_beyond_int64(saved, tmp_path, shape):
    members = {**saved[1], "perm": npy_header(shape)}
    load_fails(write_members(tmp_path / "h.npz", members), "absurd")


def _patch_central_directory(path, offset, value):
    """Set a 2-byte field of every central-directory entry of the zip at `path`."""
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        struct.pack_into("<H", raw, at + offset, value)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("offset, value", [(10, 99), (8, 1)],
                         ids=["unknown compression", "encrypted"])
def test_zip_features_we_cannot_read(saved, tmp_path, offset, value):
    path = tmp_path / "z.npz"
    path.write_bytes(saved[0].read_bytes())
    load_fails(_patch_central_directory(path, offset, value))


def _with_state(saved, tmp_path, **changes):
    state = json.loads(str(saved[1]["state"]))
    state.update(changes)
    return write_members(tmp_path / "s.npz", {**saved[1], "state": np.array(json.dumps(state))})


@pytest.mark.parametrize("changes", [
    dict(g_learning_rate="fast"), dict(d_learning_rate=float("nan")), dict(t_g=-1),
    dict(epoch=1.5), dict(step=True), dict(g_learning_rate=-5.0),
    dict(rng="seed"), dict(rng={"bit_generator": "MT19937"}), dict(sample_rng=None),
])
def test_bad_run_state(saved, tmp_path, changes):
    load_fails(_with_state(saved, tmp_path, **changes), "bad run state")


@pytest.mark.parametrize("member", ["g_params", "d_v"])
def test_non_finite_parameters_are_refused(saved, tmp_path, member):
    value = saved[1][member].copy()
    value[1] = np.nan
    load_fails(write_members(tmp_path / "n.npz", {**saved[1], member: value}),
               f"{member} holds NaN")


@pytest.mark.parametrize("where", ["writing", "making the folder"])
def test_a_write_that_fails_names_its_target_and_leaves_nothing(tmp_path, monkeypatch, where):
    target = tmp_path / "sub" / "x.png"
    if where == "making the folder":
        (tmp_path / "sub").write_text("a file where the folder should be")
    with pytest.raises(OSError, match=f"cannot write {re.escape(str(target))}: "):
        with atomic_path(target) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", tmp)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub"]


def test_a_save_that_cannot_land_names_its_target(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError, match=f"cannot write {re.escape(str(tmp_path / 'taken'))}"):
        small_gan().save(tmp_path / "taken")
    assert os.listdir(tmp_path) == ["taken"] and not os.listdir(tmp_path / "taken")


def test_extra_state_may_not_replace_the_runs_own(data, tmp_path):
    gan = small_gan()
    with pytest.raises(ValueError, match="may not replace the run's own step"):
        gan.save(tmp_path / "a.npz", extra_state={"step": 99, "note": "x"})
    assert not (tmp_path / "a.npz").exists()
    gan.save(tmp_path / "a.npz", extra_state={"note": "x", "seconds": 1.5})
    assert GAN.load(tmp_path / "a.npz").extra_state == {"note": "x", "seconds": 1.5}
    assert small_gan().extra_state == {}


def test_the_run_state_list_names_what_a_checkpoint_packs():
    from fastgan.resume import RUN_STATE, pack_run
    assert set(pack_run(small_gan())[1]) == set(RUN_STATE)  # so extra_state is the rest


@pytest.mark.parametrize("text", ["{", "[]", "null", "{}"])
def test_bad_state_text(saved, tmp_path, text):
    load_fails(write_members(tmp_path / "s.npz", {**saved[1], "state": np.array(text)}), "state")


@pytest.mark.parametrize("field, value", [("state", -1), ("state", 2**200)])
def test_rng_state_out_of_range(saved, tmp_path, field, value):
    rng = json.loads(str(saved[1]["state"]))["rng"]
    rng["state"][field] = value
    load_fails(_with_state(saved, tmp_path, rng=rng), "bad run state")


def test_numpy_int_sizes_can_be_saved(data, tmp_path):
    gan = small_gan(g_layers=list(np.array([4, 8, FEATURES])), batch_size=np.int64(64))
    gan.save(tmp_path / "a.npz")
    assert GAN.load(tmp_path / "a.npz").config == gan.config
