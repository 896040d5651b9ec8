"""Turn a data-set spec (a name, a folder of IDX files, an .npz file) into a `Dataset`."""
import importlib.resources
import numbers
import os
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fastgan.data.download import fetch
from fastgan.data.idx import read_idx
from fastgan.data.toy import TOY_SETS, ToySet
from fastgan.npzfile import read_member

__all__ = ["Dataset", "load_dataset", "load_raw", "read_image_pair", "image_rows", "float_rows",
           "scale_images", "select_digits", "PIXEL_SCALE", "IMAGE_SHAPE", "MNIST_CLASSES", "FASHION_CLASSES", "SPECS"]

IMAGE_SHAPE = (28, 28)
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
_CLASSES = {"mnist-sample": MNIST_CLASSES, "mnist": MNIST_CLASSES,
            "fashion-mnist": FASHION_CLASSES}
SPECS = [*_CLASSES, *TOY_SETS]
_SAMPLE_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_IDX_NAMES = {split: (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
              for split in ("train", "t10k")}


@dataclass(eq=False)  # eq=False: dataclass equality can't compare ndarray fields
class Dataset:
    """Training data, ready for a GAN; checked on construction.

    Attributes
    ----------
    name : str
        E.g. ``"mnist-sample"``, ``"ring8"``, or ``"myfolder:train"`` for an IDX folder.
    x : np.ndarray
        (n, features). Images from uint8 sources stay uint8 pixel values 0..255, flattened:
        a quarter of float32's memory, scaled to [-1, 1] as training gathers each batch
        (`scaled` gives them as floats). Other images are float64 in [-1, 1]; toy points
        are raw float64.
    y : np.ndarray or None
        (n,) int64 labels >= 0, or None.
    kind : {"image", "points"}
    image_shape : tuple of int or None
        (28, 28) for images, None for points.
    class_names : list of str or None
        Name of each label value, e.g. ``class_names[y[0]]``.
    toy : ToySet or None
        The distribution behind a toy set.
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    kind: str
    image_shape: tuple | None = None
    class_names: list | None = None
    toy: ToySet | None = None

    def __post_init__(self):
        x, y = self.x, self.y
        if not isinstance(x, np.ndarray) or (y is not None and not isinstance(y, np.ndarray)):
            raise TypeError(f"Dataset {self.name}: `x` and `y` must be ndarrays, got "
                            f"{_describe(x)} and {_describe(y)}")
        pixels = x.dtype == np.uint8 and self.kind == "image"
        if (x.dtype != np.float64 and not pixels) or x.ndim != 2 or not len(x):
            raise ValueError(f"Dataset {self.name}: `x` must be a non-empty (n, features) float64 "
                             f"array (or uint8 pixels for images), got {_describe(x)}")
        if not pixels and not np.isfinite(x).all():
            raise ValueError(f"Dataset {self.name}: `x` holds NaN or inf; clean the data first")
        if y is not None and (y.dtype != np.int64 or y.shape != (len(x),)):
            raise ValueError(f"Dataset {self.name}: `y` must be None or ({len(x)},) int64, "
                             f"got {_describe(y)}")
        if self.kind not in ("image", "points"):
            raise ValueError(f"Dataset {self.name}: `kind` must be 'image' or 'points', "
                             f"got {self.kind!r}")
        if self.kind == "image" and (self.image_shape is None
                                     or int(np.prod(self.image_shape)) != x.shape[1]):
            raise ValueError(f"Dataset {self.name}: `image_shape` {self.image_shape} does not "
                             f"match {x.shape[1]} features")

    def scaled(self):
        """x as floats (see `float_rows`)."""
        return float_rows(self.x)


def load_dataset(spec, digits=None, seed=0, n_points=10000, data_dir=None):
    """Load a data set by name or path.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"mnist-sample"`` (the MNIST 10k test split shipped with fastgan, offline);
        ``"mnist"`` or ``"fashion-mnist"`` (60k training split, downloaded on first use);
        a toy set ``"bimodal"``, ``"parabola"``, ``"ring8"``, ``"grid25"``; a folder holding
        ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]`` (or the
        ``t10k-`` pair if there is no training pair); or an ``.npz`` file with images ``x``
        and optional labels ``y`` (see `scale_images` for the accepted dtypes and ranges).
        Names win over paths: write ``./mnist`` for a folder called ``mnist``.
    digits : int or list of int, optional
        Keep only these labels (digits, or Fashion-MNIST class indices).
    seed : int
        Seed of the toy-set sample.
    n_points : int
        Size of the toy-set sample.
    data_dir : str or os.PathLike, optional
        Download cache for ``"mnist"`` and ``"fashion-mnist"``; see `download.cache_dir`.

    Returns
    -------
    Dataset
    """
    if isinstance(spec, str) and spec in TOY_SETS:
        return _toy_dataset(TOY_SETS[spec], digits, seed, n_points)
    if isinstance(spec, str) and spec in _CLASSES:
        images, labels = load_raw(spec, data_dir=data_dir)
        return _image_dataset(spec, images, labels, digits, _CLASSES[spec])
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"load_dataset: `spec` must be a str or path, got {type(spec).__name__}")
    path = Path(spec)
    if path.is_dir():
        split = _folder_split(path)
        images, labels = read_image_pair(*(_find_idx(path, n) for n in _IDX_NAMES[split]))
        return _image_dataset(f"{path.name}:{split}", images, labels, digits, None)
    if path.is_file() and path.suffix == ".npz":
        x, y = _read_npz(path)
        x, y = select_digits(x, y, digits) if digits is not None else (x, y)
        return Dataset(path.stem, x, y, "image", IMAGE_SHAPE)
    if not path.exists() and (path.suffix == ".npz" or len(path.parts) > 1):
        raise FileNotFoundError(f"load_dataset: no such file or folder: {str(spec)!r}")
    raise ValueError(f"load_dataset: unknown data set {str(spec)!r}; use one of {SPECS}, "
                     f"a folder of IDX files or an .npz file")


def load_raw(name, split=None, data_dir=None):
    """Return the raw images and labels of a built-in image data set.

    Parameters
    ----------
    name : {"mnist-sample", "mnist", "fashion-mnist"}
    split : {"train", "t10k"}, optional
        Default "train". The embedded ``mnist-sample`` is MNIST's "t10k" split only.
    data_dir : str or os.PathLike, optional
        Download cache; see `download.cache_dir`.

    Returns
    -------
    images, labels : np.ndarray
        As `read_image_pair`: (n, 28, 28) and (n,) uint8.
    """
    if name == "mnist-sample":
        if split not in (None, "t10k"):
            raise ValueError(f"load_raw: mnist-sample is MNIST's t10k split only, got "
                             f"`split`={split!r}; use split='t10k' or the 'mnist' data set")
        root = importlib.resources.files("fastgan.data") / "mnist_sample"
        with importlib.resources.as_file(root / _SAMPLE_FILES[0]) as images, \
                importlib.resources.as_file(root / _SAMPLE_FILES[1]) as labels:
            return read_image_pair(images, labels)
    if name not in _CLASSES:
        raise ValueError(f"load_raw: unknown `name` {name!r}; use one of {list(_CLASSES)}")
    return read_image_pair(*fetch(name, split or "train", data_dir=data_dir))


def read_image_pair(images_path, labels_path):
    """Read an IDX images file and its IDX labels file, checking that they match.

    Returns
    -------
    images : np.ndarray
        (n, 28, 28) uint8.
    labels : np.ndarray
        (n,) uint8.
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{images_path}: images have shape {images.shape}; fastgan needs "
                         f"(n, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]})")
    if labels.shape != (len(images),):
        raise ValueError(f"{labels_path}: labels have shape {labels.shape}, but {images_path} "
                         f"holds {len(images)} images; use the labels file of the same split")
    return images, labels


