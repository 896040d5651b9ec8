"""load_dataset and its sources: embedded sample, IDX folders, .npz files, toy sets; load_data."""
import hashlib
import shutil
import tracemalloc
import zipfile

import numpy as np
import pytest

from fastgan.data import (FASHION_CLASSES, MNIST_CLASSES, PIXEL_SCALE, SPECS, TOY_SETS, Dataset,
                          download, load_dataset, read_idx, renumber_classes, scale_images,
                          select_digits, write_idx)
from fastgan.datasets import load_data


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


@pytest.fixture(scope="module")
def t10k(mnist_t10k):
    return (read_idx(mnist_t10k / "t10k-images-idx3-ubyte.gz"),
            read_idx(mnist_t10k / "t10k-labels-idx1-ubyte.gz"))


def small_images(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 3


# ---- embedded sample --------------------------------------------------------------------

def test_mnist_sample(sample, t10k):
    assert sample.name == "mnist-sample" and sample.kind == "image"
    # uint8 pixels stay uint8 (a quarter of float32's memory); scaled() gives floats
    assert sample.x.shape == (10000, 784) and sample.x.dtype == np.uint8
    assert sample.scaled().dtype == np.float64
    assert sample.scaled().min() == -1 and sample.scaled().max() == 1
    assert sample.y.dtype == np.int64 and sample.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert sample.image_shape == (28, 28) and sample.class_names == MNIST_CLASSES
    assert sample.toy is None
    np.testing.assert_array_equal(sample.x, t10k[0].reshape(-1, 784))
    np.testing.assert_array_equal(sample.y, t10k[1])


def test_mnist_sample_is_the_official_t10k(mnist_t10k):
    for name, md5 in download.CHECKSUMS["mnist"].items():
        if name.startswith("t10k"):
            assert hashlib.md5((mnist_t10k / name).read_bytes()).hexdigest() == md5


def test_mnist_sample_matches_shared_copy(mnist_t10k, shared_data):
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]:
        assert (mnist_t10k / name).read_bytes() == (shared_data / "mnist" / name).read_bytes()


@pytest.mark.parametrize("digits", [[3, 5], (0,), 7, np.array([9, 1])])
def test_digit_subset(sample, digits):
    d = load_dataset("mnist-sample", digits=digits)
    wanted = np.atleast_1d(digits)
    assert set(np.unique(d.y).tolist()) == set(wanted.tolist())
    mask = np.isin(sample.y, wanted)
    assert len(d.y) == mask.sum()
    np.testing.assert_array_equal(d.x, sample.x[mask])
    assert d.class_names == MNIST_CLASSES  # labels keep their values, so names still index


@pytest.mark.parametrize("digits, error, match", [
    ([], ValueError, r"empty; pick from the labels present: \[0, 1, 2"),
    ([3, 11], ValueError, r"\[11\] are not among the labels; labels present: \[0, 1"),
    (["3"], TypeError, "must be ints"),
    ([True], TypeError, "must be ints"),
    ("35", TypeError, "must be ints"),
    (3.0, TypeError, "must be ints"),
])
def test_bad_digits(digits, error, match):
    with pytest.raises(error, match=match):
        load_dataset("mnist-sample", digits=digits)


def test_unknown_spec_lists_valid_names(tmp_path):
    with pytest.raises(ValueError, match="unknown data set 'mnits'") as info:
        load_dataset("mnits")
    assert all(name in str(info.value) for name in SPECS)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset(tmp_path / "x.txt")
    with pytest.raises(TypeError, match="spec"):
        load_dataset(3)


@pytest.mark.parametrize("name", ["missing.npz", "data/missing", "data/missing.npz"])
def test_a_missing_file_or_folder_is_named(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*missing"):
        load_dataset(tmp_path / name)
    with pytest.raises(FileNotFoundError, match=f"no such file or folder: '{name}'"):
        load_dataset(name)


# ---- toy sets ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(TOY_SETS))
def test_toy_specs(name):
    d = load_dataset(name, n_points=500, seed=4)
    toy = TOY_SETS[name]
    assert d.kind == "points" and d.toy is toy and d.y is None and d.image_shape is None
    assert d.x.shape == (500, toy.dim) and d.name == name
    np.testing.assert_array_equal(d.x, toy.sample(500, np.random.default_rng(4)))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(digits=[1]), ValueError, "no labels"),
    (dict(n_points=0), ValueError, "`n_points`"),
    (dict(n_points=2.5), ValueError, "`n_points`"),
    (dict(seed=-1), ValueError, "`seed`"),
    (dict(seed=1.5), ValueError, "`seed`"),
])
def test_toy_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_dataset("ring8", **kwargs)


# ---- IDX folders ------------------------------------------------------------------------

