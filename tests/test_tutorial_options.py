"""What the tutorials need of fastgan: uniform noise, a step learning-rate schedule, decay under
Adam, runs counted in steps, one step at a time, the PyTorch tutorial's flags, the presets,
and the 1-D figure and toy scatters that fit the data."""
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from fastgan import Config, plots
from fastgan.checkpoint import _parse_config
from fastgan.cli import main
from fastgan.presets import preset
from helpers import small_gan, uniform_data


def test_uniform_noise_fills_minus_one_to_one():
    gan = small_gan(noise="uniform")
    gan.train_step(uniform_data()[:64])
    z = gan.engine.z
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.9 and z.max() > 0.9
    normal = small_gan()
    normal.train_step(uniform_data()[:64])
    assert np.abs(normal.engine.z).max() > 1.5  # 256 normal draws: one past 1.5 is certain


def test_learning_rate_schedule_cuts_the_rate_from_its_epoch():
    gan = small_gan(optimizer="adam", learning_rate=1e-3, learning_rate_schedule=[[2, 0.01]],
                    epochs=3)
    rates = []
    gan.fit(uniform_data(), on_epoch=lambda tr: rates.append(gan.engine.opt["G"].learning_rate))
    assert rates == pytest.approx([1e-3, 1e-5, 1e-5])


def test_decay_rate_applies_under_adam_and_defaults_to_none_there():
    assert small_gan(optimizer="adam").config.decay_rate == 0.0
    assert small_gan().config.decay_rate == 1e-4
    gan = small_gan(optimizer="adam", decay_rate=0.5, epochs=3)
    gan.fit(uniform_data())
    assert gan.engine.opt["D"].learning_rate == pytest.approx(1e-3 / (1 * 1.5 * 2.0))


def test_checkpoints_from_before_keep_adam_undecayed():
    old = Config(optimizer="adam", decay_rate=1e-4)
    values = json.loads(old.to_json())
    del values["loss_reduction"], values["noise"], values["learning_rate_schedule"]
    assert _parse_config("x.npz", json.dumps(values)).decay_rate == 0.0


@pytest.mark.parametrize("schedule", [[[0, 0.1]], [[3, 0]], [3, 0.1], "3:0.1"])
def test_bad_schedule_is_named(schedule):
    with pytest.raises((ValueError, TypeError), match="learning_rate_schedule"):
        Config(learning_rate_schedule=schedule)


def test_fit_stops_at_a_step_count():
    gan = small_gan(epochs=10)
    gan.fit(uniform_data(), steps=4)  # 3 steps an epoch
    assert (gan.trainer.step, gan.trainer.epoch) == (4, 1)
    gan.fit(uniform_data(), steps=5)  # a run total, like epochs
    assert gan.trainer.step == 5


def test_train_step_trains_both_nets_on_your_batch():
    gan = small_gan(d_steps=2)
    before = gan.state_dict()
    d_loss, g_loss = gan.train_step(uniform_data()[:128])  # two D steps of 64
    assert isinstance(d_loss, float) and isinstance(g_loss, float)
    after = gan.state_dict()
    assert all(not np.array_equal(before[k], after[k]) for k in ("G.w0", "D.w0"))
    assert gan.engine.opt["D"].t == 0 and gan.history["d_loss"] == []  # fit's run untouched


def test_train_step_scales_uint8_pixels_like_fit():
    """uint8 images train exactly as the same images scaled to [-1, 1] do."""
    from fastgan import GAN
    from fastgan.data.sources import scale_images
    pixels = np.random.default_rng(3).integers(0, 256, (64, 784), dtype=np.uint8)
    raw, scaled = (GAN(batch_size=64, seed=1, verbose=False) for _ in range(2))
    assert raw.train_step(pixels) == scaled.train_step(scale_images(pixels))
    assert all(np.array_equal(a, b) for a, b in zip(raw.state_dict().values(),
                                                    scaled.state_dict().values()))


def test_train_step_wants_one_batch():
    with pytest.raises(ValueError, match="batch_size"):
        small_gan().train_step(uniform_data()[:10])


def test_pytorch_tutorials_flags_are_accepted(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).uniform(-1, 1, (96, 28, 28)))
    code = main(["train", "--data_dir", f"{tmp_path}/d.npz", "--epochs", "1", "-lr", "2e-3",
                 "--batch_size", "32", "--random_seed", "7", "--g-layers", "4,8,784",
                 "--d-layers", "784,8,1", "--backend", "numpy", "--no-progress",
                 "--out", f"{tmp_path}/run"])
    assert code == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert (config["learning_rate"], config["batch_size"], config["seed"]) == (2e-3, 32, 7)
    code = main(["train", "--learning_rate", "5e-4", "--steps", "2", "--preset", "toy-1d",
                 "--dataset", "bimodal", "--backend", "numpy", "--no-progress",
                 "--out", f"{tmp_path}/run2"])
    assert code == 0
    assert "step 2;" in capsys.readouterr().out


def test_tutorial_presets_hold_their_tutorials_numbers():
    torch = preset("pytorch-tutorial")
    assert (torch["learning_rate"], torch["batch_size"], torch["epochs"]) == (1e-4, 32, 50)
    assert preset("numpy-tutorial")["loss_reduction"] == "sum"
    assert preset("adam-tutorial")["noise"] == "uniform"
    assert preset("adam-tutorial")["learning_rate_schedule"] == [[10, 0.01]]
    toy1 = preset("toy-1d-tutorial")
    assert (toy1["g_layers"], toy1["d_layers"], toy1["g_output"]) == \
        ([4, 16, 16, 1], [1, 16, 16, 1], "sigmoid")
    assert toy1["points"] // toy1["batch_size"] * toy1["epochs"] == 400
    assert preset("toy-2d-tutorial")["points"] == 1000


def test_loss_histogram_draws_the_ln2_line(tmp_path, monkeypatch):
    lines = []
    original = Figure.savefig

    def spy(fig, *args, **kwargs):
        ax = fig.axes[0]
        lines.extend(line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--")
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    plots.save_loss_histogram([1.4, 1.3], [0.7, 0.8], np.array([-2.0, 2.0]), np.zeros(5),
                              tmp_path / "f.png")
    assert lines == [pytest.approx(np.log(2))]
    assert (tmp_path / "f.png").stat().st_size > 0


def test_toy_scatter_fits_each_axis_to_the_data(tmp_path, monkeypatch):
    limits = []
    original = Figure.savefig

    def spy(fig, *args, **kwargs):
        limits.append((fig.axes[0].get_xlim(), fig.axes[0].get_ylim()))
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    x = np.linspace(-5, 5, 200)
    curve = np.stack([x, x ** 2 + 5], axis=1)
    plots.save_toy_plot(curve, None, tmp_path / "p.png", real=curve)
    (x_lo, x_hi), (y_lo, y_hi) = limits[0]
    assert x_hi - x_lo == pytest.approx(12) and y_hi - y_lo == pytest.approx(30, rel=1e-3)
