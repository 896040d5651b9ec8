"""Train the MNIST digit classifier on fastgan's engine: dense kernels, softmax head, Adam.

The data are the embedded labelled MNIST test split (``mnist-sample``, 10,000 images): 8,000
train, every fifth image (2,000) is held out and only measured. Each image of a batch is
shifted by up to one pixel in x and y at random (without it the net memorizes its images and
loses about two points held out), and each batch of 64 digits gets 16 noise images whose
target is the uniform distribution, so the metrics' "confident" samples are digit-like.
Adam's step size decays linearly to zero over the run.
"""
import time

import numpy as np

from ..data import float_rows, load_dataset
from ..nets import Workspace, adam, backward, forward
from ..threads import check_threads, thread_settings
from .classifier import Classifier, split_rows

EPOCHS = 15
SHIFT = 1  # largest pixel shift of the augmentation
OUTLIERS = 16  # noise images added to each batch with a uniform target


def train_classifier(out_path=None, seed=0, epochs=EPOCHS, batch_size=64, learning_rate=2e-3,
                     n_train=None, backend="numba", threads=None, progress=None, data=None):
    """Train the digit classifier; save it to `out_path` and report its held-out accuracy.

    Parameters
    ----------
    out_path : str or os.PathLike, optional
        Where to write the weights (.npz); None writes nothing. The shipped file is
        ``fastgan/evaluation/mnist_classifier.npz``.
    seed : int
        Seeds the initial weights, the batch order and the shifts.
    epochs : int
        Passes over the training images.
    batch_size : int
        Digit images per Adam step, joined by 16 noise images (the last partial batch of
        an epoch is dropped).
    learning_rate : float
        Adam's initial learning rate, decayed linearly to 0.
    n_train : int, optional
        Train on only the first `n_train` of the 8,000 training images (smoke tests).
    backend : {"numba", "numpy"}
    threads : int, optional
        Cores to use (None: all).
    progress : callable, optional
        Called after each epoch with {"epoch", "epochs", "loss", "accuracy"} (held-out).
    data : fastgan.data.Dataset, optional
        Labelled 28x28 images (x uint8 pixels or floats in [-1, 1], y in 0..9) to learn
        instead of the embedded MNIST sample, e.g. Fashion-MNIST's test split to score
        Fashion-MNIST GANs; every fifth image is held out as with the sample.

    Returns
    -------
    dict
        accuracy (held-out, float), train_accuracy, loss (mean of the last epoch; the
        noise images alone add at least 16/80 ln 10 = 0.46), epochs, n_train, n_holdout,
        seconds (training wall time), path (str or None).
    """
    _check_options(epochs, batch_size, learning_rate, n_train, threads)
    data = load_dataset("mnist-sample") if data is None else data
    # Train on pixels in [0, 1]: a -1 background would add a large common offset to every
    # first-layer unit and slow Adam down (training loss 0.33 vs 0.22 after 6 epochs).
    x = float_rows(data.x)
    pixels = (x.astype(np.float32) + 1) / 2
    train, holdout = split_rows(len(pixels))
    x_train, y_train = pixels[train[:n_train]], data.y[train[:n_train]]
    x_hold, y_hold = pixels[holdout], data.y[holdout]
    batch_size = min(batch_size, len(x_train))
    rng = np.random.default_rng(seed)
    clf = Classifier.new(rng, backend, threads)
    step = _Trainer(clf, batch_size + OUTLIERS, learning_rate,
                    epochs * (len(x_train) // batch_size))
    start = time.perf_counter()
    with thread_settings(backend, threads):
        for epoch in range(1, epochs + 1):
            loss = _epoch(step, x_train, y_train, batch_size, rng)
            if progress is not None:
                progress({"epoch": epoch, "epochs": epochs, "loss": loss,
                          "accuracy": clf.accuracy(x_hold, y_hold)})
    seconds = time.perf_counter() - start
    train_accuracy = clf.accuracy(x_train, y_train)
    fold_pixel_scale(clf.net)
    result = {"accuracy": clf.accuracy(x[holdout], y_hold),
              "train_accuracy": train_accuracy, "loss": loss, "epochs": epochs,
              "n_train": len(x_train), "n_holdout": len(y_hold), "seconds": seconds,
              "path": None if out_path is None else str(out_path)}
    if out_path is not None:
        clf.save(out_path, accuracy=result["accuracy"], seed=seed, epochs=epochs)
    return result


def _check_options(epochs, batch_size, learning_rate, n_train, threads):
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("n_train", n_train)):
        if value is None and name == "n_train":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r} must be an int >= 1")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) \
            or not 0 < learning_rate < 1:
        raise ValueError(f"learning_rate={learning_rate!r} must be a number in (0, 1), e.g. 2e-3")
    check_threads(threads)


