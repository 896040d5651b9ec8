"""Image and toy metrics on inputs whose answer is known, and the checkpoint entry point."""
import json

import numpy as np
import pytest
from scipy.linalg import sqrtm

from fastgan.data import TOY_SETS, load_dataset
from fastgan.evaluation import (digit_metrics, evaluate_checkpoint, evaluate_images,
                                evaluate_toy, fid, format_report, frechet_distance,
                                inception_score, parabola_distance)
from fastgan.gan import GAN

MIXTURES = [name for name, toy in TOY_SETS.items() if toy.means is not None]


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist-sample")


def _random_cov(rng, d, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T / d


# --- Frechet distance ---------------------------------------------------------------------
def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    mu, cov = rng.standard_normal(6), _random_cov(rng, 6)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0, abs=1e-10)


def test_frechet_distance_of_shifted_means_is_their_squared_distance():
    rng = np.random.default_rng(1)
    mu, cov = rng.standard_normal(6), _random_cov(rng, 6)
    shift = rng.standard_normal(6)
    assert frechet_distance(mu, cov, mu + shift, cov) == pytest.approx(shift @ shift, rel=1e-9)


def test_frechet_distance_of_diagonal_gaussians():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()  # commuting covariances
    assert frechet_distance(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == \
        pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rank", [None, 2])  # rank-deficient: as few samples as dimensions
def test_frechet_distance_matches_scipy_sqrtm(seed, rank):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal((2, 5))
    c1, c2 = _random_cov(rng, 5, rank), _random_cov(rng, 5)
    # tr sqrt(c1 c2) = tr sqrt(r2 c1 r2), r2 = sqrt(c2): rooting the full-rank c2 keeps
    # sqrtm accurate when c1 is singular (frechet_distance roots c1 instead)
    r2 = sqrtm(c2).real
    root = sqrtm(r2 @ c1 @ r2).real
    expected = (mu1 - mu2) @ (mu1 - mu2) + np.trace(c1 + c2 - 2 * root)
    got = frechet_distance(mu1, c1, mu2, c2)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)
    # rel 1e-6: a zero eigenvalue computed as 1e-16 contributes its square root, 1e-8
    assert got == pytest.approx(frechet_distance(mu2, c2, mu1, c1), rel=1e-6)


def test_fid_of_samples_of_one_gaussian_is_small():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 20000, 4))
    assert fid(a, b) < 0.01
    assert fid(a, b + 1) == pytest.approx(4, rel=0.01)


# --- Inception Score and digit shares ----------------------------------------------------
def test_inception_score_bounds():
    sure = np.eye(10)[np.arange(1000) % 10]
    assert inception_score(sure)[0] == pytest.approx(10)
    assert inception_score(np.eye(10)[np.full(1000, 3)])[0] == pytest.approx(1)
    assert inception_score(np.full((1000, 10), 0.1))[0] == pytest.approx(1)


def test_digit_metrics_on_known_probabilities():
    probs = np.vstack([np.eye(10)[[3] * 6 + [5] * 2], np.full((2, 10), 0.1)])
    m = digit_metrics(probs)
    assert m["confident_fraction"] == pytest.approx(0.8)
    assert m["digit_share"][3] == pytest.approx(0.75) and m["digit_share"][5] == 0.25
    assert m["digits_covered"] == 2
    expected_kl = 0.75 * np.log(7.5) + 0.25 * np.log(2.5)
    assert m["kl_to_uniform"] == pytest.approx(expected_kl)
    none = digit_metrics(np.full((4, 10), 0.1))
    assert none["digits_covered"] == 0 and none["kl_to_uniform"] is None


# --- evaluate_images on real, noise and one-digit "generators" ---------------------------
@pytest.fixture(scope="module")
def real_vs_real(mnist):
    # disjoint, exchangeable halves: even rows as "generated", odd rows as the reference
    return evaluate_images(mnist.x[0::2], real=mnist.x[1::2])


