"""Metrics for toy GANs: which modes of a Gaussian mixture a generator captured, and how
close its points lie to the parabola.

Mixtures (bimodal, ring8, grid25) follow VEEGAN and PacGAN. A sample belongs to its nearest
mode; it is high quality if its Euclidean distance to that mode's mean is at most 3 standard
deviations (true samples: 98.9% in 2-D, 99.7% in 1-D). A mode is captured if it receives at
least `min_share` (default 0.2) of its fair share n / k of high-quality samples, and at least
one: PacGAN's rule of 20 of 2,500 samples on 25 modes, scaled to any n.

The parabola's points (x, x^2 + offset) lie on a curve: a sample's error is its true
Euclidean distance to the curve over the data's x range, not the vertical gap.
"""
import math

import numpy as np

from ..data import TOY_SETS, ToySet

MIN_SHARE = 0.2  # of a mode's fair share, for it to count as captured
NEAR = 0.1       # parabola: a sample "on the curve" is within this distance
BINS = 10        # parabola: x range cut into this many bins for coverage


def evaluate_toy(samples, toy, min_share=MIN_SHARE):
    """Score samples of a toy GAN against the true distribution.

    Parameters
    ----------
    samples : array_like
        (n, dim) points, n >= 1; (n,) also accepted for 1-D sets.
    toy : str or ToySet
        The set the GAN learned: a key of ``fastgan.data.TOY_SETS`` or a `ToySet`.
    min_share : float
        Mixtures: share of its fair share of high-quality samples a mode needs to count as
        captured; parabola: the same rule for the x bins.

    Returns
    -------
    dict
        JSON-able; kind ("toy"), dataset, n, and for a mixture: modes, modes_captured,
        high_quality_fraction, mode_counts (high-quality samples per mode), mode_share
        (share of all samples nearest each mode); for the parabola: distance_mean,
        distance_median, distance_q90, distance_q99, near_fraction (distance <= 0.1),
        x_bins_covered of x_bins (bins of the x range holding enough near samples).
    """
    toy = _toy(toy)
    x = _points(samples, toy)
    result = {"kind": "toy", "dataset": toy.name, "n": len(x)}
    if toy.means is None:
        result.update(parabola_metrics(x, toy.offset, toy.x_range, min_share))
    else:
        result.update(mixture_metrics(x, toy.means, toy.std, min_share))
    return result


def mixture_metrics(x, means, std, min_share=MIN_SHARE):
    """Mode metrics of points x (n, d) against a mixture of k isotropic Gaussians.

    means (k, d), common std. Returns the mixture keys of `evaluate_toy`.
    """
    d2 = ((x[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)  # (n, k)
    nearest = d2.argmin(axis=1)
    good = np.sqrt(d2[np.arange(len(x)), nearest]) <= 3 * std
    k = len(means)
    counts = np.bincount(nearest[good], minlength=k)
    need = _min_count(min_share, len(x), k)
    return {"modes": k, "modes_captured": int((counts >= need).sum()),
            "high_quality_fraction": float(good.mean()), "mode_counts": counts.tolist(),
            "mode_share": (np.bincount(nearest, minlength=k) / len(x)).tolist()}


def parabola_metrics(x, offset, x_range, min_share=MIN_SHARE):
    """Distance of points x (n, 2) to the curve y = t^2 + offset, t in x_range.

    Returns the parabola keys of `evaluate_toy`.
    """
    dist, foot = parabola_distance(x, offset, x_range)
    near = dist <= NEAR
    lo, hi = x_range
    bins = np.minimum(((foot[near] - lo) / (hi - lo) * BINS).astype(int), BINS - 1)
    counts = np.bincount(bins, minlength=BINS)
    q50, q90, q99 = np.quantile(dist, [0.5, 0.9, 0.99])
    return {"distance_mean": float(dist.mean()), "distance_median": float(q50),
            "distance_q90": float(q90), "distance_q99": float(q99),
            "near_fraction": float(near.mean()),
            "x_bins_covered": int((counts >= _min_count(min_share, len(x), BINS)).sum()),
            "x_bins": BINS}


def parabola_distance(x, offset, x_range):
    """Euclidean distance from each point to the arc {(t, t^2 + offset): t in x_range}.

    The nearest t solves d/dt [(t - x0)^2 + (t^2 + offset - y0)^2] = 0, the cubic
    t^3 + (1/2 + offset - y0) t - x0 / 2 = 0; its roots (eigenvalues of the companion
    matrices, all points at once) clipped to the range, and the range's ends, are the
    candidates, and the nearest of them wins.

    Parameters
    ----------
    x : np.ndarray
        (n, 2) points.
    offset : float
    x_range : tuple of float

    Returns
    -------
    dist : np.ndarray
        (n,) float64 distances.
    foot : np.ndarray
        (n,) the t of the nearest curve point.
    """
    x0, y0 = x[:, 0], x[:, 1]
    companion = np.zeros((len(x), 3, 3))
    companion[:, 0, 1] = -(0.5 + offset - y0)
    companion[:, 0, 2] = x0 / 2
    companion[:, 1, 0] = companion[:, 2, 1] = 1
    roots = np.linalg.eigvals(companion).real  # a complex root's real part is merely extra
    ends = np.broadcast_to(np.array(x_range, dtype=np.float64), (len(x), 2))
    t = np.clip(np.concatenate([roots, ends], axis=1), *x_range)
    d = np.hypot(t - x0[:, None], t * t + offset - y0[:, None])
    best = d.argmin(axis=1)
    rows = np.arange(len(x))
    return d[rows, best], t[rows, best]


def _min_count(min_share, n, k):
    return max(1, math.ceil(min_share * n / k - 1e-9))


def _toy(toy):
    if isinstance(toy, ToySet):
        return toy
    if isinstance(toy, str) and toy in TOY_SETS:
        return TOY_SETS[toy]
    raise ValueError(f"toy={toy!r} is not a toy set; use one of {', '.join(TOY_SETS)} "
                     f"or a fastgan.data.ToySet")


def _points(samples, toy):
    x = np.asarray(samples, dtype=np.float64)
    if toy.dim == 1 and x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != toy.dim or not len(x):
        raise ValueError(f"samples have shape {np.shape(samples)}; {toy.name} needs "
                         f"(n, {toy.dim}) with n >= 1")
    if not np.isfinite(x).all():
        raise ValueError("samples hold NaN or inf; a diverged generator cannot be evaluated")
    return x
