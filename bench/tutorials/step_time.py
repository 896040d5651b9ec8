"""Per-step time of the NumPy tutorial's workload: its `GAN([3], ...)` call (digit 3 of the
embedded data, batch 64, SGD with summed gradients) as the plain per-layer NumPy program of
numpy_gans.py computes it (float64, as the tutorial does) against fastgan's drop-in in
float64 and float32, pictures off and kernels warm, taking turns; medians of the rounds.

    python bench/tutorials/step_time.py [--epochs 100] [--rounds 3]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_gans import MLP, SGD, gan_step  # noqa: E402
from programs import _images  # noqa: E402

from fastgan import GAN  # noqa: E402
from fastgan.data.sources import image_rows, select_digits  # noqa: E402
from fastgan.datasets import load_data  # noqa: E402

BATCH = 64


def plain_numpy(x_train, y_train, epochs, dtype=np.float64, seed=0):
    """Seconds per step of the plain program's training loop (no pictures)."""
    rng = np.random.default_rng(seed)
    x = _images(x_train, y_train, (3,), BATCH, rng).astype(dtype)
    G = MLP([100, 128, 784], "relu", "tanh", 0.0, rng, dtype=dtype)
    D = MLP([784, 128, 1], "leaky_relu", "linear", 0.01, rng, dtype=dtype)
    opt_g, opt_d = SGD(1e-3), SGD(1e-3)
    steps = len(x) // BATCH
    t0 = time.perf_counter()
    for epoch in range(epochs):
        for i in range(steps):
            z = rng.standard_normal((BATCH, 100)).astype(dtype, copy=False)
            gan_step(G, D, opt_g, opt_d, x[i * BATCH:(i + 1) * BATCH], z, z, "sum")
        opt_g.lr = opt_d.lr = opt_g.lr / (1 + 1e-4 * epoch)
    return (time.perf_counter() - t0) / (epochs * steps)


def drop_in(x_train, y_train, epochs, dtype):
    """Seconds per step of fastgan's GAN([3], ...) in `dtype`, fit without pictures."""
    gan = GAN([3], epochs=epochs, batch_size=BATCH, learning_rate=1e-3, decay_rate=1e-4,
              dtype=dtype, verbose=False, create_gif=False)
    x, _ = select_digits(image_rows(x_train), np.asarray(y_train), [3])
    t0 = time.perf_counter()
    gan.fit(x)
    return (time.perf_counter() - t0) / gan.trainer.step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    (x_train, y_train), _ = load_data()
    for dtype in ("float64", "float32"):  # load or compile the kernels before timing
        drop_in(x_train, y_train, 1, dtype)
    runs = {"plain NumPy, float64": lambda: plain_numpy(x_train, y_train, args.epochs),
            "fastgan drop-in, float64": lambda: drop_in(x_train, y_train, args.epochs,
                                                       "float64"),
            "fastgan drop-in, float32": lambda: drop_in(x_train, y_train, args.epochs,
                                                       "float32")}
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name].append(run())
    base = np.median(times["plain NumPy, float64"])
    for name, ts in times.items():
        t = np.median(ts)
        print(f"{name:26s} {1e3 * t:6.3f} ms a step  {base / t:5.2f}x the plain program")


if __name__ == "__main__":
    main()