def write_pair(folder, split, images, labels, suffix=".gz"):
    write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_folder_prefers_train(tmp_path, suffix):
    images, labels = small_images(30)
    write_pair(tmp_path, "train", images, labels, suffix)
    write_pair(tmp_path, "t10k", images[:10], labels[:10], suffix)
    d = load_dataset(tmp_path)
    assert d.name == f"{tmp_path.name}:train" and d.x.shape == (30, 784)
    np.testing.assert_array_equal(d.scaled(), scale_images(images))
    assert d.y.tolist() == labels.tolist() and d.class_names is None
    assert load_dataset(str(tmp_path), digits=[2]).y.tolist() == [2] * 10


def test_folder_t10k_only(mnist_t10k, t10k, tmp_path):
    # the t10k pair and train labels, but no train images (as in ../shared/data/mnist)
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]:
        shutil.copy(mnist_t10k / name, tmp_path / name)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    d = load_dataset(tmp_path)
    assert d.name == f"{tmp_path.name}:t10k" and d.x.shape == (10000, 784)
    np.testing.assert_array_equal(d.y, t10k[1])


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="no IDX pair.*train-images-idx3-ubyte"):
        load_dataset(tmp_path)
    images, labels = small_images(5)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    with pytest.raises(ValueError, match=r"no IDX pair.*found \['train-images"):
        load_dataset(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:4])
    with pytest.raises(ValueError, match="labels have shape .4,., but .* holds 5 images"):
        load_dataset(tmp_path)
    write_pair(tmp_path, "train", np.zeros((5, 8, 8), np.uint8), labels)
    with pytest.raises(ValueError, match=r"shape \(5, 8, 8\)"):
        load_dataset(tmp_path)


# ---- .npz files -------------------------------------------------------------------------

def npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("make_x", [
    lambda im: im,                                   # uint8 (n, 28, 28)
    lambda im: im.reshape(len(im), 784),             # uint8 (n, 784)
    lambda im: im.astype(np.int64),                  # ints in 0..255
    lambda im: im.astype(np.float32) / 255,          # floats in [0, 1]
    lambda im: im.astype(np.float64) / 127.5 - 1,    # floats in [-1, 1]
])
def test_npz_variants(tmp_path, make_x):
    images, labels = small_images(12)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # so [0, 1] floats reach both ends
    d = load_dataset(npz(tmp_path, x=make_x(images), y=labels))
    assert d.name == "data" and d.kind == "image" and d.image_shape == (28, 28)
    np.testing.assert_allclose(d.scaled(), images.reshape(12, 784) / 127.5 - 1, atol=1e-6)
    assert d.x.dtype == (np.uint8 if make_x(images).dtype == np.uint8 else np.float64)
    assert d.y.dtype == np.int64 and d.y.tolist() == labels.tolist()


def test_npz_without_labels(tmp_path):
    images, _ = small_images(4)
    path = npz(tmp_path, x=images)
    assert load_dataset(path).y is None
    with pytest.raises(ValueError, match="no labels"):
        load_dataset(path, digits=[1])


def test_npz_digits(tmp_path):
    images, labels = small_images(12)
    d = load_dataset(npz(tmp_path, x=images, y=labels), digits=[0, 2])
    assert d.y.tolist() == [0, 2] * 4


X = np.zeros((4, 28, 28), np.uint8)


@pytest.mark.parametrize("arrays, error, match", [
    (dict(x=X.astype(float) * 255 + 3), ValueError, r"\[0, 1\] or \[-1, 1\].*astype\(np.uint8\)"),
    (dict(x=np.full((4, 784), np.nan)), ValueError, "NaN or inf"),
    (dict(x=np.full((4, 784), np.inf)), ValueError, "NaN or inf"),
    (dict(x=X.astype(np.int16) - 1), ValueError, "0..255"),
    (dict(x=np.zeros((4, 27, 27), np.uint8)), ValueError, r"shape \(4, 27, 27\)"),
    (dict(x=np.zeros((4, 28), np.uint8)), ValueError, r"shape \(4, 28\)"),
    (dict(x=np.zeros((0, 784), np.uint8)), ValueError, "n >= 1"),
    (dict(x=X.astype(bool)), TypeError, "integer or float"),
    (dict(x=X, y=np.zeros(3, np.int64)), ValueError, r"'y' must be \(4,\)"),
    (dict(x=X, y=np.zeros(4)), ValueError, "integer labels"),
    (dict(x=X, y=-np.ones(4, np.int64)), ValueError, ">= 0"),
    (dict(images=X), ValueError, r"no array 'x' \(it has \['images'\]\)"),
    (dict(x=np.array([X, None], dtype=object)), ValueError, "plain numeric arrays"),
])
def test_npz_rejects(tmp_path, arrays, error, match):
    with pytest.raises(error, match=match):
        load_dataset(npz(tmp_path, **arrays))


