"""Toy data sets for GANs: small, known distributions whose modes a generator must cover."""
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["ToySet", "TOY_SETS"]


@dataclass(frozen=True, eq=False)  # eq=False: dataclass equality can't compare ndarray fields
class ToySet:
    """A named toy distribution.

    Either an equal-weight mixture of isotropic Gaussians (`means` given) or, when `means` is
    None, noise-free points on the parabola y = x**2 + `offset` with x ~ U[`x_range`].

    Attributes
    ----------
    name : str
        Key in `TOY_SETS`, e.g. ``"ring8"``.
    dim : int
        Dimension of a point.
    means : np.ndarray or None
        Mixture means, (k, dim) float64, read-only; None for the parabola.
    std : float
        Standard deviation of every mixture component (0.0 for the parabola).
    description : str
        One line for plots and ``--help``.
    x_range : tuple of float or None
        Parabola only: the interval x is drawn from.
    offset : float
        Parabola only: y = x**2 + offset.
    """

    name: str
    dim: int
    means: np.ndarray | None
    std: float
    description: str
    x_range: tuple | None = None
    offset: float = 0.0

    def __post_init__(self):
        if self.means is not None:
            means = np.array(self.means, dtype=np.float64).reshape(-1, self.dim)
            means.flags.writeable = False  # shared by every user of TOY_SETS
            object.__setattr__(self, "means", means)

    def sample(self, n, rng):
        """Draw `n` points.

        Parameters
        ----------
        n : int
            Number of points, >= 1.
        rng : np.random.Generator
            Source of randomness, e.g. ``np.random.default_rng(0)``.

        Returns
        -------
        np.ndarray
            (n, dim) float64.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"{self.name}.sample: `n` must be an int >= 1, got {n!r}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{self.name}.sample: `rng` must be a np.random.Generator, got "
                            f"{type(rng).__name__}; use np.random.default_rng(seed)")
        n = int(n)
        if self.means is None:
            x = rng.uniform(self.x_range[0], self.x_range[1], size=n)
            return np.stack([x, x**2 + self.offset], axis=1)
        which = rng.integers(len(self.means), size=n)
        return self.means[which] + self.std * rng.standard_normal((n, self.dim))

    def density(self, x):
        """True probability density of a Gaussian mixture at `x`.

        Parameters
        ----------
        x : array_like
            (n, dim) points; for 1-D sets also (n,).

        Returns
        -------
        np.ndarray
            (n,) float64 densities.
        """
        if self.means is None:
            raise ValueError(f"{self.name}: the points lie on a curve, so there is no density; "
                             f"density() exists for the Gaussian mixtures only")
        x = np.asarray(x, dtype=np.float64)
        if self.dim == 1 and x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"{self.name}.density: `x` must have shape (n, {self.dim}), "
                             f"got {x.shape}")
        sq = ((x[:, None, :] - self.means[None, :, :]) ** 2).sum(axis=2)  # (n, k)
        norm = (2 * math.pi * self.std**2) ** (self.dim / 2)
        return np.exp(-sq / (2 * self.std**2)).mean(axis=1) / norm


def _ring(k, radius=1.0):
    angles = 2 * np.pi * np.arange(k) / k  # angle 0 first: the first mean is (radius, 0)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid(values):
    return np.array([(a, b) for a in values for b in values], dtype=np.float64)


TOY_SETS = {s.name: s for s in [
    ToySet("bimodal", 1, [[-2.0], [2.0]], 0.3,
           "1-D mixture of two Gaussians at -2 and 2, std 0.3, equal weights"),
    ToySet("parabola", 2, None, 0.0, "points (x, x**2 + 5), x ~ U[-5, 5]",
           x_range=(-5.0, 5.0), offset=5.0),
    ToySet("ring8", 2, _ring(8), 0.01,
           "8 Gaussians on the unit circle, the first at (1, 0), std 0.01"),
    ToySet("grid25", 2, _grid([-4.0, -2.0, 0.0, 2.0, 4.0]), 0.05,
           "25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05"),
]}
