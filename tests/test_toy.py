"""Toy distributions: shapes, reproducibility, and the statistics of each set."""
import numpy as np
import pytest

from fastgan.data.toy import TOY_SETS, ToySet

N = 20000


def nearest_mode(x, means):
    """Index of the closest mean and the residual x - mean, for (n, d) points."""
    d2 = ((x[:, None, :] - means[None]) ** 2).sum(axis=2)
    which = d2.argmin(axis=1)
    return which, x - means[which]


def test_registry_names_and_dims():
    assert {name: s.dim for name, s in TOY_SETS.items()} == {
        "bimodal": 1, "parabola": 2, "ring8": 2, "grid25": 2}
    assert all(s.name == name and s.description for name, s in TOY_SETS.items())


@pytest.mark.parametrize("name", list(TOY_SETS))
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_sample_shape_dtype_and_seed(name, n):
    toy = TOY_SETS[name]
    a = toy.sample(n, np.random.default_rng(1))
    assert a.shape == (n, toy.dim) and a.dtype == np.float64
    np.testing.assert_array_equal(a, toy.sample(n, np.random.default_rng(1)))
    assert np.isfinite(a).all()


@pytest.mark.parametrize("name", list(TOY_SETS))
def test_different_seeds_differ(name):
    toy = TOY_SETS[name]
    assert not np.array_equal(toy.sample(50, np.random.default_rng(1)),
                              toy.sample(50, np.random.default_rng(2)))


def test_bimodal_statistics():
    toy = TOY_SETS["bimodal"]
    np.testing.assert_array_equal(toy.means, [[-2.0], [2.0]])
    x = toy.sample(N, np.random.default_rng(0))[:, 0]
    left = x < 0
    assert abs(left.mean() - 0.5) < 0.02  # binomial sd 0.0035
    assert abs(x[left].mean() + 2) < 0.02 and abs(x[~left].mean() - 2) < 0.02
    assert abs(x[left].std() - 0.3) < 0.01 and abs(x[~left].std() - 0.3) < 0.01


def test_bimodal_density():
    toy = TOY_SETS["bimodal"]
    grid = np.linspace(-6, 6, 4001)
    p = toy.density(grid)
    assert p.shape == grid.shape
    assert abs(np.trapezoid(p, grid) - 1) < 1e-6
    peak = 0.5 / (np.sqrt(2 * np.pi) * 0.3)  # half the weight, the other mode is 13 std away
    np.testing.assert_allclose(toy.density([[2.0], [-2.0]]), [peak, peak], rtol=1e-9)
    np.testing.assert_allclose(toy.density(np.array([-1.3])), toy.density([1.3]))


def test_parabola():
    toy = TOY_SETS["parabola"]
    assert toy.means is None
    p = toy.sample(N, np.random.default_rng(0))
    x, y = p[:, 0], p[:, 1]
    np.testing.assert_array_equal(y, x**2 + 5)
    assert x.min() >= -5 and x.max() <= 5
    assert abs(x.mean()) < 0.1 and abs(x.var() - 100 / 12) < 0.3  # U[-5, 5]
    with pytest.raises(ValueError, match="no density"):
        toy.density([[0.0, 5.0]])


def test_ring8_geometry_and_statistics():
    toy = TOY_SETS["ring8"]
    means = toy.means
    assert means.shape == (8, 2)
    np.testing.assert_allclose(means[0], [1, 0], atol=1e-15)
    np.testing.assert_allclose(np.hypot(*means.T), 1)
    angles = np.arctan2(means[:, 1], means[:, 0]) % (2 * np.pi)
    np.testing.assert_allclose(angles, np.arange(8) * np.pi / 4, atol=1e-12)
    _check_mixture(toy, N)


def test_grid25_geometry_and_statistics():
    toy = TOY_SETS["grid25"]
    values = [-4, -2, 0, 2, 4]
    assert sorted(map(tuple, toy.means.tolist())) == [(a, b) for a in values for b in values]
    _check_mixture(toy, 2 * N)


def _check_mixture(toy, n):
    x = toy.sample(n, np.random.default_rng(3))
    which, resid = nearest_mode(x, toy.means)
    k = len(toy.means)
    counts = np.bincount(which, minlength=k) / n
    assert np.abs(counts - 1 / k).max() < 5 * np.sqrt((1 / k) / n)  # equal weights
    np.testing.assert_allclose(resid.std(axis=0), toy.std, rtol=0.03)
    np.testing.assert_allclose(resid.mean(axis=0), 0, atol=5 * toy.std / np.sqrt(n))


def test_grid25_density_peak():
    toy = TOY_SETS["grid25"]
    peak = 1 / 25 / (2 * np.pi * 0.05**2)
    np.testing.assert_allclose(toy.density([[4.0, -2.0]]), [peak], rtol=1e-9)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        toy.density([1.0, 2.0])


def test_means_are_read_only():
    with pytest.raises(ValueError):
        TOY_SETS["ring8"].means[0, 0] = 5.0


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "3"])
def test_sample_rejects_bad_n(n):
    with pytest.raises(ValueError, match="`n`"):
        TOY_SETS["ring8"].sample(n, np.random.default_rng(0))


def test_sample_rejects_bad_rng():
    with pytest.raises(TypeError, match="default_rng"):
        TOY_SETS["ring8"].sample(5, 0)


def test_custom_toy_set():
    toy = ToySet("pair", 3, [[0, 0, 0], [1, 1, 1]], 0.1, "two points in 3-D")
    assert toy.means.dtype == np.float64 and toy.means.shape == (2, 3)
    assert toy.sample(4, np.random.default_rng(0)).shape == (4, 3)
