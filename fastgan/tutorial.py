"""What the NumPy tutorial's `train` shows: its printed line, 4x4 grids of the batch's fakes
(inline in a notebook, as its plt.show() does) under its file names, and its GIF."""
import os
import sys

import numpy as np

from .plots import save_gif, save_image_grid


class TutorialPictures:
    """Every `every` epochs (counted from 0, like the tutorial): print

        Epoch:{e}|G loss:{g}|D loss:{d}|D(G(z))avg:{p_fake}|D(x)avg:{p_real}|LR:{lr}

    for the epoch's last batch and the learning rate it trained with, and save a 4x4 grid of
    that batch's fakes as `out_dir`/GAN_epoch{e}.png, shown inline when running in a
    notebook. `make_gif` stitches the grids into `gif_path` (the tutorial's GAN.gif).
    """

    def __init__(self, gan, out_dir, every, verbose, gif_path="GAN.gif"):
        self.gan, self.out_dir, self.every, self.verbose = gan, out_dir, every, verbose
        self.gif_path = gif_path
        self.frames = []
        self.side = int(round(np.sqrt(gan.config.g_layers[-1])))
        self.lr = gan.engine.opt["G"].learning_rate  # the rate the coming epoch trains with

    def on_epoch(self, trainer):
        epoch = trainer.epoch - 1  # the epoch that just ended
        lr, self.lr = self.lr, self.gan.engine.opt["G"].learning_rate
        if epoch % self.every:
            return
        fakes, p_real, p_fake = self.gan.engine.last_batch()
        if self.verbose:
            d, g = trainer.history["d_loss"][-1], trainer.history["g_loss"][-1]
            print(f"Epoch:{epoch}|G loss:{g:.4f}|D loss:{d:.4f}|D(G(z))avg:{p_fake:.4f}|"
                  f"D(x)avg:{p_real:.4f}|LR:{lr}", flush=True)
        if self.side * self.side != self.gan.config.g_layers[-1]:
            return  # not square images: nothing to draw
        path = os.path.join(self.out_dir, f"GAN_epoch{epoch}.png")
        save_image_grid(fakes[:16], path, (self.side, self.side), ncols=4)
        self.frames.append(path)
        if _in_notebook():
            from IPython.display import Image, display
            display(Image(filename=path))

    def make_gif(self):
        if self.frames:
            save_gif(self.frames, self.gif_path)


def _in_notebook():
    """True inside a Jupyter kernel, where the tutorial's plt.show() draws inline."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")
