"""Downloader against a loopback HTTP server playing good and bad mirrors.

Bad mirrors answer 403, serve corrupt bytes, drop the connection mid-file, or stall.
"""
import hashlib
import http.server
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fastgan.data import download, load_dataset, read_idx, write_idx
from fastgan.data.download import DownloadError, cache_dir, fetch, fetch_files
from fastgan.datasets import load_data

T10K = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
# md5 of the Debian-recompressed Fashion-MNIST files in ../shared/data (see its README).
DEBIAN_FASHION = {
    "train-images-idx3-ubyte.gz": "cf8536b0aa1a6ac5fa3f23001093305c",
    "train-labels-idx1-ubyte.gz": "10bea18fdb374794d4bb42e356e600c9",
    "t10k-images-idx3-ubyte.gz": "f78720b4224f21cce2f2ccf2d7a94c9a",
    "t10k-labels-idx1-ubyte.gz": "0d30e22e447f3c33dab9ed536400ac01",
}


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /<mode>/<root>/<file>: serve server.roots[root]/<file> the way <mode> says."""

    def do_GET(self):
        _, mode, root, name = self.path.split("/", 3)
        self.server.hits.append(self.path)
        path = self.server.roots.get(root, Path("/nonexistent")) / name
        if mode == "forbidden":
            return self.send_error(403)
        if not path.is_file():
            return self.send_error(404)
        data = path.read_bytes()
        if mode == "corrupt":  # same length, one byte changed
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 1]) + data[mid + 1:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode in ("drop", "stall"):  # half the promised bytes, then hang up or go silent
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            if mode == "stall":
                time.sleep(3.0)
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, *args):  # keep test output clean
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # the client hanging up on "stall"
        pass


@pytest.fixture
def server(mnist_t10k):
    """Serves MNIST's official t10k pair (embedded in the package) as root "mnist"."""
    srv = Server(("127.0.0.1", 0), Handler)
    srv.hits = []
    srv.roots = {"mnist": mnist_t10k}
    # a short poll interval: shutdown() waits up to one interval
    thread = threading.Thread(target=srv.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    srv.url = lambda mode, root: f"http://127.0.0.1:{srv.server_port}/{mode}/{root}/"
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch, tmp_path):
    """Point every registry mirror at a closed port and the cache at tmp_path."""
    for name in download.MIRRORS:
        monkeypatch.setitem(download.MIRRORS, name, ["http://127.0.0.1:9/"])
    monkeypatch.setenv("FASTGAN_DATA", str(tmp_path / "env-cache"))


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def files_in(folder):
    return sorted(p.name for p in Path(folder).rglob("*") if p.is_file())


def write_idx_files(folder, sizes, seed=0):
    """Small random IDX files, e.g. sizes {"train": 50}; returns their md5 sums by name."""
    rng = np.random.default_rng(seed)
    sums = {}
    for split, n in sizes.items():
        for kind, shape in [("images-idx3", (n, 28, 28)), ("labels-idx1", (n,))]:
            name = f"{split}-{kind}-ubyte.gz"
            high = 256 if kind.startswith("images") else 10
            write_idx(folder / name, rng.integers(0, high, shape, dtype=np.uint8))
            sums[name] = md5(folder / name)
    return sums


def test_good_mirror(server, tmp_path, mnist_t10k):
    good = [server.url("good", "mnist")]
    images, labels = fetch("mnist", "t10k", data_dir=tmp_path, mirrors=good)
    assert (images, labels) == tuple(tmp_path / "mnist" / n for n in T10K)
    assert images.read_bytes() == (mnist_t10k / T10K[0]).read_bytes()
    assert read_idx(labels)[:5].tolist() == [7, 2, 1, 0, 4]
    assert files_in(tmp_path) == sorted(T10K)


def test_bad_mirrors_are_skipped(server, tmp_path):
    mirrors = [server.url(m, "mnist") for m in ("forbidden", "corrupt", "drop", "good")]
    path, = fetch_files("mnist", [T10K[1]], data_dir=tmp_path, mirrors=mirrors)
    assert md5(path) == download.CHECKSUMS["mnist"][T10K[1]]
    assert [h.split("/")[1] for h in server.hits] == ["forbidden", "corrupt", "drop", "good"]
    assert files_in(tmp_path) == [T10K[1]]  # no temp files left


def test_all_mirrors_fail(server, tmp_path):
    mirrors = [server.url(m, "mnist") for m in ("forbidden", "corrupt", "drop")]
    with pytest.raises(DownloadError) as info:
        fetch("mnist", "t10k", data_dir=tmp_path, mirrors=mirrors)
    message = str(info.value)
    for part in [*T10K, "403", "md5 mismatch", "connection dropped after", str(tmp_path / "mnist"),
                 "mnist-sample", "FASTGAN_DATA"]:
        assert part in message
    assert isinstance(info.value, OSError)
    assert files_in(tmp_path) == []  # nothing partial, nothing corrupt


def test_stalled_mirror_times_out(server, tmp_path):
    mirrors = [server.url("stall", "mnist"), server.url("good", "mnist")]
    start = time.monotonic()
    fetch_files("mnist", [T10K[1]], data_dir=tmp_path, mirrors=mirrors, timeout=0.2)
    assert time.monotonic() - start < 2.5  # gave up on the stall long before it ended
    assert files_in(tmp_path) == [T10K[1]]


