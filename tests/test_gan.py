"""The GAN class: the NumPy tutorial's script runs unchanged, and the modern API behaves."""
import math
import os
import re
import warnings

import numpy as np
import pytest

import fastgan
from fastgan import GAN
from fastgan.train import TrainingDiverged
from helpers import FEATURES, uniform_data
from helpers import small_gan as tiny_gan


def small_gan(**changes):
    """The shared tiny GAN, trained for 2 epochs unless told otherwise."""
    return tiny_gan(**{"epochs": 2, **changes})


@pytest.fixture(scope="module")
def data():
    """200 samples in [-1, 1]: 3 steps of 64 per epoch."""
    return uniform_data()


@pytest.fixture(scope="module")
def mnist():
    (x_train, y_train), _ = fastgan.datasets.load_data()
    return x_train, y_train


# --- the tutorial's script --------------------------------------------------------------
def test_tutorial_script_runs_unchanged(mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    x_train, y_train = mnist
    model = GAN([3], epochs=2, display_epochs=1)
    J_Ds, J_Gs = model.train(x_train, y_train)

    steps = int(np.sum(y_train == 3)) // 64
    assert len(J_Ds) == len(J_Gs) == 2 * steps
    for losses in (J_Ds, J_Gs):
        assert all(isinstance(v, float) and math.isfinite(v) for v in losses)
    assert sorted(os.listdir(tmp_path)) == ["GAN.gif", "GAN_sample_images"]
    images = tmp_path / "GAN_sample_images"
    assert sorted(os.listdir(images)) == ["GAN_epoch0.png", "GAN_epoch1.png"]
    assert (images / "GAN_epoch0.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "GAN.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    number = r"(\d+\.\d{4})"
    lines = re.findall(rf"^Epoch:(\d+)\|G loss:{number}\|D loss:{number}\|D\(G\(z\)\)avg:"
                       rf"{number}\|D\(x\)avg:{number}\|LR:(\S+)$", capsys.readouterr().out, re.M)
    assert [line[0] for line in lines] == ["0", "1"]
    # the losses printed are the epoch's last step's; the rate is the one it trained with
    assert float(lines[1][1]) == pytest.approx(J_Gs[-1], abs=1e-4)
    assert float(lines[1][2]) == pytest.approx(J_Ds[-1], abs=1e-4)
    assert float(lines[0][5]) == 1e-3 and float(lines[1][5]) == 1e-3  # epoch 0 divides by 1
    assert 0 < float(lines[1][4]) < 1 and 0 < float(lines[1][3]) < 1


def test_tutorial_grid_is_4x4_of_the_last_batchs_fakes(mnist, tmp_path):
    from PIL import Image
    x_train, y_train = mnist
    model = GAN([3], epochs=1, display_epochs=1, out_dir=tmp_path, gif_path=tmp_path / "a.gif",
                backend="numpy", verbose=False)
    model.train(x_train[:1000], y_train[:1000])
    grid = np.asarray(Image.open(tmp_path / "GAN_epoch0.png").convert("L"))
    fakes = model.engine.last_batch()[0][:16]
    expected = np.round((np.clip(fakes, -1, 1) + 1) * 127.5).astype(np.uint8)
    assert grid.shape == (4 * 115, 4 * 115)  # 4x4 tiles of 28 with 1-pixel gutters, 4x zoom
    np.testing.assert_array_equal(grid[:112:4, :112:4], expected[0].reshape(28, 28))


def test_tutorial_gan_sums_its_gradients_and_the_modern_api_means_them():
    assert GAN([3]).config.loss_reduction == "sum"
    assert GAN(g_layers=[4, 8, 784], d_layers=[784, 8, 1]).config.loss_reduction == "mean"
    assert GAN([3], loss_reduction="mean").config.loss_reduction == "mean"


def test_summed_gradients_are_batch_times_the_mean_ones(data):
    grads = {}
    for reduction in ("mean", "sum"):
        gan = small_gan(loss_reduction=reduction, backend="numpy")
        losses = gan.train_step(data[:64])
        grads[reduction] = (gan.engine.D.grads.copy(), losses)
    # D's step starts from the same weights either way (G's then sees differently updated Ds)
    np.testing.assert_allclose(grads["sum"][0], 64 * grads["mean"][0], rtol=1e-10, atol=1e-12)
    assert grads["sum"][1][0] == pytest.approx(grads["mean"][1][0])  # losses are means


def test_tutorial_architecture_is_100_128_784_and_784_128_1():
    shapes = {k: v.shape for k, v in GAN([3], backend="numpy").state_dict().items()}
    assert shapes == {"G.w0": (100, 128), "G.b0": (128,), "G.w1": (128, 784), "G.b1": (784,),
                      "D.w0": (784, 128), "D.b0": (128,), "D.w1": (128, 1), "D.b1": (1,)}


def test_tutorial_defaults_are_sgd_with_decay():
    c = GAN([3]).config
    assert (c.optimizer, c.learning_rate, c.decay_rate, c.batch_size, c.epochs) == \
        ("sgd", 1e-3, 1e-4, 64, 100)
    assert (c.g_activation, c.g_output, c.d_activation) == ("relu", "tanh", "leaky_relu")


def test_create_gif_false_writes_no_gif(mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x_train, y_train = mnist
    model = GAN([3], epochs=1, display_epochs=1, create_gif=False,
                g_layers=[4, 8, 784], d_layers=[784, 8, 1], backend="numpy", verbose=False)
    model.train(x_train[:1000], y_train[:1000])
    assert os.listdir(tmp_path) == ["GAN_sample_images"]
    assert os.listdir(tmp_path / "GAN_sample_images") == ["GAN_epoch0.png"]


@pytest.mark.parametrize("numbers, text", [([], "empty"), ([3, 10], r"\[10\]")])
def test_train_rejects_empty_or_absent_digits(mnist, tmp_path, numbers, text):
    x_train, y_train = mnist
    model = GAN(numbers, epochs=1, out_dir=tmp_path, backend="numpy")
    with pytest.raises(ValueError, match=text):
        model.train(x_train[:500], y_train[:500])
    assert os.listdir(tmp_path) == []


# --- the modern API ---------------------------------------------------------------------
def test_fit_returns_the_history_and_writes_no_files(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gan = small_gan()
    history = gan.fit(data)
    assert set(history) == {"d_loss", "g_loss"}
    assert len(history["d_loss"]) == len(history["g_loss"]) == 2 * (200 // 64)
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    gan.generate(4)
    assert os.listdir(tmp_path) == []


def test_fit_accepts_float32_data(data):
    assert len(small_gan(epochs=1).fit(data.astype(np.float32))["d_loss"]) == 3


def test_generate_shape_and_tanh_range(data):
    gan = small_gan()
    gan.fit(data)
    x = gan.generate(50)
    assert x.shape == (50, FEATURES)
    assert np.all(np.abs(x) <= 1)


def test_generate_dtype_follows_config():
    assert small_gan(dtype="float32").generate(3).dtype == np.float32
    assert small_gan(dtype="float64").generate(3).dtype == np.float64


def test_generate_with_seed_is_reproducible_and_without_is_fresh():
    gan = small_gan()
    np.testing.assert_array_equal(gan.generate(5, seed=3), gan.generate(5, seed=3))
    assert not np.array_equal(gan.generate(5, seed=3), gan.generate(5, seed=4))
    assert not np.array_equal(gan.generate(5), gan.generate(5))


@pytest.mark.parametrize("n", [0, -1])
def test_generate_rejects_non_positive_n(n):
    with pytest.raises(ValueError, match=f"n={n}"):
        small_gan().generate(n)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_generate_names_a_bad_seed(seed):
    with pytest.raises(ValueError, match=re.escape(f"seed={seed!r} must be an int >= 0")):
        small_gan().generate(2, seed=seed)


def test_state_dict_keys_shapes_and_copies():
    gan = small_gan(g_layers=[4, 8, 12, FEATURES])
    sd = gan.state_dict()
    assert {k: v.shape for k, v in sd.items()} == {
        "G.w0": (4, 8), "G.b0": (8,), "G.w1": (8, 12), "G.b1": (12,), "G.w2": (12, 16),
        "G.b2": (16,), "D.w0": (16, 8), "D.b0": (8,), "D.w1": (8, 1), "D.b1": (1,)}
    before = gan.generate(3, seed=0)
    for v in sd.values():
        v[...] = 0
    np.testing.assert_array_equal(gan.generate(3, seed=0), before)
    assert any(np.any(v != 0) for v in gan.state_dict().values())


def test_fit_again_continues_the_same_run(data):
    once = small_gan()
    once.fit(data, epochs=2)
    twice = small_gan()
    twice.fit(data, epochs=1)
    twice.fit(data, epochs=2)
    assert twice.history == once.history
    _assert_same_params(twice, once)


def test_fit_prefetches_each_next_batch_of_the_epoch(data, monkeypatch):
    """Between a step's D and G updates, the next step's real rows are prefetched: the rows
    that step then gathers, and none past an epoch's last step (the next epoch's order is
    not drawn yet)."""
    gan = small_gan()
    hinted, gathered = [], []
    monkeypatch.setattr(gan.engine, "prefetch", lambda data, idx: hinted.append(idx.copy()))
    d_step = gan.engine.d_step
    monkeypatch.setattr(gan.engine, "d_step",
                        lambda data, idx, labels=None: (gathered.append(idx.copy()),
                                                        d_step(data, idx, labels))[1])
    gan.fit(data, epochs=2)  # 3 steps an epoch
    assert len(gathered) == 6 and len(hinted) == 4
    for hint, rows in zip(hinted, gathered[1:3] + gathered[4:6]):
        np.testing.assert_array_equal(hint, rows)


def test_fit_again_trains_on_the_data_it_is_given(data):
    other = uniform_data(seed=1)
    switched, fresh = small_gan(), small_gan()
    switched.fit(data, epochs=1)
    switched.fit(other, epochs=2)
    fresh.fit(data, epochs=1)
    fresh.trainer.data[...] = other  # the same run from its second epoch on
    fresh.fit(other, epochs=2)
    _assert_same_params(switched, fresh)
    kept = small_gan()
    kept.fit(data, epochs=2)
    assert switched.history["d_loss"][3:] != kept.history["d_loss"][3:]


def test_fit_rejects_data_of_another_shape_when_continuing(data):
    gan = small_gan()
    gan.fit(data, epochs=1)
    with pytest.raises(ValueError, match=r"\(150, 16\).*\(200, 16\)"):
        gan.fit(data[:150], epochs=2)


@pytest.mark.parametrize("epochs", [0, -1, 1.5])
def test_fit_rejects_bad_epochs(data, epochs):
    with pytest.raises((ValueError, TypeError), match="epochs"):
        small_gan().fit(data, epochs=epochs)


# --- seeded determinism -----------------------------------------------------------------
@pytest.mark.parametrize("backend, dtype", [("numpy", "float64"), ("numpy", "float32"),
                                            ("numba", "float64")])
def test_same_seed_same_run(data, backend, dtype):
    runs = []
    for _ in range(2):
        gan = small_gan(backend=backend, dtype=dtype, seed=5, optimizer="adam", dropout=0.2)
        gan.fit(data)
        runs.append(gan)
    a, b = runs
    assert a.history == b.history
    _assert_same_params(a, b)
    np.testing.assert_array_equal(a.trainer.perm, b.trainer.perm)
    np.testing.assert_array_equal(a.generate(4), b.generate(4))
    assert a.engine.rng.bit_generator.state == b.engine.rng.bit_generator.state


def test_backends_start_from_the_same_weights_and_stay_close(data):
    a, b = small_gan(backend="numpy", seed=3), small_gan(backend="numba", seed=3)
    _assert_same_params(a, b)
    a.fit(data, epochs=1)
    b.fit(data, epochs=1)
    # float64 kernel vs twin differ only by the order of the sums (~1e-15 relative per step)
    np.testing.assert_allclose(a.history["d_loss"], b.history["d_loss"], rtol=1e-9)
    np.testing.assert_array_equal(a.trainer.perm, b.trainer.perm)


def test_different_seed_differs(data):
    a, b = small_gan(seed=1), small_gan(seed=2)
    assert not np.array_equal(a.state_dict()["G.w0"], b.state_dict()["G.w0"])
    a.fit(data, epochs=1)
    b.fit(data, epochs=1)
    assert a.history != b.history
    assert not np.array_equal(a.trainer.perm, b.trainer.perm)


# --- bad input ----------------------------------------------------------------------------
BAD_OPTIONS = [
    (dict(g_layers=[4, 8, 15]), ValueError, "g_layers ends in 15"),
    (dict(d_layers=[FEATURES, 8, 2]), ValueError, "must end in 1"),
    (dict(batch_size=0), ValueError, "batch_size=0"),
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(g_layers=[4, 0, FEATURES]), ValueError, "g_layers"),
    (dict(learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(optimizer="adagrad"), ValueError, "optimizer='adagrad'"),
    (dict(loss="kl"), ValueError, "loss='kl'"),
    (dict(g_activation="elu"), ValueError, "g_activation='elu'"),
    (dict(dtype="float16"), ValueError, "dtype='float16'"),
    (dict(backend="torch"), ValueError, "backend='torch'"),
    (dict(threads=0), ValueError, "threads=0"),
    (dict(threads=100_000), ValueError, "threads=100000"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(display_epochs=0), ValueError, "display_epochs"),
    (dict(leraning_rate=0.1), TypeError, "leraning_rate"),
]


@pytest.mark.parametrize("options, error, text", BAD_OPTIONS)
def test_constructor_rejects_bad_options(options, error, text):
    with pytest.raises(error, match=re.escape(text)):
        small_gan(**options)


def test_tutorial_layer_sizes_are_checked():
    with pytest.raises(ValueError, match="d_layers"):
        GAN([3], hidden_layer_size_d=0)
    with pytest.raises(ValueError, match="image_size"):
        GAN([3], image_size=0)


BAD_DATA = [
    (np.zeros((200, FEATURES + 1)), ValueError, r"\(200, 17\).*\(n, 16\)"),
    (np.zeros((200, 4, 4)), ValueError, r"shape \(200, 4, 4\)"),
    (np.zeros((0, FEATURES)), ValueError, r"n >= 1"),
    (np.zeros((200, FEATURES), np.int64), TypeError, "dtype int64"),
    (np.zeros((200, FEATURES), np.uint16), TypeError, "dtype uint16"),
    (np.full((200, FEATURES), np.nan), ValueError, "NaN"),
    (np.full((200, FEATURES), np.inf), ValueError, "infinite"),
    (np.zeros((63, FEATURES)), ValueError, "fewer than batch_size"),
]


@pytest.mark.parametrize("X, error, text", BAD_DATA)
def test_fit_rejects_bad_data(X, error, text):
    with pytest.raises(error, match=text):
        small_gan().fit(X)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("classes", [0, 3])
def test_fit_keeps_uint8_pixels_and_trains_as_on_scaled_floats(classes, backend):
    """uint8 pixels take the one-call path for a step's inputs (kernels.inputs), floats the
    call-by-call one: the same draws in the same order, so the same run."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (200, FEATURES), dtype=np.uint8)
    labels = rng.integers(0, classes, 200) if classes else None
    on_pixels, on_floats = (small_gan(epochs=2, n_classes=classes, backend=backend)
                            for _ in range(2))
    on_pixels.fit(pixels, labels)
    on_floats.fit(pixels / 127.5 - 1, labels)
    assert on_pixels.trainer.data.dtype == np.uint8
    assert on_pixels.history == on_floats.history
    np.testing.assert_array_equal(on_pixels.engine.G.params, on_floats.engine.G.params)
    np.testing.assert_array_equal(on_pixels.engine.labels, on_floats.engine.labels)


def test_fit_still_works_after_rejecting_bad_data(data):
    gan = small_gan(epochs=1)
    with pytest.raises(ValueError):
        gan.fit(data[:10])
    assert len(gan.fit(data)["d_loss"]) == 3


def test_divergence_stops_with_the_step(data):
    gan = small_gan()
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match="at step 1;"), \
            pytest.warns(UserWarning, match="cannot match"):
        gan.fit(data * 1e300)


def test_float_pixel_values_are_refused_with_the_fix(data):
    pixels = (data + 1) * 127.5
    with pytest.raises(ValueError, match=r"pixel values.*astype\(np.uint8\)"):
        small_gan().fit(pixels)
    with pytest.raises(ValueError, match=r"pixel values"):
        small_gan(batch_size=8).train_step(pixels[:8])


def test_data_beyond_a_bounded_output_warns_once_per_gan(data):
    gan = small_gan(g_output="sigmoid", batch_size=8)
    with pytest.warns(UserWarning, match=r"sigmoid output reaches only \[0, 1\]") as seen:
        for _ in range(3):
            gan.train_step(data[:8])
    assert len(seen) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small_gan(g_output="linear", batch_size=8).train_step(data[:8] * 5)
        small_gan(batch_size=8).train_step(data[:8])


def test_float32_runs_refuse_values_float32_cannot_hold(data):
    with pytest.raises(ValueError, match="beyond float32's range"):
        small_gan(dtype="float32", g_output="linear").fit(data * 1e39)


def test_labels_for_an_unconditional_gan_are_refused(data):
    with pytest.raises(ValueError, match="unconditional.*n_classes=K"):
        small_gan().fit(data, np.zeros(len(data), np.int64))


def test_train_without_numbers_keeps_every_digit(mnist, tmp_path):
    x_train, y_train = mnist
    gan = GAN(epochs=1, batch_size=2000, display_epochs=1, create_gif=False,
              out_dir=str(tmp_path), verbose=False)
    J_Ds, _ = gan.train(x_train, y_train)
    assert len(J_Ds) == len(x_train) // 2000
    assert len(gan.train(x_train, None)[0]) == len(J_Ds)  # labels are not needed
    with pytest.raises(ValueError, match=r"keeps the digits \[3\]: pass the labels"):
        GAN([3], verbose=False).train(x_train, None)


@pytest.mark.parametrize("call, text", [
    (lambda: GAN.from_preset("toy-2d", epochz=3), "unknown option(s) epochz"),
    (lambda: GAN.from_config(small_gan().config, numbrs=[3]), "unknown option(s) numbrs"),
    (lambda: GAN.from_config(small_gan().config, display_epochs=0), "display_epochs=0"),
    (lambda: GAN.from_config("batch_size=8"), "a Config or a dict"),
    (lambda: GAN(3), "numbers=3 must be a list of digits"),
])
def test_builders_name_bad_options(call, text):
    with pytest.raises((TypeError, ValueError), match=re.escape(text)):
        call()


def test_from_config_takes_a_dict_of_fields():
    config = small_gan().config
    assert GAN.from_config(config.to_dict()).config == config


@pytest.mark.parametrize("field, value", [("learning_rate", 5.0), ("batch_size", 32),
                                          ("g_layers", [4, 32, 16])])
def test_a_built_gans_config_refuses_changes_it_would_half_ignore(field, value):
    gan = small_gan()
    before = gan.config.to_dict()
    with pytest.raises(AttributeError, match=re.escape(f"gan.config.replace({field}=...)")):
        setattr(gan.config, field, value)
    assert gan.config.to_dict() == before


def test_the_config_given_stays_the_callers_to_change():
    config = small_gan().config.replace(epochs=3)
    gan = GAN.from_config(config)
    config.epochs = 5  # the caller's own object, not the GAN's copy
    assert gan.config.epochs == 3
    assert GAN.from_config(gan.config.replace(learning_rate=0.5)).config.learning_rate == 0.5


def test_a_loaded_gans_config_is_fixed_too(tmp_path):
    small_gan().save(tmp_path / "g.npz")
    with pytest.raises(AttributeError, match="built GAN"):
        GAN.load(tmp_path / "g.npz").config.epochs = 9


def _assert_same_params(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_tutorial_grids_show_inline_in_a_notebook(mnist, tmp_path, monkeypatch):
    import sys
    import types

    import fastgan.tutorial
    shown = []
    display = types.ModuleType("IPython.display")
    display.Image = lambda filename: filename
    display.display = shown.append
    ipython = types.ModuleType("IPython")
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.setattr(fastgan.tutorial, "_in_notebook", lambda: True)
    x_train, y_train = mnist
    model = GAN([3], epochs=1, display_epochs=1, out_dir=tmp_path, gif_path=tmp_path / "a.gif",
                g_layers=[4, 8, 784], d_layers=[784, 8, 1], backend="numpy", verbose=False)
    model.train(x_train[:1000], y_train[:1000])
    assert shown == [os.path.join(tmp_path, "GAN_epoch0.png")]