# The [-1, 1] value of each pixel value 0..255: scale_images reads it, and so does training
# when it gathers a batch of uint8 images, so both give the same numbers.
PIXEL_SCALE = np.arange(256) / 127.5 - 1


def image_rows(x):
    """Flatten images as `scale_images` takes them, (n, 28, 28) or (n, 784): uint8 pixels
    stay uint8 (training scales them as it gathers a batch), anything else is scaled to
    float64 in [-1, 1]. Returns (n, 784) uint8 or float64."""
    x = _flat_images(x, "image_rows")
    return x if x.dtype == np.uint8 else scale_images(x)


def float_rows(x):
    """x (n, features) as floats: uint8 pixels scaled to [-1, 1] by `scale_images`, float
    rows as they are."""
    return scale_images(x) if x.dtype == np.uint8 else x


def scale_images(x):
    """Flatten images and scale them to [-1, 1].

    The rule: uint8, or any integer dtype with values in 0..255, maps 0..255 to [-1, 1]. Floats
    with every value in [0, 1] map to [-1, 1] by 2x - 1; other floats within [-1, 1] are
    already scaled and kept. Anything else is an error: cast 0..255 floats to uint8 first.

    Parameters
    ----------
    x : np.ndarray
        (n, 28, 28) or (n, 784) images, n >= 1.

    Returns
    -------
    np.ndarray
        (n, 784) float64 in [-1, 1].
    """
    x = _flat_images(x, "scale_images")
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise ValueError("scale_images: `x` holds NaN or inf; clean the images first")
        lo, hi = x.min(), x.max()
        if lo >= -1 and hi <= 1:
            out = x.astype(np.float64)  # one copy, then scale in place: 60k images are 376 MB
            if lo >= 0:
                out *= 2
                out -= 1
            return out
        raise ValueError(f"scale_images: float images must lie in [0, 1] or [-1, 1], got "
                         f"[{lo}, {hi}]; for 0..255 pixel values pass x.astype(np.uint8)")
    if x.dtype != np.uint8 and (x.min() < 0 or x.max() > 255):
        raise ValueError(f"scale_images: integer images must lie in 0..255, got "
                         f"{x.min()}..{x.max()}")
    return PIXEL_SCALE[x]


