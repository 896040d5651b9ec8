"""The fixed noise and labels every picture of a run is drawn from, so its frames form a movie."""
import numpy as np

from .engine import draw_latent


def grid_noise(config, n):
    """The fixed noise (n, z_width) every picture of a run is drawn from, so frames form a
    movie."""
    rng = np.random.default_rng([config.seed, 2])
    return draw_latent(rng, config, np.empty((n, config.z_width)))


def class_rows(classes, n):
    """Labels (n,) that lay n samples out one row per class: 0, 0, ..., 1, 1, ..., each class
    as many times as the others or once more, so no row is left empty while n >= classes."""
    return np.sort(np.arange(n) % classes)
