"""Keras-style loaders: `load_data()` returns raw uint8 train and test splits."""
from fastgan.data.sources import load_raw

__all__ = ["load_data", "SAMPLE_TRAIN_SIZE"]

# The embedded sample is MNIST's 10k test split; its first 8000 images serve as "train".
SAMPLE_TRAIN_SIZE = 8000


def load_data(name="mnist-sample", data_dir=None):
    """Load an image data set as NumPy arrays, like ``keras.datasets.mnist.load_data()``.

    Parameters
    ----------
    name : {"mnist-sample", "mnist", "fashion-mnist"}
        ``"mnist-sample"`` is the MNIST test split shipped with fastgan, so it works offline;
        it is split in a fixed way: images 0..7999 are "train", images 8000..9999 "test".
        (MNIST's test split puts its easier half, written by Census staff, first, so the two
        parts are not identically distributed; use ``"mnist"`` for the real split.)
        ``"mnist"`` and ``"fashion-mnist"`` are the real 60k/10k splits, downloaded on first
        use and cached.
    data_dir : str or os.PathLike, optional
        Download cache; see `fastgan.data.download.cache_dir`.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuple of np.ndarray
        Images (n, 28, 28) uint8 in 0..255, labels (n,) uint8.

    Raises
    ------
    fastgan.data.DownloadError
        If a download fails and no cached copy exists.
    """
    if name == "mnist-sample":
        x, y = load_raw(name)
        n = SAMPLE_TRAIN_SIZE
        return (x[:n], y[:n]), (x[n:], y[n:])
    if name not in ("mnist", "fashion-mnist"):
        raise ValueError(f"load_data: unknown `name` {name!r}; use 'mnist-sample', 'mnist' or "
                         f"'fashion-mnist' (fastgan.data.load_dataset reads folders, .npz "
                         f"files and toy sets)")
    return load_raw(name, "train", data_dir), load_raw(name, "t10k", data_dir)
