"""The MNIST digit classifier behind the image metrics, and its weights file.

A 784-256-128-10 leaky-relu MLP run on fastgan's own dense kernels. Its 128-d penultimate
layer is the feature space of FID, its softmax the p(y|x) of the Inception Score and of the
digit shares. The shipped weights (`mnist_classifier.npz`, float32, 0.9 MB) come from
``train_classifier(out_path=..., seed=0)``, which reproduces them bit for bit: 15 epochs,
4-6 s on 2 idle cores (56 s while other jobs loaded them). They learned from 8,000 images
of the embedded MNIST test split (``mnist-sample``); every fifth image is held out (see
`split_rows`), and of those 2,000 they classify 97.25% correctly and are confident
(p >= 0.9) on 94.3%. Uniform noise, shuffled-pixel digits, blank and white images get no
confident answer, because training taught such noise a uniform p(y|x).
"""
import functools
import importlib.resources
import os
import zipfile

import numpy as np

from ..backends import get_backend
from ..data import float_rows
from ..fileio import atomic_path
from ..nets import MLP, Workspace, forward
from ..npzfile import read_member
from ..threads import thread_settings

SIZES = (784, 256, 128, 10)
ALPHA = 0.1  # leaky_relu slope of the hidden layers
FORMAT = "fastgan-mnist-classifier-1"
DEFAULT_WEIGHTS = "mnist_classifier.npz"  # inside this package


def split_rows(n=10000):
    """Rows of mnist-sample (n images) that train the classifier and that it never sees.

    Every fifth row is held out (2,000 of 10,000), not the last 2,000: MNIST's test split
    puts its 5,000 cleaner digits first, so a contiguous block would be harder than the rest.

    Returns
    -------
    train, holdout : np.ndarray
        (n - n // 5,) and (n // 5,) int64 row indices.
    """
    held = np.arange(n) % 5 == 4
    return np.flatnonzero(~held), np.flatnonzero(held)


class ClassifierError(ValueError):
    """A classifier weights file is missing, malformed or of the wrong shape."""


class Classifier:
    """The digit classifier: an `MLP` plus the backend that runs it.

    Parameters
    ----------
    net : fastgan.nets.MLP
        Sizes `SIZES`, leaky_relu hidden layers, linear output (logits).
    backend : str
        "numba" (default) or "numpy".
    threads : int, optional
        Cores to run on (None: all).
    """

    def __init__(self, net, backend="numba", threads=None):
        self.net = net
        self.backend = backend
        self.threads = threads
        self.be = get_backend(backend)

    @classmethod
    def new(cls, rng, backend="numba", threads=None):
        """An untrained classifier with He-normal weights drawn from `rng`."""
        net = MLP(SIZES, "leaky_relu", "linear", ALPHA, np.float32)
        net.init(rng)
        return cls(net, backend, threads)

    def forward(self, x):
        """Outputs of every layer for a batch; call inside `thread_settings` for numba.

        Parameters
        ----------
        x : np.ndarray
            (n, 784) C-contiguous, the net's dtype.

        Returns
        -------
        list of np.ndarray
            (n, 256), (n, 128), (n, 10): the two hidden layers and the logits.
        """
        ws = Workspace(self.net, len(x), grads=False)
        forward(self.be, self.net, ws, x)
        return ws.outs

    def features_and_probs(self, images, chunk=2048):
        """Penultimate-layer features and class probabilities of images.

        Parameters
        ----------
        images : array_like
            (n, 784) images scaled to [-1, 1].
        chunk : int
            Rows per forward pass (bounds memory).

        Returns
        -------
        features : np.ndarray
            (n, 128) float64.
        probs : np.ndarray
            (n, 10) float64, rows sum to 1.
        """
        x = _as_images(images)
        feats = np.empty((len(x), SIZES[-2]))
        logits = np.empty((len(x), SIZES[-1]))
        with thread_settings(self.backend, self.threads):
            for lo in range(0, len(x), chunk):
                xc = np.ascontiguousarray(x[lo:lo + chunk], dtype=self.net.dtype)
                outs = self.forward(xc)
                feats[lo:lo + chunk] = outs[-2]
                logits[lo:lo + chunk] = outs[-1]
        return feats, softmax(logits)

    def predict(self, images):
        """Most probable digit of each image: (n,) int64."""
        return self.features_and_probs(images)[1].argmax(axis=1)

    def accuracy(self, images, labels):
        """Fraction of `images` (n, 784) whose predicted digit equals `labels` (n,)."""
        return float(np.mean(self.predict(images) == np.asarray(labels)))

    def save(self, path, **meta):
        """Write the weights (and float scalars `meta`, e.g. accuracy) with np.savez, to
        `path` exactly (np.savez given a name would add .npz) and atomically."""
        arrays = {f"w{l}": w for l, w in enumerate(self.net.weights)}
        arrays.update({f"b{l}": b for l, b in enumerate(self.net.biases)})
        arrays.update({k: np.float64(v) for k, v in meta.items()})
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, format=np.array(FORMAT), alpha=np.float64(self.net.alpha), **arrays)


