"""Pictures: grid tiling math, valid PNG/GIF files, fixed frame sizes, atomic writes."""
import dataclasses
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import PIL.Image
import pytest
from matplotlib.figure import Figure

from fastgan import gif, plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGIC = (b"GIF87a", b"GIF89a")


@dataclasses.dataclass
class Toy:
    """Stand-in for the toy-data dataclass: plots may rely only on name, dim, density."""
    name: str
    dim: int
    means: object = None
    std: float = 0.1


@dataclasses.dataclass
class ToyWithDensity(Toy):
    def density(self, x):
        return np.exp(-x ** 2 / (2 * self.std ** 2)) / (self.std * np.sqrt(2 * np.pi))


def _read_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    image = iio.imread(path)
    assert image.dtype == np.uint8
    return image


def _loss_records(n=60):
    rng = np.random.default_rng(0)
    return [dict(step=i, d_loss=1.3 + 0.1 * rng.standard_normal(),
                 g_loss=0.7 + 0.1 * rng.standard_normal(), epoch=i // 20) for i in range(n)]


# ---- image_grid ---------------------------------------------------------------------------

@pytest.mark.parametrize("n, ncols, shape, expected", [
    (10, 5, (28, 28), (2 * 29 - 1, 5 * 29 - 1)),
    (10, None, (28, 28), (3 * 29 - 1, 4 * 29 - 1)),  # default ncols = ceil(sqrt(10)) = 4
    (1, None, (28, 28), (28, 28)),
    (6, 4, (3, 5), (2 * 4 - 1, 4 * 6 - 1)),
])
def test_image_grid_shape(n, ncols, shape, expected):
    images = np.zeros((n, shape[0] * shape[1]), np.float32)
    grid = plots.image_grid(images, image_shape=shape, ncols=ncols)
    assert grid.shape == expected
    assert grid.dtype == np.uint8


def test_image_grid_pixel_values_and_gutters():
    images = np.stack([np.full((4, 4), v) for v in (-1.0, 1.0, -7.0, 3.0, 0.0)])
    grid = plots.image_grid(images, image_shape=(4, 4), ncols=3)
    assert (grid[0:4, 0:4] == 0).all()       # -1 -> black
    assert (grid[0:4, 5:9] == 255).all()     # 1 -> white
    assert (grid[0:4, 10:14] == 0).all()     # clipped from -7
    assert (grid[5:9, 0:4] == 255).all()     # clipped from 3
    assert (grid[5:9, 5:9] == 128).all()     # 0 -> mid grey (127.5 rounds to even)
    assert (grid[4, :] == plots._GUTTER).all() and (grid[:, 4] == plots._GUTTER).all()
    assert (grid[5:9, 10:14] == plots._GUTTER).all()  # the empty sixth cell


def test_image_grid_accepts_flat_and_square_images():
    images = np.random.default_rng(1).uniform(-1, 1, (7, 6, 5))
    flat = plots.image_grid(images.reshape(7, 30), image_shape=(6, 5), ncols=3)
    np.testing.assert_array_equal(flat, plots.image_grid(images, image_shape=(6, 5), ncols=3))


@pytest.mark.parametrize("images, kwargs, error, match", [
    (np.zeros((0, 784)), {}, ValueError, "non-empty"),
    (np.zeros((4, 780)), {}, ValueError, "image_shape"),
    (np.zeros((4, 27, 29)), {}, ValueError, "image_shape"),
    (np.zeros((4, 784), np.uint8), {}, TypeError, "127.5"),
    (np.full((4, 784), np.nan), {}, ValueError, "NaN"),
    (np.zeros((4, 784)), {"ncols": 0}, ValueError, "ncols"),
    (np.zeros((4, 784)), {"image_shape": (28,)}, ValueError, "image_shape"),
])
def test_image_grid_rejects_bad_input(images, kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.image_grid(images, **kwargs)


# ---- save_image_grid ----------------------------------------------------------------------

def test_save_image_grid_writes_png(tmp_path):
    path = tmp_path / "grid.png"
    images = np.random.default_rng(2).uniform(-1, 1, (20, 784))
    plots.save_image_grid(images, path, title="epoch 1", row_labels=list("01"),
                          col_labels=[f"c{i}" for i in range(10)])
    image = _read_png(path)
    assert image.ndim == 2 and image.dtype == np.uint8  # a grey picture
    assert os.listdir(tmp_path) == ["grid.png"]


@pytest.mark.parametrize("shape, n, kwargs", [
    ((28, 28), 100, dict(ncols=10, title="epoch 3, step 140", row_labels=list("0123456789"))),
    ((28, 28), 12, dict(row_labels=["T-shirt/top", "Trouser", "Bag"], col_labels=list("abcd"))),
    ((5, 7), 9, {}),
])
def test_save_image_grid_png_has_the_pixels_matplotlib_draws(tmp_path, shape, n, kwargs):
    """A PNG grid pastes the magnified grid into the drawn labels; the picture must be the
    one matplotlib draws with the grid shown in its axes, pixel for pixel."""
    images = np.random.default_rng(n).uniform(-1, 1, (n, shape[0] * shape[1]))
    plots.save_image_grid(images, tmp_path / "g.png", shape, **kwargs)
    stack = plots._as_image_stack(images, shape)
    grid = plots._tile(stack, *plots._grid_layout(n, kwargs.get("ncols"),
                                                  kwargs.get("row_labels"),
                                                  kwargs.get("col_labels")))
    fig, ax, _ = plots._grid_figure(grid, shape, kwargs.get("title"),
                                    kwargs.get("row_labels"), kwargs.get("col_labels"))
    plots._show_grid(ax, grid)
    fig.canvas.draw()
    drawn = np.asarray(fig.canvas.buffer_rgba())
    assert (drawn[:, :, :3] == drawn[:, :, :1]).all() and (drawn[:, :, 3] == 255).all()
    np.testing.assert_array_equal(_read_png(tmp_path / "g.png"), drawn[:, :, 0])


def test_save_image_grid_infers_columns_from_row_labels(tmp_path):
    names = ["T-shirt/top", "Trouser", "Ankle boot"]
    plots.save_image_grid(np.zeros((12, 784)), tmp_path / "g.png", row_labels=names)
    _read_png(tmp_path / "g.png")


def test_save_image_grid_frames_have_equal_size(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(2):
        plots.save_image_grid(rng.uniform(-1, 1, (16, 784)), tmp_path / f"{i}.png",
                              title=f"epoch {i * 100}")
    assert _read_png(tmp_path / "0.png").shape == _read_png(tmp_path / "1.png").shape


@pytest.mark.parametrize("kwargs, match", [
    (dict(ncols=5, row_labels=list("012")), "row_labels"),  # 20 images, 5 columns -> 4 rows
    (dict(ncols=5, col_labels=list("0123")), "col_labels"),
    (dict(row_labels=list("0123"), col_labels=list("0123")), "row_labels"),  # 5 rows of 4
    (dict(row_labels=[str(i) for i in range(15)]), "row_labels"),  # 2 columns -> 10 rows
])
def test_save_image_grid_rejects_label_mismatch(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.save_image_grid(np.zeros((20, 784)), tmp_path / "g.png", **kwargs)
    assert os.listdir(tmp_path) == []


def test_save_image_grid_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        plots.save_image_grid(np.zeros((4, 784)), tmp_path / "grid.txt")


# ---- save_gif -----------------------------------------------------------------------------

def test_save_gif_from_arrays_loops_forever(tmp_path):
    frames = [np.full((10, 12), 40 * i, np.uint8) for i in range(5)]
    path = tmp_path / "a.gif"
    plots.save_gif(frames, path, duration=0.25)
    assert path.read_bytes()[:6] in GIF_MAGIC
    assert iio.improps(path, index=None).n_images == 5
    meta = iio.immeta(path)
    assert meta["loop"] == 0 and meta["duration"] == 250
    # frames are grey, so every channel of the read-back RGB holds the grey value
    np.testing.assert_array_equal(iio.imread(path, index=None)[:, 0, 0, 0], [0, 40, 80, 120, 160])


def test_save_gif_pads_mixed_sizes_and_kinds_to_largest(tmp_path):
    iio.imwrite(tmp_path / "rgba.png", np.zeros((20, 30, 4), np.uint8))
    frames = [tmp_path / "rgba.png", np.zeros((10, 50), np.uint8),
              np.zeros((5, 5, 3), np.uint8), np.full((5, 5, 4), 255, np.uint8)]
    plots.save_gif(frames, tmp_path / "b.gif")
    stack = iio.imread(tmp_path / "b.gif", index=None)
    assert stack.shape[:3] == (4, 20, 50)
    # small frames sit centred on white; transparent pixels are composited onto white
    assert (stack[2, 0, 0] == 255).all() and (stack[2, 10, 25] == 0).all()
    assert (stack[0, 10, 25] == 255).all() and (stack[0, 10, 5] == 255).all()


def test_save_toy_plot_frames_make_a_gif(tmp_path):
    rng = np.random.default_rng(4)
    real = rng.standard_normal((200, 2))
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for i, path in enumerate(paths):
        plots.save_toy_plot(real + i, Toy("shift", 2), path, real=real)
    plots.save_gif(paths, tmp_path / "toy.gif")
    assert iio.improps(tmp_path / "toy.gif", index=None).n_images == 3


@pytest.mark.parametrize("frames, kwargs, error", [
    ([], {}, ValueError),
    ([np.zeros((4, 4))], {}, TypeError),                 # float pixels
    ([np.zeros((4, 4, 2), np.uint8)], {}, ValueError),   # two channels
    ([np.zeros((4, 4), np.uint8)], {"duration": 0}, ValueError),
    ("frame.png", {}, TypeError),
])
def test_save_gif_rejects_bad_input(tmp_path, frames, kwargs, error):
    with pytest.raises(error):
        plots.save_gif(frames, tmp_path / "c.gif", **kwargs)
    assert os.listdir(tmp_path) == []


# ---- save_loss_curves ---------------------------------------------------------------------

def test_save_loss_curves_adds_panels_for_eval_records(tmp_path):
    rng = np.random.default_rng(5)
    evals = [dict(step=s, fid=50.0 - s / 10, digit_share=list(rng.dirichlet(np.ones(10))))
             for s in range(0, 60, 20)]
    plots.save_loss_curves(_loss_records(), tmp_path / "loss.png", title="run")
    fid_only = [dict(step=s, fid=50.0 - s / 10) for s in range(0, 60, 20)]
    plots.save_loss_curves(_loss_records(), tmp_path / "fid.png", eval_records=fid_only)
    plots.save_loss_curves(_loss_records(), tmp_path / "all.png", eval_records=evals)
    heights = [_read_png(tmp_path / f"{n}.png").shape[0] for n in ("loss", "fid", "all")]
    assert heights[0] < heights[1] < heights[2]


def test_save_loss_curves_handles_one_record(tmp_path):
    plots.save_loss_curves([dict(step=0, d_loss=1.0, g_loss=1.0)], tmp_path / "one.png")
    _read_png(tmp_path / "one.png")


@pytest.mark.parametrize("records, evals, match", [
    ([], None, "non-empty"),
    ([dict(step=0, d_loss=1.0)], None, "g_loss"),
    (None, [dict(fid=3.0)], "step"),
    (None, [dict(step=0, accuracy=0.5)], "fid"),
    (None, [dict(step=0, digit_share=[0.5, 0.5]), dict(step=1, digit_share=[1.0])], "length"),
    (None, [dict(step=0, digit_share=0.5)], "length"),
    (None, [dict(step=0, fid=[1.0, 2.0])], "number"),
])
def test_save_loss_curves_rejects_bad_records(tmp_path, records, evals, match):
    records = _loss_records(5) if records is None else records
    with pytest.raises(ValueError, match=match):
        plots.save_loss_curves(records, tmp_path / "loss.png", eval_records=evals)
    assert os.listdir(tmp_path) == []


# ---- save_toy_plot ------------------------------------------------------------------------

@pytest.mark.parametrize("toy, dim, use_real", [
    (ToyWithDensity("gaussian", 1), 1, False),
    (ToyWithDensity("gaussian", 1), 1, True),
    (Toy("no density", 1), 1, True),
    (None, 1, False),
    (Toy("ring", 2), 2, True),
    (None, 2, False),
])
def test_save_toy_plot_writes_fixed_size_png(tmp_path, toy, dim, use_real):
    rng = np.random.default_rng(6)
    real = rng.standard_normal((300, dim)) if use_real else None
    # wildly different samples must not change the picture's size
    for i, scale in enumerate((0.01, 1e4)):
        plots.save_toy_plot(scale * rng.standard_normal((200, dim)), toy, tmp_path / f"{i}.png",
                            real=real)
    shapes = {_read_png(tmp_path / f"{i}.png").shape for i in range(2)}
    assert shapes == {(500, 500, 4)}


@pytest.mark.parametrize("samples, toy, real, match", [
    (np.zeros((10, 2)), Toy("line", 1), None, "toy.dim"),
    (np.zeros((10, 3)), None, None, "samples"),
    (np.zeros((0, 1)), None, None, "samples"),
    (np.zeros((10, 1)), None, np.zeros((5, 2)), "real"),
    (np.full((10, 2), np.nan), None, None, "NaN"),
])
def test_save_toy_plot_rejects_bad_input(tmp_path, samples, toy, real, match):
    with pytest.raises(ValueError, match=match):
        plots.save_toy_plot(samples, toy, tmp_path / "toy.png", real=real)
    assert os.listdir(tmp_path) == []


def test_save_toy_plot_counts_samples_off_the_fixed_axes(tmp_path, monkeypatch):
    labels = []
    monkeypatch.setattr(plots, "_generated_label",
                        lambda outside, n: labels.append((outside, n)) or "generated")
    real = np.array([[-1.0, -1.0], [1.0, 1.0]])  # window [-1.2, 1.2] on both axes
    samples = np.array([[0.0, 0.0], [0.0, 5.0], [-9.0, 0.0]])
    plots.save_toy_plot(samples, None, tmp_path / "2d.png", real=real)
    plots.save_toy_plot(samples[:, 1], None, tmp_path / "1d.png", real=real[:, 0])
    assert labels == [(2, 3), (1, 3)]


# ---- atomic writes and global state -------------------------------------------------------

def _fail_after_partial_write(path, *args, **kwargs):
    with open(path, "wb") as f:
        f.write(PNG_MAGIC)
    raise OSError("disk full")


def _fail_savefig(fig, path, *args, **kwargs):  # also stands in for PIL's Image.save
    _fail_after_partial_write(path)


@pytest.mark.parametrize("save, writer", [
    (lambda p: plots.save_image_grid(np.zeros((4, 784)), p), (PIL.Image.Image, "save")),
    (lambda p: plots.save_image_grid(np.zeros((4, 784)), p.with_suffix(".pdf")),
     (Figure, "savefig")),
    (lambda p: plots.save_loss_curves(_loss_records(5), p), (Figure, "savefig")),
    (lambda p: plots.save_toy_plot(np.zeros((5, 2)), None, p), (Figure, "savefig")),
])
def test_failed_figure_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch, save, writer):
    path = tmp_path / "pic.png"
    path.write_bytes(b"old")
    monkeypatch.setattr(*writer, _fail_savefig)
    with pytest.raises(OSError, match="disk full"):
        save(path)
    assert os.listdir(tmp_path) == ["pic.png"] and path.read_bytes() == b"old"


def test_failed_gif_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(gif.iio, "imwrite", _fail_after_partial_write)
    with pytest.raises(OSError, match="disk full"):
        plots.save_gif([np.zeros((4, 4), np.uint8)], tmp_path / "a.gif")
    assert os.listdir(tmp_path) == []


def test_import_leaves_pyplot_alone():
    code = "import sys, fastgan.plots; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
