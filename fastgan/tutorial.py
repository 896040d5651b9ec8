"""What the NumPy tutorial's `train` shows: its printed line, 4x4 grids of the batch's fakes
(inline in a notebook, as its plt.show() does) under its file names, and its GIF."""
import os
import sys

import imageio.v3 as iio

from .fileio import atomic_path
from .gif import save_gif
from .plots import image_grid

_ZOOM = 4  # pixels per image pixel, about the size of the tutorial's 4-inch figure


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
        self.side = int(round(gan.config.g_layers[-1] ** 0.5))
        # the rate the coming epoch trains with
        self.learning_rate = gan.engine.opt["G"].learning_rate

    def on_epoch(self, trainer):
        epoch = trainer.epoch - 1  # the epoch that just ended
        rate, self.learning_rate = self.learning_rate, self.gan.engine.opt["G"].learning_rate
        if epoch % self.every:
            return
        fakes, p_real, p_fake = self.gan.engine.last_batch()
        if self.verbose:
            d, g = trainer.history["d_loss"][-1], trainer.history["g_loss"][-1]
            print(f"Epoch:{epoch}|G loss:{g:.4f}|D loss:{d:.4f}|D(G(z))avg:{p_fake:.4f}|"
                  f"D(x)avg:{p_real:.4f}|LR:{rate}", flush=True)
        if self.side * self.side != self.gan.config.g_layers[-1]:
            return  # not square images: nothing to draw
        path = os.path.join(self.out_dir, f"GAN_epoch{epoch}.png")
        # pixels written straight to PNG: a matplotlib figure per grid took most of the
        # tutorial's run time
        grid = image_grid(fakes[:16], (self.side, self.side), ncols=4)
        grid = grid.repeat(_ZOOM, axis=0).repeat(_ZOOM, axis=1)
        with atomic_path(path) as tmp:
            iio.imwrite(tmp, grid)
        self.frames.append(grid)
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