def softmax(logits):
    """Row-wise softmax of logits (n, k), stable for any magnitude; same dtype."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def load_classifier(path=None, backend="numba"):
    """Load classifier weights saved by `Classifier.save` / `train_classifier`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A weights file; None loads the shipped `mnist_classifier.npz` (cached: every call
        returns the same object, so don't change its weights).
    backend : str
        "numba" or "numpy".

    Returns
    -------
    Classifier

    Raises
    ------
    ClassifierError
        If the file is missing, not an .npz of plain arrays, or any array has the wrong
        shape, dtype or non-finite values.
    """
    if path is None:
        return _shipped(backend)
    return _load(os.fspath(path), backend)


@functools.lru_cache(maxsize=2)
def _shipped(backend):
    root = importlib.resources.files(__package__) / DEFAULT_WEIGHTS
    with importlib.resources.as_file(root) as path:
        return _load(str(path), backend)


def _load(path, backend):
    fix = "retrain it with fastgan.evaluation.train_classifier(out_path=...)"
    try:
        with zipfile.ZipFile(path) as zf:  # headers first: never inflate a huge member
            arrays = {name[:-4]: read_member(zf, name)
                      for name in zf.namelist() if name.endswith(".npy")}
    except FileNotFoundError:
        raise ClassifierError(f"{path}: no such classifier weights file; {fix}") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        if isinstance(e, ClassifierError):
            raise
        raise ClassifierError(f"{path}: not a readable classifier weights file ({e}); "
                              f"{fix}") from None
    if str(arrays.get("format", "")) != FORMAT:
        raise ClassifierError(f"{path}: not a fastgan classifier file (format entry "
                              f"{FORMAT!r} missing); {fix}")
    alpha = arrays.get("alpha", np.array(np.nan))
    if alpha.shape != () or alpha.dtype.kind != "f" or not 0 <= alpha < 1:
        raise ClassifierError(f"{path}: bad leaky_relu slope alpha={alpha!r}; {fix}")
    net = MLP(SIZES, "leaky_relu", "linear", float(alpha), np.float32)
    for name, view in _named_views(net):
        _check_array(path, name, arrays.get(name), view.shape, fix)
        view[...] = arrays[name]
    return Classifier(net, backend)


def _named_views(net):
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        yield f"w{l}", w
        yield f"b{l}", b


def _check_array(path, name, a, shape, fix):
    if a is None:
        raise ClassifierError(f"{path}: array {name!r} is missing; {fix}")
    if a.shape != shape or a.dtype != np.float32:
        raise ClassifierError(f"{path}: array {name!r} has shape {a.shape} dtype {a.dtype}, "
                              f"expected {shape} float32; {fix}")
    if not np.isfinite(a).all():
        raise ClassifierError(f"{path}: array {name!r} holds NaN or inf; {fix}")


def _as_images(images):
    x = np.asarray(images)
    pixels_or_floats = x.dtype == np.uint8 or x.dtype.kind == "f"
    if x.ndim != 2 or x.shape[1] != SIZES[0] or not pixels_or_floats:
        raise ValueError(f"images have shape {x.shape} dtype {x.dtype}; expected (n, 784) "
                         f"uint8 pixels or floats in [-1, 1] (see fastgan.data.scale_images)")
    x = float_rows(x)
    if not np.isfinite(x).all():
        raise ValueError("images hold NaN or inf; a diverged generator cannot be evaluated")
    return x