def _flat_images(x, caller):
    """x (n, 28, 28) or (n, 784) integer or float images as (n, 784), checked."""
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "uif":
        raise TypeError(f"{caller}: `x` must be an integer or float ndarray, got "
                        f"{_describe(x)}")
    n_features = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if x.shape[1:] not in (IMAGE_SHAPE, (n_features,)) or not len(x):
        raise ValueError(f"{caller}: `x` has shape {x.shape}; use (n, 28, 28) or (n, 784) "
                         f"with n >= 1")
    return x.reshape(len(x), n_features)


def select_digits(x, y, digits):
    """Keep the rows of `x` and `y` whose label is in `digits`.

    Parameters
    ----------
    x : np.ndarray
        (n, ...) data.
    y : np.ndarray or None
        (n,) integer labels.
    digits : int or list of int
        Labels to keep; each must occur in `y`.

    Returns
    -------
    x, y : np.ndarray
        The selected rows, in their original order.
    """
    if y is None:
        raise ValueError(f"select_digits: `digits`={digits!r} was given, but the data set has no "
                         f"labels; drop `digits` or supply labels")
    if len(x) != len(y):
        raise ValueError(f"select_digits: `x` has {len(x)} rows but `y` has {len(y)} labels")
    digits = _int_list(digits)
    present = np.unique(y).tolist()
    missing = sorted(set(digits) - set(present))
    if not digits:
        raise ValueError(f"select_digits: `digits` is empty; pick from the labels present: "
                         f"{present}")
    if missing:
        raise ValueError(f"select_digits: `digits` {missing} are not among the labels; labels "
                         f"present: {present}")
    keep = np.isin(y, digits)
    return x[keep], y[keep]


def renumber_classes(dataset, digits):
    """`dataset`, its rows those of `digits` (see `select_digits`), with the labels renumbered
    0, 1, ... in the order of `digits` and named after them: a conditional GAN trained on it
    has a class per digit kept, not ten classes of which most never saw data."""
    kept = class_digits(digits)
    lookup = np.full(max(kept) + 1, -1, np.int64)
    lookup[kept] = np.arange(len(kept))
    if dataset.y is None or dataset.y.max() >= len(lookup) or (lookup[dataset.y] < 0).any():
        raise ValueError(f"renumber_classes: {dataset.name}'s labels are not all among "
                         f"{kept}; select those digits first")
    names = [dataset.class_names[d] if dataset.class_names else str(d) for d in kept]
    return replace(dataset, y=lookup[dataset.y], class_names=names)