def fold_pixel_scale(net):
    """Make a net trained on pixels p in [0, 1] take x = 2p - 1 in [-1, 1] instead.

    x @ w + b at p = (x + 1) / 2 equals x @ (w / 2) + (b + w.sum(axis=0) / 2).
    """
    w, b = net.weights[0], net.biases[0]
    b += (0.5 * w.sum(axis=0, dtype=np.float64)).astype(b.dtype)
    w *= 0.5


def _epoch(step, x, y, n, rng):
    """One pass in random order over whole batches of n digits; return the mean loss."""
    order = rng.permutation(len(x))
    losses = []
    for idx in order[:len(x) // n * n].reshape(-1, n):
        digits = shift_images(x[idx], rng)
        batch = np.concatenate([digits, outlier_images(digits, OUTLIERS, rng)])
        losses.append(step(batch, np.concatenate([y[idx], np.full(OUTLIERS, -1)])))
    return float(np.mean(losses))


def outlier_images(digits, n, rng):
    """Structureless images to be taught "no digit": uniform noise and shuffled digits.

    Parameters
    ----------
    digits : np.ndarray
        (m, 784) digit images, pixels in [0, 1].
    n : int
        How many to make: n // 2 of uniform noise, the rest digits with shuffled pixels.
    rng : np.random.Generator

    Returns
    -------
    np.ndarray
        (n, 784), digits' dtype.
    """
    noise = rng.random((n // 2, digits.shape[1]), dtype=digits.dtype)
    shuffled = rng.permuted(digits[rng.integers(len(digits), size=n - n // 2)], axis=1)
    return np.concatenate([noise, shuffled])


def shift_images(x, rng, shift=SHIFT):
    """Move each image by a random whole number of pixels in [-shift, shift] along x and y.

    Parameters
    ----------
    x : np.ndarray
        (n, 784) images with background 0 (pixels in [0, 1]).
    rng : np.random.Generator

    Returns
    -------
    np.ndarray
        (n, 784), C-contiguous, x's dtype; uncovered pixels are background.
    """
    n, side = len(x), 28
    padded = np.pad(x.reshape(n, side, side), ((0, 0), (shift, shift), (shift, shift)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    rows = (dy[:, None] + np.arange(side))[:, :, None]
    cols = (dx[:, None] + np.arange(side))[:, None, :]
    return np.ascontiguousarray(padded[np.arange(n)[:, None, None], rows, cols].reshape(n, -1))


class _Trainer:
    """Adam on the classifier's flat buffers, workspaces for `rows` images; call on a batch."""

    def __init__(self, clf, rows, learning_rate, total_steps, beta1=0.9, beta2=0.999, eps=1e-8):
        net = clf.net
        self.net, self.be = net, clf.be
        self.learning_rate, self.total = learning_rate, max(total_steps, 1)
        self.betas, self.eps, self.t = (beta1, beta2), eps, 0
        self.ws = Workspace(net, rows)
        self.m, self.v = np.zeros_like(net.params), np.zeros_like(net.params)

    def __call__(self, x, y):
        """Forward, softmax cross-entropy, backward and one Adam step; return the loss."""
        net, ws = self.net, self.ws
        logits = forward(self.be, net, ws, x)
        loss = softmax_cross_entropy(logits, y, ws.grads[-1])
        self.t += 1
        learning_rate = self.learning_rate * (1 - (self.t - 1) / self.total)  # linear decay
        backward(self.be, net, ws, x, ws.grads[-1], want_dw=True,
                 step=adam(net, self.m, self.v, self.t, learning_rate, *self.betas, self.eps))
        return loss


def softmax_cross_entropy(logits, labels, dlogits):
    """Mean cross-entropy of softmax(logits) against labels; fill its gradient.

    A label of -1 stands for "no digit": its target is the uniform distribution (outlier
    exposure, Hendrycks et al. 2019), so noise gets low confidence instead of a digit.

    Parameters
    ----------
    logits : np.ndarray
        (n, k) float.
    labels : np.ndarray
        (n,) ints in [0, k), or -1.
    dlogits : np.ndarray
        (n, k), filled with (softmax(logits) - target) / n.

    Returns
    -------
    float
        The mean loss.
    """
    n, k = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.flatnonzero(labels >= 0)
    other = np.flatnonzero(labels < 0)
    total = log_p[rows, labels[rows]].sum(dtype=np.float64) + log_p[other].mean(axis=1).sum()
    np.exp(log_p, out=dlogits)
    dlogits[rows, labels[rows]] -= 1
    dlogits[other] -= 1 / k
    dlogits /= n
    return -float(total) / n