def test_missing_train_images_reported_alone(server, tmp_path):
    """A mirror with the train labels but not the images: one error, naming the images."""
    served = tmp_path / "served"
    sums = write_idx_files(served, {"train": 5})
    (served / "train-images-idx3-ubyte.gz").unlink()
    server.roots["partial"] = served
    with pytest.raises(DownloadError) as info:
        fetch("mnist", "train", data_dir=tmp_path / "cache", mirrors=[server.url("good", "partial")],
              checksums=sums)
    assert "train-images-idx3-ubyte.gz" in str(info.value) and "404" in str(info.value)
    assert "train-labels-idx1-ubyte.gz (md5" not in str(info.value)
    assert files_in(tmp_path / "cache") == ["train-labels-idx1-ubyte.gz"]  # the good file is kept


def test_cache_is_used_and_reverified(server, tmp_path):
    good = [server.url("good", "mnist")]
    path, = fetch_files("mnist", [T10K[1]], data_dir=tmp_path, mirrors=good)
    assert fetch_files("mnist", [T10K[1]], data_dir=tmp_path, mirrors=[]) == [path]
    assert len(server.hits) == 1  # the second call did not touch the network
    path.write_bytes(path.read_bytes()[:-10])  # e.g. an interrupted copy by hand
    with pytest.raises(DownloadError, match=T10K[1]):
        fetch_files("mnist", [T10K[1]], data_dir=tmp_path, mirrors=[])
    fetch_files("mnist", [T10K[1]], data_dir=tmp_path, mirrors=good)
    assert md5(path) == download.CHECKSUMS["mnist"][T10K[1]]


def test_fashion_with_injected_checksums(server, tmp_path):
    served = tmp_path / "served"
    sums = write_idx_files(served, {"t10k": 20}, seed=1)
    server.roots["fashion-mnist"] = served
    mirrors = [server.url("good", "fashion-mnist")]
    images, labels = fetch("fashion-mnist", "t10k", data_dir=tmp_path / "cache", mirrors=mirrors,
                           checksums=sums)
    np.testing.assert_array_equal(read_idx(labels), read_idx(served / labels.name))
    # The upstream sums reject other files (such as Debian's recompressed ones): never cached.
    with pytest.raises(DownloadError, match="md5 mismatch"):
        fetch("fashion-mnist", "t10k", data_dir=tmp_path / "upstream", mirrors=mirrors)
    assert files_in(tmp_path / "upstream") == []


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTGAN_DATA", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("FASTGAN_DATA")
    assert cache_dir() == tmp_path / "xdg" / "fastgan"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "fastgan"


def test_fastgan_data_env_is_honoured(server, monkeypatch, tmp_path):
    monkeypatch.setenv("FASTGAN_DATA", str(tmp_path / "env"))
    path, = fetch_files("mnist", [T10K[1]], mirrors=[server.url("good", "mnist")])
    assert path == tmp_path / "env" / "mnist" / T10K[1] and path.is_file()


def test_unwritable_cache(server, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DownloadError, match="cannot create the cache folder"):
        fetch_files("mnist", [T10K[1]], data_dir=tmp_path / "file",
                    mirrors=[server.url("good", "mnist")])


@pytest.mark.parametrize("call, error, match", [
    (lambda: fetch("cifar"), ValueError, "unknown `dataset` 'cifar'"),
    (lambda: fetch("mnist", "test"), ValueError, "unknown `split` 'test'"),
    (lambda: fetch_files("mnist", T10K[0]), TypeError, "pass \\['t10k"),
    (lambda: fetch_files("mnist", ["x.gz"]), ValueError, "no checksum for \\['x.gz'\\]"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- through load_dataset / load_data, with the registries overridden -------------------

@pytest.fixture
def fake_mnist(server, monkeypatch, tmp_path):
    """A tiny MNIST (50 train, 20 test) on the loopback server, registered as 'mnist'."""
    folder = tmp_path / "served"
    sums = write_idx_files(folder, {"train": 50, "t10k": 20})
    server.roots["fake"] = folder
    monkeypatch.setitem(download.MIRRORS, "mnist", [server.url("good", "fake")])
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    return folder


def test_load_dataset_mnist_downloads(fake_mnist, tmp_path):
    d = load_dataset("mnist", digits=[1, 2], data_dir=tmp_path / "cache")
    labels = read_idx(fake_mnist / "train-labels-idx1-ubyte.gz")
    assert d.name == "mnist" and d.x.shape == (np.isin(labels, [1, 2]).sum(), 784)
    assert d.class_names[2] == "2"
    assert files_in(tmp_path / "cache") == ["train-images-idx3-ubyte.gz",
                                            "train-labels-idx1-ubyte.gz"]


def test_load_data_mnist_splits(fake_mnist, tmp_path):
    (x_train, y_train), (x_test, y_test) = load_data("mnist")  # cache from FASTGAN_DATA
    assert x_train.shape == (50, 28, 28) and x_test.shape == (20, 28, 28)
    assert y_train.shape == (50,) and y_test.dtype == np.uint8
    assert len(files_in(tmp_path / "env-cache" / "mnist")) == 4


def test_load_dataset_offline_message(server, monkeypatch, tmp_path):
    monkeypatch.setitem(download.MIRRORS, "mnist", [server.url("forbidden", "mnist")])
    with pytest.raises(DownloadError, match="--dataset mnist-sample"):
        load_dataset("mnist", data_dir=tmp_path)


def test_load_data_fashion_full(server, monkeypatch, tmp_path, shared_data):
    """The real 60k/10k Fashion-MNIST, end to end (the slowest test here, ~0.5 s)."""
    server.roots["fashion-mnist"] = shared_data / "fashion-mnist"
    monkeypatch.setitem(download.MIRRORS, "fashion-mnist", [server.url("good", "fashion-mnist")])
    monkeypatch.setitem(download.CHECKSUMS, "fashion-mnist", DEBIAN_FASHION)
    (x_train, y_train), (x_test, y_test) = load_data("fashion-mnist", data_dir=tmp_path)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0] and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == [6000] * 10
