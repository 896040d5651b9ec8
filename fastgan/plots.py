"""Pictures of a run: sample grids, loss curves and toy-data plots.

Every figure is a `matplotlib.figure.Figure` drawn on its own Agg canvas, so importing this
module neither switches the user's pyplot backend nor leaves figures open in pyplot.
Figure sizes depend only on the arguments' shapes, never on the data, so successive frames
of a run have identical pixel sizes and can go straight into `save_gif`.
"""
import numbers
import os
from collections.abc import Mapping

import matplotlib
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fastgan.fileio import atomic_path
from fastgan.gif import save_gif

__all__ = ["image_grid", "save_image_grid", "save_loss_curves", "save_toy_plot", "save_gif"]

_DPI = 100
# Dark grey rather than black, so gutters still show between MNIST's black backgrounds.
_GUTTER = 48
_GRID_TARGET_PX = 1000  # a grid is magnified by the largest whole factor that fits this
_CHAR_PX = 7  # rough width of one 9 pt label character at _DPI, to reserve label margins


def image_grid(images, image_shape=(28, 28), ncols=None):
    """Tile images into one grey picture with 1-pixel dark gutters between tiles.

    Parameters
    ----------
    images : ndarray, shape (n, h*w) or (n, h, w), floating
        Pixel values in [-1, 1] (as a tanh generator emits); values outside are clipped.
    image_shape : tuple of int
        (h, w) of one image.
    ncols : int, optional
        Tiles per row; default ceil(sqrt(n)). Cells past the last image stay gutter grey.

    Returns
    -------
    ndarray, shape (rows*(h+1) - 1, ncols*(w+1) - 1), uint8
        -1 maps to 0 (black) and 1 to 255 (white); rows = ceil(n / ncols).
    """
    images = _as_image_stack(images, image_shape)
    nrows, ncols = _grid_layout(len(images), ncols)
    return _tile(images, nrows, ncols)


def save_image_grid(images, path, image_shape=(28, 28), ncols=None, title=None,
                    row_labels=None, col_labels=None):
    """Save `image_grid(images, image_shape, ncols)` as a picture with optional labels.

    Parameters
    ----------
    images, image_shape : see `image_grid`
    path : str or os.PathLike
        Target file, written atomically; the suffix picks the format (.png for GIF frames).
    ncols : int, optional
        Tiles per row. Default: len(col_labels) if given, else ceil(n / len(row_labels))
        if given (one row per class for conditional samples), else ceil(sqrt(n)).
    title : str, optional
    row_labels, col_labels : sequence of str, optional
        One label per grid row / column, e.g. "0".."9" or "Ankle boot".

    Raises
    ------
    ValueError
        If `images` is empty or does not match `image_shape`, or a label count does not
        match the grid's rows or columns.
    """
    images = _as_image_stack(images, image_shape)
    nrows, ncols = _grid_layout(len(images), ncols, row_labels, col_labels)
    fmt = _figure_format(path)
    grid = _tile(images, nrows, ncols)
    fig, ax, box = _grid_figure(grid, images.shape[1:], title, row_labels, col_labels)
    if fmt == "png":
        _save_grey_png(fig, grid, box, path)
    else:
        _show_grid(ax, grid)
        _save(fig, path, fmt)


def save_loss_curves(records, path, title=None, eval_records=None):
    """Plot discriminator and generator losses against the training step.

    Raw losses are drawn faintly and their moving average boldly. Evaluation metrics, when
    given, get panels of their own below, sharing the step axis.

    Parameters
    ----------
    records : sequence of dict
        One per training step with keys 'step', 'd_loss', 'g_loss' and optionally 'epoch'
        (epoch starts are marked with dotted lines when there are at most 50).
    path : str or os.PathLike
        Target file, written atomically; the suffix picks the format.
    title : str, optional
    eval_records : sequence of dict, optional
        Each with 'step' and 'fid' (float) and/or 'digit_share' (k floats, the share of
        samples classified as each digit). A panel is drawn per metric present.
    """
    fmt = _figure_format(path)
    steps, d_loss, g_loss, epochs = _loss_columns(records)
    metrics = _eval_columns(eval_records)
    panels = 1 + len(metrics)
    fig = _new_figure(9, 1 + 3 * panels, layout="constrained")
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    _plot_losses(axes[0], steps, d_loss, g_loss, epochs)
    for ax, (name, (eval_steps, values)) in zip(axes[1:], metrics.items()):
        _METRIC_PLOTTERS[name](ax, eval_steps, values)
    axes[-1].set_xlabel("step")
    if title is not None:
        fig.suptitle(title)
    _save(fig, path, fmt)