def test_npz_not_an_archive(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable .npz archive"):
        load_dataset(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", X)
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(ValueError, match="single array"):
        load_dataset(tmp_path / "single.npz")


def test_npz_pickle_is_never_loaded(tmp_path):
    import pickle
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:  # a pickle, not a zip: np.load would unpickle it if allowed
        pickle.dump({"x": X}, f)
    with pytest.raises(ValueError, match="not a readable .npz archive.*pickle"):
        load_dataset(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("n, match", [
    (10 ** 9, r"x.npy: its header promises 4000000000 bytes, more than the \d+-byte entry"),
    (10 ** 10, r"x.npy: shape \(10000000000,\) is absurd"),
])
def test_npz_huge_declared_shape_is_refused_before_allocating(tmp_path, compression, n, match):
    header = {"descr": "<f4", "fortran_order": False, "shape": (n,)}
    text = repr(header).encode()
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(64)
    path = tmp_path / "hostile.npz"
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("x.npy", member)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load_dataset(path)
        assert tracemalloc.get_traced_memory()[1] < 1 << 24  # peak under 16 MiB
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_compressed_and_fortran_arrays_read(tmp_path, save):
    images, labels = small_images(6)
    save(tmp_path / "d.npz", x=np.asfortranarray(images.reshape(6, 784)), y=labels)
    d = load_dataset(tmp_path / "d.npz")
    np.testing.assert_array_equal(d.scaled(), scale_images(images.reshape(6, 784)))
    assert d.y.tolist() == labels.tolist()


# ---- helpers ----------------------------------------------------------------------------

def test_scale_images_direct():
    x = np.array([[0, 255] * 392], dtype=np.uint8)
    np.testing.assert_array_equal(scale_images(x), [[-1.0, 1.0] * 392])
    every = np.resize(np.arange(256), (1, 784))  # every pixel value, as ints
    np.testing.assert_array_equal(scale_images(every), every / 127.5 - 1)
    np.testing.assert_array_equal(PIXEL_SCALE, np.arange(256) / 127.5 - 1)
    with pytest.raises(TypeError, match="ndarray"):
        scale_images([[0] * 784])


def test_select_digits_direct():
    x, y = np.arange(6)[:, None], np.array([0, 1, 2, 0, 1, 2])
    xs, ys = select_digits(x, y, [2, 0])
    assert xs.ravel().tolist() == [0, 2, 3, 5] and ys.tolist() == [0, 2, 0, 2]
    with pytest.raises(ValueError, match="no labels"):
        select_digits(x, None, [1])
    with pytest.raises(ValueError, match="6 rows but `y` has 5"):
        select_digits(x, y[:5], [1])


def test_renumber_classes_numbers_the_digits_kept_in_their_order():
    kept = renumber_classes(_fashion_like(), [9, 0, 9])
    assert kept.y.tolist() == [1, 0, 0, 1] and kept.class_names == ["Ankle boot", "T-shirt/top"]
    plain = Dataset("d", np.zeros((3, 2)), np.array([3, 5, 3]), "points")
    assert renumber_classes(plain, [5, 3]).class_names == ["5", "3"]
    with pytest.raises(ValueError, match=r"not all among \[5\]"):
        renumber_classes(plain, [5])


def _fashion_like():
    y = np.array([0, 9, 9, 0])
    return Dataset("f", np.zeros((4, 2)), y, "points", class_names=FASHION_CLASSES)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=[[1.0]]), TypeError, "ndarrays"),
    (dict(x=np.zeros((3, 2), np.float32)), ValueError, "float64"),
    (dict(x=np.zeros((0, 2))), ValueError, "non-empty"),
    (dict(x=np.array([[np.nan, 0.0]])), ValueError, "NaN or inf"),
    (dict(x=np.zeros((3, 2)), y=np.zeros(2, np.int64)), ValueError, r"\(3,\) int64"),
    (dict(x=np.zeros((3, 2)), kind="audio"), ValueError, "'image' or 'points'"),
    (dict(x=np.zeros((3, 2)), kind="image", image_shape=(28, 28)), ValueError, "2 features"),
])
def test_dataset_validates(kwargs, error, match):
    args = dict(name="d", y=None, kind="points") | kwargs
    with pytest.raises(error, match=match):
        Dataset(**args)


def test_fashion_class_names():
    assert FASHION_CLASSES[0] == "T-shirt/top" and FASHION_CLASSES[9] == "Ankle boot"
    assert len(FASHION_CLASSES) == 10


# ---- load_data --------------------------------------------------------------------------

def test_load_data_sample_split(t10k):
    (x_train, y_train), (x_test, y_test) = load_data()
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    assert y_train.shape == (8000,) and y_test.shape == (2000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), t10k[0])
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), t10k[1])


def test_load_data_unknown_name():
    with pytest.raises(ValueError, match="'mnist-sample', 'mnist' or 'fashion-mnist'"):
        load_data("cifar10")