def class_digits(digits):
    """The distinct `digits` in the order given: class c of `renumber_classes` is digit
    class_digits(digits)[c]."""
    return list(dict.fromkeys(_int_list(digits)))


def _int_list(digits):
    """`digits` (an int or an iterable of ints) as a list of Python ints."""
    if isinstance(digits, numbers.Integral):
        digits = [digits]
    if isinstance(digits, (str, bytes)) or not hasattr(digits, "__iter__"):
        raise TypeError(f"select_digits: `digits` must be ints, got {digits!r}")
    digits = list(digits)
    if any(isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in digits):
        raise TypeError(f"select_digits: `digits` must be ints, got {digits!r}")
    return [int(d) for d in digits]


def _toy_dataset(toy, digits, seed, n_points):
    if digits is not None:
        raise ValueError(f"load_dataset: `digits`={digits!r} was given, but the toy set "
                         f"{toy.name!r} has no labels; drop `digits`")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ValueError(f"load_dataset: `seed` must be an int >= 0 or None, got {seed!r}")
    if isinstance(n_points, bool) or not isinstance(n_points, numbers.Integral) or n_points < 1:
        raise ValueError(f"load_dataset: `n_points` must be an int >= 1, got {n_points!r}")
    x = toy.sample(n_points, np.random.default_rng(seed))
    return Dataset(toy.name, x, None, "points", toy=toy)


def _image_dataset(name, images, labels, digits, class_names):
    if digits is not None:
        images, labels = select_digits(images, labels, digits)
    return Dataset(name, image_rows(images), labels.astype(np.int64), "image", IMAGE_SHAPE,
                   class_names)


def _folder_split(folder):
    """Pick the split whose images and labels are both in `folder`: train first, then t10k."""
    for split, names in _IDX_NAMES.items():
        if all(_find_idx(folder, n, required=False) for n in names):
            return split
    found = sorted(p.name for p in folder.iterdir())[:20]
    raise ValueError(f"load_dataset: {folder} holds no IDX pair: need train-images-idx3-ubyte"
                     f"[.gz] with train-labels-idx1-ubyte[.gz] (or the t10k- pair); found {found}")


def _find_idx(folder, stem, required=True):
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    if required:
        raise ValueError(f"load_dataset: {folder} has no {stem}[.gz]")
    return None


def _read_npz(path):
    """Return (x (n, 784) uint8, or float64 in [-1, 1], y (n,) int64 or None) from an .npz file."""
    fix = "save one with np.savez(path, x=images, y=labels)"
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"load_dataset: {path} is not a readable .npz archive ({err}); {fix}") \
            from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load_dataset: {path} holds a single array, not an .npz archive; {fix}")
    with archive:
        if "x" not in archive.files:
            raise ValueError(f"load_dataset: {path} has no array 'x' (it has {archive.files}); "
                             f"{fix}")
        try:  # headers checked before any data is read: a hostile size allocates nothing
            x = read_member(archive.zip, "x.npy")
            y = read_member(archive.zip, "y.npy") if "y" in archive.files else None
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise ValueError(f"load_dataset: cannot read {path} ({err}); store plain numeric "
                             f"arrays: {fix}") from None
    x = image_rows(x)
    if y is not None:
        if y.dtype.kind not in "ui" or y.shape != (len(x),) or y.min() < 0:
            raise ValueError(f"load_dataset: {path}: 'y' must be ({len(x)},) integer labels "
                             f">= 0 matching 'x', got {_describe(y)}")
        y = y.astype(np.int64)
    return x, y


def _describe(a):
    if isinstance(a, np.ndarray):
        return f"shape {a.shape} dtype {a.dtype}"
    return type(a).__name__