def save_toy_plot(samples, toy, path, title=None, real=None):
    """Plot generated samples of a 1-D or 2-D toy distribution against the real one.

    1-D: a histogram of the samples over the true density `toy.density` (or, without it,
    over a histogram of `real`). 2-D: a scatter of the samples over lighter real points.
    Axis limits come from `real` with a margin, so frames of a GIF don't jump; without
    `real` they follow the samples. In 1-D the y axis stops at 1.5 times the true peak, so
    a generated spike taller than that is cut off rather than rescaling every frame.
    The figure is always 500 x 500 pixels (for .png).

    Parameters
    ----------
    samples : ndarray, shape (n, dim) or (n,), dim in {1, 2}
    toy : object or None
        The toy distribution; only `name`, `dim` and an optional callable `density(x)`
        (x of shape (m,) -> (m,)) are used.
    path : str or os.PathLike
        Target file, written atomically; the suffix picks the format.
    title : str, optional
        Default: `toy.name`.
    real : ndarray, shape (m, dim) or (m,), optional
        Points of the true distribution.
    """
    samples = _as_points(samples, "samples")
    dim = samples.shape[1]
    if toy is not None and getattr(toy, "dim", dim) != dim:
        raise ValueError(f"`samples` have {dim} column(s) but `toy.dim` is {toy.dim}")
    if real is not None:
        real = _as_points(real, "real")
        if real.shape[1] != dim:
            raise ValueError(f"`real` has {real.shape[1]} column(s) but `samples` have {dim}")
    fmt = _figure_format(path)
    fig = _new_figure(5, 5)
    # fixed margins rather than a layout engine: tick labels must not move the axes
    fig.subplots_adjust(left=0.13, right=0.96, bottom=0.14, top=0.92)
    ax = fig.add_subplot()
    density = getattr(toy, "density", None)
    if dim == 1:
        _plot_toy_1d(ax, samples[:, 0], None if real is None else real[:, 0], density)
    else:
        _plot_toy_2d(ax, samples, real)
    # below the axes, so the legend never hides a mode
    fig.legend(loc="lower center", ncols=3, frameon=False, markerscale=3)
    if title is None and toy is not None:
        title = getattr(toy, "name", None)
    if title is not None:
        ax.set_title(title)
    _save(fig, path, fmt)


def save_loss_histogram(d_loss, g_loss, real, generated, path):
    """The 1-D toy tutorial's figure: both losses per step with a dashed line at ln 2 (G's
    loss, and half D's, when D can no longer tell real from fake), beside density
    histograms of real and generated samples over their joint extent.

    Parameters
    ----------
    d_loss, g_loss : sequence of float, one per step
    real, generated : ndarray, shape (n,) or (n, 1)
    path : str or os.PathLike
        Target file, written atomically; the suffix picks the format.
    """
    d_loss, g_loss = (np.asarray(v, np.float64) for v in (d_loss, g_loss))
    if d_loss.ndim != 1 or d_loss.shape != g_loss.shape or not len(d_loss):
        raise ValueError(f"`d_loss` and `g_loss` must be equal-length, non-empty lists of "
                         f"losses, got {d_loss.shape} and {g_loss.shape}")
    real, generated = (_as_points(v, name)[:, 0] for v, name in
                       ((real, "real"), (generated, "generated")))
    fmt = _figure_format(path)
    fig = _new_figure(12, 4)
    # fixed margins fit its short tick labels: a layout engine measures every text in an
    # extra pass, a third of the figure's time (the 1-D toy tutorial draws it each run)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.12, top=0.92, wspace=0.12)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(d_loss, label="D loss", color="tab:red", alpha=0.7)
    ax1.plot(g_loss, label="G loss", color="tab:blue", alpha=0.7)
    ax1.axhline(np.log(2), color="grey", linestyle="--", label="ln 2")
    ax1.set_xlabel("step")
    ax1.set_title("GAN training losses")
    ax1.legend()
    edges = np.linspace(*_limits(np.concatenate([real, generated])), 41)
    ax2.hist(real, bins=edges, density=True, alpha=0.6, color="tab:red", label="real")
    ax2.hist(generated, bins=edges, density=True, alpha=0.6, color="tab:blue",
             label="generated")
    ax2.set_title("real vs generated")
    ax2.legend()
    _save(fig, path, fmt)


# ---- validation ---------------------------------------------------------------------------

