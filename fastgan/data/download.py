"""Download MNIST and Fashion-MNIST on first use, verified by md5 and cached.

Each file is tried on every mirror of `MIRRORS` in turn. A download streams into a temporary
file beside its target and is renamed only after its md5 matches `CHECKSUMS`, so an HTTP
error, a corrupt mirror or a dropped connection never leaves a file that looks complete.
Tests and users may pass their own mirrors and checksums, or edit the two registries.
"""
import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from fastgan.fileio import atomic_path

__all__ = ["DownloadError", "MIRRORS", "CHECKSUMS", "SPLITS", "cache_dir", "fetch",
           "fetch_files"]

# Base URLs, tried in order; a file's URL is base + file name.
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

# Published md5 sums of the gzipped files (the ones torchvision checks).
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

# split -> (images file, labels file), the same names for both data sets.
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_CHUNK = 1 << 16
_USER_AGENT = "fastgan (https://pypi.org/project/fastgan)"  # some hosts refuse urllib's default


class DownloadError(OSError):
    """No mirror delivered a file with the right checksum, and no valid copy is cached."""


def cache_dir(data_dir=None):
    """Return the root folder of the download cache.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Explicit folder; wins over the environment.

    Returns
    -------
    pathlib.Path
        `data_dir`, else ``$FASTGAN_DATA``, else ``$XDG_CACHE_HOME/fastgan``, else
        ``~/.cache/fastgan``. Each data set lives in a subfolder named after it.
    """
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("FASTGAN_DATA"):
        return Path(os.environ["FASTGAN_DATA"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "fastgan"


def fetch(dataset, split="train", *, data_dir=None, mirrors=None, checksums=None,
          timeout=30.0, progress=None):
    """Return the local paths of one split, downloading the files that are not cached.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist"}
        Key of `MIRRORS`.
    split : {"train", "t10k"}
        Training (60k) or test (10k) split.
    data_dir, mirrors, checksums, timeout, progress
        As for `fetch_files`.

    Returns
    -------
    tuple of pathlib.Path
        (images file, labels file), both gzipped IDX.
    """
    if split not in SPLITS:
        raise ValueError(f"fetch: unknown `split` {split!r}; use one of {sorted(SPLITS)}")
    return tuple(fetch_files(dataset, SPLITS[split], data_dir=data_dir, mirrors=mirrors,
                             checksums=checksums, timeout=timeout, progress=progress))


def fetch_files(dataset, names, *, data_dir=None, mirrors=None, checksums=None, timeout=30.0,
                progress=None):
    """Return the local paths of files, downloading those without a valid cached copy.

    Parameters
    ----------
    dataset : str
        Key of `MIRRORS` and `CHECKSUMS`, and the name of the cache subfolder.
    names : list of str
        File names, e.g. ``["train-labels-idx1-ubyte.gz"]``.
    data_dir : str or os.PathLike, optional
        Cache root; see `cache_dir`.
    mirrors : list of str, optional
        Base URLs tried in order, default ``MIRRORS[dataset]``.
    checksums : dict of str to str, optional
        File name -> md5 hex digest, default ``CHECKSUMS[dataset]``.
    timeout : float
        Seconds a connection may stay silent before the mirror counts as failed.
    progress : bool, optional
        Show a tqdm bar; default only when stderr is a terminal.

    Returns
    -------
    list of pathlib.Path
        The verified files in the cache, in the order of `names`.

    Raises
    ------
    DownloadError
        Naming every file no mirror delivered, each mirror's answer, and where to put the
        files by hand.
    """
    mirrors = MIRRORS.get(dataset) if mirrors is None else mirrors
    checksums = CHECKSUMS.get(dataset) if checksums is None else checksums
    if mirrors is None or checksums is None:
        raise ValueError(f"fetch_files: unknown `dataset` {dataset!r}; use one of "
                         f"{sorted(MIRRORS)} or pass `mirrors` and `checksums`")
    if isinstance(names, str):
        raise TypeError(f"fetch_files: `names` must be a list of file names, got the string "
                        f"{names!r}; pass [{names!r}]")
    unknown = [n for n in names if n not in checksums]
    if unknown:
        raise ValueError(f"fetch_files: no checksum for {unknown} in {dataset}; known files: "
                         f"{sorted(checksums)}")
    folder = cache_dir(data_dir) / dataset
    if progress is None:  # sys.stderr is None under pythonw
        progress = sys.stderr is not None and sys.stderr.isatty()
    paths, failures = [], []
    for name in names:
        target, md5 = folder / name, checksums[name].lower()
        # A cached file is checked every time: it may be a stale or hand-copied one.
        if not (target.is_file() and _md5(target) == md5):
            reasons = _try_mirrors(mirrors, target, md5, timeout, progress)
            if reasons is not None:  # keep going, so one error lists every missing file
                failures.append((name, md5, reasons))
        paths.append(target)
    if failures:
        raise DownloadError(_offline_message(dataset, folder, failures))
    return paths


def _try_mirrors(mirrors, target, md5, timeout, show):
    """Download `target` from the first mirror that delivers it.

    Returns None on success, else one line per mirror saying why it failed.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return [f"cannot create the cache folder ({err}); set FASTGAN_DATA to a writable folder"]
    reasons = []
    for base in mirrors:
        url = base + target.name
        try:
            _download(url, target, md5, timeout, show)
            return None
        # HTTPError and URLError are OSErrors, as are timeouts and connection resets;
        # IncompleteRead and other protocol errors are HTTPExceptions.
        except (OSError, http.client.HTTPException) as err:
            reasons.append(f"{url}: {err}")
    return reasons or ["no mirrors given"]


def _download(url, target, md5, timeout, show):
    """Stream `url` into a temp file, check length and md5, then rename it onto `target`."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with atomic_path(target) as tmp, urllib.request.urlopen(request, timeout=timeout) as resp:
        expected = resp.headers.get("Content-Length")
        expected = int(expected) if expected and expected.isdigit() else None
        digest, got = hashlib.md5(), 0
        with open(tmp, "wb") as out, tqdm(total=expected, unit="B", unit_scale=True,
                                          desc=target.name, disable=not show) as bar:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                got += len(chunk)
                bar.update(len(chunk))
        # http.client returns b"" rather than raising when a server closes early.
        if expected is not None and got != expected:
            raise ConnectionError(f"connection dropped after {got} of {expected} bytes")
        if digest.hexdigest() != md5:
            raise OSError(f"md5 mismatch: got {digest.hexdigest()}, expected {md5}")


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _offline_message(dataset, folder, failures):
    lines = [f"could not download {dataset} file(s) "
             f"{', '.join(name for name, _, _ in failures)} from any mirror:"]
    for name, md5, reasons in failures:
        lines.append(f"  {name} (md5 {md5}):")
        lines += [f"    {reason}" for reason in reasons]
    lines.append(f"Download them by hand into {folder}{os.sep} (or set FASTGAN_DATA to a folder "
                 f"whose {dataset}{os.sep} subfolder holds them), or work offline with the "
                 f"embedded data set: --dataset mnist-sample (load_dataset('mnist-sample')).")
    return "\n".join(lines)
