"""The NumPy tutorial's side effects: its printed losses, sample grids and GIF."""
import os

import numpy as np

from .plots import save_gif, save_image_grid
from .grid import grid_noise


class TutorialPictures:
    """What the NumPy tutorial's `train` shows: losses printed and a sample grid saved every
    `every` epochs (the same noise each time, so the grids form a movie), a GIF at the end."""

    def __init__(self, gan, out_dir, every, verbose, n=25):
        self.gan, self.out_dir, self.every, self.verbose = gan, out_dir, every, verbose
        self.z = grid_noise(gan.config, n)
        self.frames = []
        self.side = int(round(np.sqrt(gan.config.g_layers[-1])))

    def on_epoch(self, trainer):
        epoch = trainer.epoch - 1  # the epoch that just ended, counted from 0 like the tutorial
        if epoch % self.every:
            return
        if self.verbose:
            steps = trainer.steps_per_epoch
            d = np.mean(trainer.history["d_loss"][-steps:])
            g = np.mean(trainer.history["g_loss"][-steps:])
            print(f"Epoch {epoch}: J_D = {d:.4f}, J_G = {g:.4f}", flush=True)
        if self.side * self.side != self.gan.config.g_layers[-1]:
            return  # not square images: nothing to draw
        path = os.path.join(self.out_dir, f"epoch_{epoch:04d}.png")
        save_image_grid(self.gan.engine.generate(self.z), path, (self.side, self.side),
                        title=f"epoch {epoch}")
        self.frames.append(path)

    def make_gif(self):
        if self.frames:
            save_gif(self.frames, os.path.join(self.out_dir, "gan.gif"))