def test_real_images_score_near_the_floor(real_vs_real, mnist):
    m = real_vs_real
    assert m["n_fid"] == 2500
    assert m["fid"] < 2 * m["fid_floor"] + 1
    assert m["confident_fraction"] > 0.9
    assert m["digits_covered"] == 10
    labels = np.bincount(mnist.y[0::2], minlength=10) / 5000
    np.testing.assert_allclose(m["digit_share"], labels, atol=0.01)
    assert m["kl_to_uniform"] < 0.01
    assert m["inception_score"] > 9


def test_noise_scores_badly():
    noise = np.random.default_rng(3).uniform(-1, 1, (3000, 784))
    m = evaluate_images(noise)
    assert m["fid"] > 50 * m["fid_floor"]
    assert m["confident_fraction"] < 0.05
    assert m["inception_score"] < 1.5


def test_one_digit_generator_covers_one_digit(mnist):
    m = evaluate_images(mnist.x[mnist.y == 3])
    assert m["digits_covered"] == 1
    assert m["digit_share"][3] > 0.98
    assert m["kl_to_uniform"] > 2.2  # at most ln 10 = 2.303
    assert m["fid"] > 10 * m["fid_floor"]
    assert m["inception_score"] < 1.5


def test_image_metrics_are_json_and_formatted(real_vs_real):
    json.dumps(real_vs_real, allow_nan=False)
    assert isinstance(real_vs_real["digits_covered"], int)
    text = format_report(real_vs_real)
    assert "FID" in text and "real vs real" in text


@pytest.mark.parametrize("images, message", [
    (np.zeros((10, 783)), "expected \\(n, 784\\)"),
    (np.full((10, 784), np.nan), "NaN"),
    (np.zeros((1, 784)), "at least 2 generated"),
])
def test_evaluate_images_rejects_bad_input(images, message):
    with pytest.raises(ValueError, match=message):
        evaluate_images(images)


# --- toy metrics -------------------------------------------------------------------------
def _metrics(name, samples):
    return evaluate_toy(samples, name)


@pytest.mark.parametrize("name", MIXTURES)
def test_true_samples_capture_every_mode(name):
    toy = TOY_SETS[name]
    m = _metrics(name, toy.sample(5000, np.random.default_rng(4)))
    assert m["modes_captured"] == m["modes"] == len(toy.means)
    assert m["high_quality_fraction"] > 0.98  # 98.9% in 2-D, 99.7% in 1-D
    assert sum(m["mode_counts"]) == round(m["high_quality_fraction"] * 5000)
    np.testing.assert_allclose(m["mode_share"], 1 / len(toy.means), atol=0.03)


@pytest.mark.parametrize("name", MIXTURES)
def test_collapsed_samples_capture_one_mode(name):
    toy = TOY_SETS[name]
    rng = np.random.default_rng(5)
    samples = toy.means[1] + toy.std * rng.standard_normal((2000, toy.dim))
    m = _metrics(name, samples)
    assert m["modes_captured"] == 1
    assert m["mode_share"][1] == 1.0


@pytest.mark.parametrize("name", MIXTURES)
def test_far_off_samples_are_never_high_quality(name):
    toy = TOY_SETS[name]
    samples = np.random.default_rng(6).uniform(50, 60, (1000, toy.dim))
    m = _metrics(name, samples)
    assert m["high_quality_fraction"] == 0 and m["modes_captured"] == 0


def test_bimodal_takes_flat_samples_and_reports_shares():
    samples = np.concatenate([np.full(300, -2.0), np.full(100, 2.1)])
    m = _metrics("bimodal", samples)
    assert m["mode_share"] == [0.75, 0.25]
    assert m["modes_captured"] == 2 and m["high_quality_fraction"] == 1.0


