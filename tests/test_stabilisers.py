"""Each stabiliser and loss does what it says, seen from outside the engine."""
import numpy as np
import pytest

from fastgan import GAN
from fastgan.engine import LOSS_HEADS, draw_latent

F = 6
X = np.random.default_rng(0).uniform(-1, 1, (64, F))
Y = np.random.default_rng(1).integers(0, 3, 64)


def gan(**options):
    base = dict(g_layers=[3, 8, F], d_layers=[F, 8, 1], batch_size=8, epochs=1,
                backend="numpy", dtype="float64", optimizer="adam", seed=0)
    return GAN(**{**base, **options})


def test_label_smoothing_lowers_the_real_target_of_d_only():
    plain, smooth = gan(), gan(label_smoothing=0.2)
    assert plain.engine.heads[0][1] == 1.0 and smooth.engine.heads[0][1] == pytest.approx(0.8)
    assert smooth.engine.heads[1] == plain.engine.heads[1]  # fake target untouched
    assert smooth.engine.heads[2] == plain.engine.heads[2]  # G's target untouched


def test_ema_keeps_a_running_average_and_sampling_uses_it():
    g = gan(ema=0.9)
    avg = g.engine.G.params.copy()
    real_step = g.engine.g_step

    def step_and_track():
        loss = real_step()
        np.multiply(avg, 0.9, out=avg)
        avg[...] += 0.1 * g.engine.G.params
        return loss
    g.engine.g_step = step_and_track
    g.fit(X)
    np.testing.assert_allclose(g.engine.G_ema.params, avg, rtol=1e-12)
    raw = gan(ema=0.9)
    raw.engine.G_ema = None
    raw.engine.G.params[...] = g.engine.G.params
    assert not np.allclose(g.generate(4, seed=0), raw.generate(4, seed=0))


def test_pack_makes_d_judge_groups_of_samples():
    g = gan(pack=4)
    assert g.engine.D.sizes[0] == 4 * F
    g.fit(X)
    assert g.engine.dw.outs[-1].shape == (2 * 8 // 4, 1)  # one logit per group of 4


def test_instance_noise_perturbs_what_d_sees_by_its_std():
    g = gan(instance_noise=0.5, batch_size=64)
    g.fit(X)
    seen = g.engine.x_d[:64, :F]
    noise = seen - X[g.trainer.perm[:64]]  # the one batch of the epoch, in its drawn order
    assert 0.4 < noise.std() < 0.6


def test_dropout_masks_keep_1_minus_p_scaled_up():
    g = gan(dropout=0.25, d_layers=[F, 4000, 1], batch_size=8)
    g.fit(X)
    mask = g.engine.dw.masks[0]
    kept = mask > 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(mask[kept], 1 / 0.75)


def test_separate_learning_rates_reach_each_network():
    g = gan(g_learning_rate=1e-4, d_learning_rate=3e-3)
    assert g.engine.opt["G"].learning_rate == 1e-4 and g.engine.opt["D"].learning_rate == 3e-3


def test_wasserstein_clipping_bounds_every_weight_of_d():
    g = gan(loss="wasserstein", clip=0.01, learning_rate=1e-2)
    g.fit(X)
    assert np.abs(g.engine.D.params).max() <= 0.01 + 1e-15
    assert np.abs(g.engine.G.params).max() > 0.01  # G is not clipped


@pytest.mark.parametrize("loss", list(LOSS_HEADS))
def test_every_loss_trains_to_finite_values(loss):
    g = gan(loss=loss, clip=0.05 if loss == "wasserstein" else 0.0)
    history = g.fit(X)
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()


def test_conditional_generator_follows_its_labels():
    g = gan(n_classes=3)
    g.fit(X, Y)
    a = g.generate(5, labels=0, seed=3)
    b = g.generate(5, labels=2, seed=3)
    assert not np.allclose(a, b)  # same noise, different label
    np.testing.assert_array_equal(a, g.generate(5, labels=[0] * 5, seed=3))
    for labels, text in (([0, 1], r"one int or \(5,\) ints"), (3, r"0\.\.2"),
                         ([0.5] * 5, "ints")):
        with pytest.raises(ValueError, match=text):
            g.generate(5, labels=labels)


def test_latent_codes_give_g_a_one_hot_code_after_its_noise_and_d_never_sees_it():
    g = gan(latent_codes=5, n_classes=3)
    assert g.engine.G.sizes[0] == 3 + 5 + 3 and g.engine.D.sizes[0] == F + 3
    g.fit(X, Y)
    z = g.engine.z
    codes, labels = z[:, 3:8], z[:, 8:]
    np.testing.assert_array_equal(codes.sum(axis=1), 1)
    assert set(np.unique(codes)) == {0.0, 1.0}
    np.testing.assert_array_equal(labels.argmax(axis=1), g.engine.labels[8:])
    assert np.all(z[:, :3] != 0)  # the noise columns are noise


def test_sampling_draws_every_latent_code_and_the_code_steers_g():
    g = gan(latent_codes=4)
    g.fit(X)
    z = draw_latent(np.random.default_rng(0), g.config, np.empty((400, 7)))
    assert sorted(np.unique(z[:, 3:].argmax(axis=1))) == [0, 1, 2, 3]
    other = z.copy()
    other[:, 3:] = np.roll(z[:, 3:], 1, axis=1)
    assert not np.allclose(g.engine.generate(z), g.engine.generate(other))
    assert g.generate(5, seed=1).shape == (5, F)
