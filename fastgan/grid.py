"""The fixed noise and labels every picture of a run is drawn from, so its frames form a movie."""
import numpy as np


def grid_noise(config, n):
    """The fixed noise (n, nz) every picture of a run is drawn from, so frames form a movie."""
    return np.random.default_rng([config.seed, 2]).standard_normal((n, config.g_layers[0]))


def class_rows(classes, n):
    """Labels (n,) that lay n samples out one row per class: 0, 0, ..., 1, 1, ..."""
    return np.repeat(np.arange(classes), -(-n // classes))[:n]