def test_a_mode_with_too_few_samples_is_not_captured():
    # 25 modes, 2500 samples: PacGAN's rule needs 20 high-quality samples per mode
    toy = TOY_SETS["grid25"]
    counts = np.full(25, 2500 // 25)
    counts[0], counts[1] = 19, 100 + 81
    samples = np.repeat(toy.means, counts, axis=0)
    assert _metrics("grid25", samples)["modes_captured"] == 24


def test_parabola_true_samples_lie_on_the_curve():
    m = _metrics("parabola", TOY_SETS["parabola"].sample(3000, np.random.default_rng(7)))
    assert m["distance_q99"] < 1e-9 and m["near_fraction"] == 1.0
    assert m["x_bins_covered"] == m["x_bins"] == 10


def test_parabola_off_curve_and_collapsed_samples():
    toy = TOY_SETS["parabola"]
    lifted = toy.sample(3000, np.random.default_rng(8)) + [0, 1]
    m = _metrics("parabola", lifted)
    assert 0 < m["distance_median"] < 1  # Euclidean: less than the vertical gap of 1
    assert m["near_fraction"] < 0.05
    collapsed = _metrics("parabola", np.tile([[1.0, 6.0]], (500, 1)))
    assert collapsed["near_fraction"] == 1.0 and collapsed["x_bins_covered"] == 1


def test_parabola_distance_matches_brute_force():
    rng = np.random.default_rng(9)
    points = rng.uniform([-7, -2], [7, 40], (50, 2))
    dist, foot = parabola_distance(points, 5.0, (-5.0, 5.0))
    t = np.linspace(-5, 5, 200001)
    brute = np.hypot(t - points[:, :1], t * t + 5 - points[:, 1:]).min(axis=1)
    np.testing.assert_allclose(dist, brute, atol=1e-5)
    assert np.all((foot >= -5) & (foot <= 5))


@pytest.mark.parametrize("toy, samples, message", [
    ("ring9", np.zeros((3, 2)), "not a toy set"),
    ("ring8", np.zeros((3, 3)), "needs \\(n, 2\\)"),
    ("ring8", np.full((3, 2), np.inf), "NaN or inf"),
])
def test_evaluate_toy_rejects_bad_input(toy, samples, message):
    with pytest.raises(ValueError, match=message):
        evaluate_toy(samples, toy)


# --- checkpoints -------------------------------------------------------------------------
def _tiny_gan(tmp_path, data, g_layers, d_layers, **options):
    gan = GAN(g_layers=g_layers, d_layers=d_layers, epochs=1, batch_size=32, verbose=False,
              create_gif=False, **options)
    gan.fit(data)
    path = tmp_path / "checkpoint.npz"
    gan.save(path)
    return path


def test_evaluate_image_checkpoint(tmp_path, mnist):
    path = _tiny_gan(tmp_path, mnist.x[:256], [8, 16, 784], [784, 16, 1])
    m = evaluate_checkpoint(path, n=300, seed=1)
    assert m["kind"] == "image" and m["n"] == 300 and m["n_fid"] == 300
    assert m == evaluate_checkpoint(path, n=300, seed=1)  # seeded: same samples
    assert "FID" in format_report(m)
    with pytest.raises(ValueError, match="MNIST digit classifier"):
        evaluate_checkpoint(path, n=300, dataset="fashion-mnist")


def test_evaluate_toy_checkpoint(tmp_path):
    data = TOY_SETS["ring8"].sample(256, np.random.default_rng(10))
    path = _tiny_gan(tmp_path, data, [4, 16, 2], [2, 16, 1], g_output="linear")
    m = evaluate_checkpoint(path, n=500, dataset="ring8")
    assert m["dataset"] == "ring8" and m["modes"] == 8
    json.dumps(m, allow_nan=False)
    assert "modes captured" in format_report(m)
    with pytest.raises(ValueError, match="config.json records it"):
        evaluate_checkpoint(path, n=500)
    with pytest.raises(ValueError, match="1-d points"):
        evaluate_checkpoint(path, n=500, dataset="bimodal")