def _as_image_stack(images, image_shape):
    """Validate and reshape to (n, h, w) floats."""
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2
            or not all(_is_int(s) and s >= 1 for s in image_shape)):
        raise ValueError(f"`image_shape` must be two positive ints (h, w), got {image_shape!r}")
    h, w = image_shape
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"`images` has dtype {images.dtype}; pass floats in [-1, 1], "
                        "e.g. `pixels / 127.5 - 1` for uint8 pixels")
    if images.ndim not in (2, 3) or len(images) == 0:
        raise ValueError(f"`images` has shape {images.shape}; pass a non-empty (n, {h * w}) "
                         f"or (n, {h}, {w}) array")
    if images[0].size != h * w or (images.ndim == 3 and images.shape[1:] != (h, w)):
        raise ValueError(f"`images` has shape {images.shape}, which does not hold images of "
                         f"image_shape={tuple(image_shape)} ({h * w} pixels each); "
                         "pass the matching `image_shape`")
    if not np.isfinite(images).all():
        raise ValueError(f"`images` holds {np.count_nonzero(~np.isfinite(images))} NaN or "
                         "infinite values; the generator has likely diverged")
    return images.reshape(len(images), h, w)


def _grid_layout(n, ncols, row_labels=None, col_labels=None):
    """(nrows, ncols) of a grid of n tiles, checked against the label counts."""
    if ncols is None:
        if col_labels is not None:
            ncols = len(col_labels)
        elif row_labels is not None and len(row_labels) > 0:
            ncols = -(-n // len(row_labels))
        else:
            ncols = int(np.ceil(np.sqrt(n)))
    if not _is_int(ncols) or ncols < 1:
        raise ValueError(f"`ncols` must be a positive int, got {ncols!r}")
    nrows = -(-n // ncols)
    for labels, name, count, unit in ((row_labels, "row_labels", nrows, "rows"),
                                      (col_labels, "col_labels", ncols, "columns")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"`{name}` has {len(labels)} labels but the grid of {n} images "
                             f"in {ncols} columns has {count} {unit}; pass one label per "
                             f"{unit[:-1]} or change `ncols`")
    return nrows, ncols


def _as_points(points, name):
    """Validate toy points -> (n, dim) float64 with dim in {1, 2}."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 1:
        points = points[:, None]
    if points.ndim != 2 or points.shape[1] not in (1, 2) or len(points) == 0:
        raise ValueError(f"`{name}` has shape {points.shape}; pass a non-empty (n, 1) or "
                         "(n, 2) array")
    if not np.isfinite(points).all():
        raise ValueError(f"`{name}` holds NaN or infinite values")
    return points


def _loss_columns(records):
    """records -> steps, d_loss, g_loss (float arrays) and epochs (array or None)."""
    if isinstance(records, Mapping) or len(records) == 0:
        raise ValueError("`records` must be a non-empty list of dicts, one per step")
    for i, record in enumerate(records):
        missing = [k for k in ("step", "d_loss", "g_loss") if k not in record]
        if missing:
            raise ValueError(f"records[{i}] lacks {missing}; each record needs 'step', "
                             "'d_loss' and 'g_loss'")
    columns = [np.array([r[k] for r in records], np.float64) for k in ("step", "d_loss", "g_loss")]
    has_epochs = all("epoch" in r for r in records)
    epochs = np.array([r["epoch"] for r in records]) if has_epochs else None
    return (*columns, epochs)


def _eval_columns(eval_records):
    """eval_records -> {metric: (steps (m,), values (m,) or (m, k))} for metrics present."""
    if eval_records is None or len(eval_records) == 0:
        return {}
    for i, record in enumerate(eval_records):
        if "step" not in record:
            raise ValueError(f"eval_records[{i}] lacks 'step'")
    metrics = {}
    for name in _METRIC_PLOTTERS:
        rows = [r for r in eval_records if r.get(name) is not None]
        if rows:
            steps = np.array([r["step"] for r in rows], np.float64)
            try:
                values = np.array([r[name] for r in rows], np.float64)
            except ValueError:  # ragged digit_share lists
                values = None
            if values is None or values.ndim != _METRIC_NDIM[name]:
                raise ValueError(f"every '{name}' in `eval_records` must be "
                                 + ("a number" if name == "fid" else "a list of the same length"))
            metrics[name] = (steps, values)
    if not metrics:
        raise ValueError(f"`eval_records` holds none of {list(_METRIC_PLOTTERS)}; "
                         "pass None to plot losses only")
    return metrics


def _figure_format(path):
    """The file format named by `path`'s suffix, checked before any drawing."""
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if suffix not in FigureCanvasAgg.get_supported_filetypes():
        raise ValueError(f"`path` {os.fspath(path)!r} needs a picture suffix such as .png")
    return suffix


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# ---- drawing ------------------------------------------------------------------------------

def _tile(images, nrows, ncols):
    """(n, h, w) floats in [-1, 1] -> uint8 grid (nrows*(h+1)-1, ncols*(w+1)-1)."""
    n, h, w = images.shape
    pixels = np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    grid = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), _GUTTER, np.uint8)
    for i in range(n):
        top, left = (i // ncols) * (h + 1), (i % ncols) * (w + 1)
        grid[top:top + h, left:left + w] = pixels[i]
    return grid


def _grid_figure(grid, image_shape, title, row_labels, col_labels):
    """(figure, axes, box) for `grid` at a whole-number magnification, labels in fixed
    margins; box (top, left, scale) places the magnified grid in the figure's pixels. The
    axes span the grid's place, with the grid's pixel coordinates, but hold no image yet."""
    scale = max(1, _GRID_TARGET_PX // max(grid.shape))
    height, width = grid.shape[0] * scale, grid.shape[1] * scale
    row_labels = [] if row_labels is None else [str(s) for s in row_labels]
    col_labels = [] if col_labels is None else [str(s) for s in col_labels]
    longest = max((len(s) for s in row_labels), default=0)
    left = 8 + (_CHAR_PX * longest + 10 if row_labels else 0)
    top = 8 + (28 if title is not None else 0) + (22 if col_labels else 0)
    fig = _new_figure_px(left + width + 8, top + height + 8)
    fig_w, fig_h = fig.bbox.width, fig.bbox.height
    ax = fig.add_axes((left / fig_w, 8 / fig_h, width / fig_w, height / fig_h))
    ax.set_xlim(-0.5, grid.shape[1] - 0.5)  # as imshow sets them: row 0 at the top
    ax.set_ylim(grid.shape[0] - 0.5, -0.5)
    ax.set_frame_on(False)
    ax.tick_params(length=0, labelsize=9)
    h, w = image_shape
    # a label is a tick label at the centre of its row or column of tiles
    ax.set_yticks((h + 1) * np.arange(len(row_labels)) + (h - 1) / 2, row_labels)
    ax.xaxis.set_ticks_position("top")
    ax.set_xticks((w + 1) * np.arange(len(col_labels)) + (w - 1) / 2, col_labels)
    if title is not None:
        ax.set_title(title)
    return fig, ax, (top, left, scale)


def _show_grid(ax, grid):
    # whole-number magnification + nearest keeps every image pixel a crisp square
    ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest", aspect="auto")


# the grey each grid value becomes under _show_grid's colour map
_GREYS = matplotlib.colormaps["gray"](np.arange(256) / 255, bytes=True)[:, 0]


def _save_grey_png(fig, grid, box, path):
    """Save the figure's labels with the magnified grid pasted into its place, as a grey
    PNG: the same pixels as drawing the grid with `_show_grid`, in a third of the time
    (matplotlib resamples the image, and a timed run draws 25 frames within its minutes)."""
    fig.canvas.draw()
    # every colour of a grid figure is a grey, so one channel holds the picture
    grey = np.asarray(fig.canvas.buffer_rgba())[:, :, 0].copy()
    top, left, scale = box
    grey[top:top + grid.shape[0] * scale, left:left + grid.shape[1] * scale] = \
        np.repeat(np.repeat(_GREYS[grid], scale, axis=0), scale, axis=1)
    with atomic_path(path) as tmp:
        # zlib level 1: a quarter of the default level's time, for 15-30% more bytes (mostly
        # fewer than matplotlib's own RGBA PNG held)
        PIL.Image.fromarray(grey).save(tmp, format="PNG", compress_level=1)


def _plot_losses(ax, steps, d_loss, g_loss, epochs):
    window = max(1, len(steps) // 25)
    for loss, name, color in ((d_loss, "D", "tab:blue"), (g_loss, "G", "tab:orange")):
        ax.plot(steps, loss, color=color, alpha=0.25, linewidth=0.8)
        ax.plot(steps[window - 1:], _moving_average(loss, window), color=color, linewidth=2,
                label=f"{name} loss" + (f" ({window}-step average)" if window > 1 else ""))
    if epochs is not None:
        starts = steps[1:][epochs[1:] != epochs[:-1]]
        # more lines than this would hide the curves
        if len(starts) <= 50:
            for step in starts:
                ax.axvline(step, color="grey", linestyle=":", linewidth=0.8)
    ax.set_ylabel("loss")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)


def _moving_average(values, window):
    """Trailing mean over `window` values: (n,) -> (n - window + 1,)."""
    sums = np.cumsum(np.concatenate([[0.0], values]))
    return (sums[window:] - sums[:-window]) / window


def _plot_fid(ax, steps, fid):
    ax.plot(steps, fid, marker="o", color="tab:green")
    ax.set_ylabel("FID (lower is better)")
    ax.grid(alpha=0.3)


def _plot_digit_share(ax, steps, shares):
    """One line per class; a collapsing generator shows as lines leaving the uniform share."""
    for digit in range(shares.shape[1]):
        ax.plot(steps, shares[:, digit], marker=".", label=str(digit))
    ax.axhline(1 / shares.shape[1], color="black", linestyle="--", linewidth=1, label="uniform")
    ax.set_ylabel("share of samples")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title="class")
    ax.grid(alpha=0.3)


_METRIC_PLOTTERS = {"fid": _plot_fid, "digit_share": _plot_digit_share}
_METRIC_NDIM = {"fid": 1, "digit_share": 2}  # of the stacked values, (m,) and (m, k)


def _plot_toy_1d(ax, samples, real, density):
    """Histogram of samples (n,) over the true density or a histogram of real (m,)."""
    lo, hi = _limits(samples if real is None else real)
    edges = np.linspace(lo, hi, 61)
    # weights instead of density=True: samples outside the fixed range still count in n,
    # so a generator that spills out of range shows less mass rather than a rescaled one
    bin_width = edges[1] - edges[0]
    if callable(density):
        xs = np.linspace(lo, hi, 400)
        ys = np.asarray(density(xs), np.float64)
        ax.plot(xs, ys, color="black", linewidth=2, label="true density", zorder=3)
        if ys.max() > 0:  # zero when the samples' range misses the density's support
            ax.set_ylim(0, 1.5 * ys.max())
    elif real is not None:
        heights, _, _ = ax.hist(real, bins=edges, color="grey", alpha=0.4, label="real",
                                weights=np.full(len(real), 1 / (len(real) * bin_width)))
        ax.set_ylim(0, 1.5 * heights.max())
    outside = np.count_nonzero((samples < lo) | (samples > hi))
    ax.hist(samples, bins=edges, weights=np.full(len(samples), 1 / (len(samples) * bin_width)),
            color="tab:blue", alpha=0.6, label=_generated_label(outside, len(samples)), zorder=2)
    ax.set_xlim(lo, hi)
    ax.set_ylabel("density")


def _plot_toy_2d(ax, samples, real):
    """Scatter samples (n, 2) over lighter real points (m, 2) in a fixed window that fits
    the data's own extent on each axis (a parabola 10 wide and 25 tall fills the plot)."""
    (x_lo, x_hi), (y_lo, y_hi) = (_limits((samples if real is None else real)[:, j])
                                  for j in (0, 1))
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, color="grey", alpha=0.25, label="real",
                   zorder=1, linewidths=0)
    outside = np.count_nonzero((samples[:, 0] < x_lo) | (samples[:, 0] > x_hi)
                               | (samples[:, 1] < y_lo) | (samples[:, 1] > y_hi))
    ax.scatter(samples[:, 0], samples[:, 1], s=4, color="tab:blue", alpha=0.7,
               label=_generated_label(outside, len(samples)), zorder=2, linewidths=0)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)


def _generated_label(outside, n):
    # the axes are fixed, so say how many samples fell off them rather than hide it
    return "generated" + (f" ({outside} of {n} off the plot)" if outside else "")


def _limits(values, margin=0.1):
    """(lo, hi) spanning `values` plus `margin` of their range on each side."""
    lo, hi = float(values.min()), float(values.max())
    pad = margin * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


# ---- figures ------------------------------------------------------------------------------

def _new_figure(width_in, height_in, layout=None):
    fig = Figure(figsize=(width_in, height_in), dpi=_DPI, layout=layout)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas; pyplot never sees the figure
    return fig


def _new_figure_px(width_px, height_px):
    # +0.25 px: Agg truncates width*dpi, and e.g. 113/100*100 is 112.99999999999999
    return _new_figure((width_px + 0.25) / _DPI, (height_px + 0.25) / _DPI)


def _save(fig, path, fmt):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=_DPI)
