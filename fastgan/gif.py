"""Looping GIFs from saved pictures or pixel arrays, e.g. one sample grid per epoch."""
import numbers
import os

import imageio.v3 as iio
import numpy as np

from fastgan.fileio import atomic_path

# Padding and the backdrop under transparent pixels are white, like matplotlib's figures.
_BACKGROUND = 255


def save_gif(frames, path, duration=0.5):
    """Write `frames` to `path` as a GIF that loops forever.

    Frames are not resized: smaller ones are centred on a white canvas the size of the
    largest, so the animation never rescales its content.

    Parameters
    ----------
    frames : iterable of str, os.PathLike or ndarray
        Picture files (PNG, e.g. from `save_image_grid`) or uint8 arrays of shape (H, W)
        (grey), (H, W, 3) (RGB) or (H, W, 4) (RGBA); kinds may be mixed. A uint8 array
        (n, H, W[, C]) is taken as n frames.
    path : str or os.PathLike
        Target file; written atomically.
    duration : float
        Seconds each frame is shown.

    Notes
    -----
    Pillow merges identical consecutive frames into one frame shown for their summed
    duration, so the file can hold fewer frames than given while playing just as long.
    """
    if isinstance(frames, (str, os.PathLike)):
        raise TypeError(f"`frames` must be a list of pictures, got the single path {frames!r}")
    frames = list(frames)
    if not frames:
        raise ValueError("`frames` is empty; pass at least one picture path or uint8 array")
    if isinstance(duration, bool) or not isinstance(duration, numbers.Real) or not duration > 0:
        raise ValueError(f"`duration` must be a positive number of seconds, got {duration!r}")
    images = [_load_frame(frame, i) for i, frame in enumerate(frames)]
    images = _pad_to_largest(_common_channels(images))
    with atomic_path(path) as tmp:
        # the pillow plugin takes milliseconds; loop=0 means "repeat forever"
        iio.imwrite(tmp, images, extension=".gif", duration=round(1000 * duration), loop=0)


def _load_frame(frame, index):
    """Frame `index` as a uint8 array (H, W) or (H, W, 3|4); reads it if it is a path."""
    if isinstance(frame, (str, os.PathLike)):
        image = iio.imread(frame)
    else:
        image = np.asarray(frame)
        if image.dtype != np.uint8:
            raise TypeError(f"frames[{index}] has dtype {image.dtype}; pass uint8 pixels, "
                            "e.g. from `image_grid`, or convert with `.astype(np.uint8)`")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"frames[{index}] has shape {image.shape}; expected (H, W), "
                         "(H, W, 3) or (H, W, 4)")
    return image


def _common_channels(images):
    """All grey (H, W) if every frame is grey, else all RGB (H, W, 3)."""
    if all(image.ndim == 2 for image in images):
        return images
    return [_to_rgb(image) for image in images]


def _to_rgb(image):
    """(H, W) or (H, W, 3|4) uint8 -> (H, W, 3) uint8, alpha composited onto white."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 3:
        return image
    # GIF transparency is one on/off palette entry, so flatten alpha instead of keeping it
    alpha = image[:, :, 3:].astype(np.float64) / 255.0
    rgb = image[:, :, :3] * alpha + _BACKGROUND * (1.0 - alpha)
    return np.round(rgb).astype(np.uint8)


def _pad_to_largest(images):
    """Centre each frame on a background canvas as large as the largest frame -> (n, H, W[, 3])."""
    height = max(image.shape[0] for image in images)
    width = max(image.shape[1] for image in images)
    out = np.full((len(images), height, width) + images[0].shape[2:], _BACKGROUND, np.uint8)
    for frame, image in zip(out, images):
        top = (height - image.shape[0]) // 2
        left = (width - image.shape[1]) // 2
        frame[top:top + image.shape[0], left:left + image.shape[1]] = image
    return out
