"""The MNIST digit classifier: shipped weights, the weights-file loader, and its training."""
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fastgan import evaluation
from fastgan.cli import main
from fastgan.data import load_dataset
from fastgan.evaluation import ClassifierError, load_classifier, split_rows, train_classifier
from fastgan.evaluation.classifier import SIZES, Classifier
from fastgan.evaluation.training import (_Trainer, fold_pixel_scale, outlier_images,
                                         shift_images, softmax_cross_entropy)
from fastgan.nets import MLP

DOCUMENTED_ACCURACY = 0.9725  # classifier.py's docstring


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist-sample")


@pytest.fixture(scope="module")
def shipped():
    return load_classifier()


def test_split_rows_holds_out_every_fifth_image():
    train, holdout = split_rows()
    assert len(train) == 8000 and len(holdout) == 2000
    assert np.array_equal(np.sort(np.concatenate([train, holdout])), np.arange(10000))
    assert np.all(holdout % 5 == 4)


def test_shipped_weights_reach_the_documented_accuracy(mnist, shipped):
    _, holdout = split_rows()
    accuracy = shipped.accuracy(mnist.x[holdout], mnist.y[holdout])
    assert accuracy == pytest.approx(DOCUMENTED_ACCURACY, abs=0.001)
    with np.load(shipped_path(), allow_pickle=False) as f:
        assert float(f["accuracy"]) == pytest.approx(DOCUMENTED_ACCURACY, abs=0.001)


def test_backends_agree(mnist, shipped):
    twin = Classifier(shipped.net, "numpy")
    feats, probs = shipped.features_and_probs(mnist.x[:300])
    feats_np, probs_np = twin.features_and_probs(mnist.x[:300])
    # float32 sums of up to 784 terms: see tests/helpers.py TOL
    np.testing.assert_allclose(feats, feats_np, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(probs, probs_np, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-12)
    assert feats.shape == (300, SIZES[-2])


def test_save_and_load_round_trip(tmp_path, shipped):
    path = tmp_path / "c.npz"
    shipped.save(path, accuracy=0.5)
    again = load_classifier(path)
    np.testing.assert_array_equal(again.net.params, shipped.net.params)
    assert again.net.alpha == shipped.net.alpha


def shipped_path():
    return Path(evaluation.__file__).parent / "mnist_classifier.npz"


def _weights():
    with np.load(shipped_path(), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _drop(name):
    def change(a):
        del a[name]
    return change


def _set(name, value):
    def change(a):
        a[name] = value(a[name]) if callable(value) else value
    return change


BAD_FILES = {
    "missing w1": (_drop("w1"), "'w1' is missing"),
    "wrong shape": (_set("w0", lambda w: w[:, :255]), "'w0' has shape (784, 255)"),
    "wrong dtype": (_set("b2", lambda b: b.astype(np.float64)), "expected (10,) float32"),
    "transposed": (_set("w2", lambda w: np.ascontiguousarray(w.T)), "expected (128, 10) "),
    "nan": (_set("b0", lambda b: np.full_like(b, np.nan)), "NaN or inf"),
    "no format": (_drop("format"), "not a fastgan classifier"),
    "object array": (_set("w0", np.array([None, 1], dtype=object)), "not a readable"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_loader_rejects_bad_files_with_a_clear_error(tmp_path, case):
    change, message = BAD_FILES[case]
    arrays = _weights()
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ClassifierError, match=re.escape(message)) as err:
        load_classifier(path)
    assert "train_classifier" in str(err.value)  # it names the fix


def test_loader_rejects_missing_and_non_zip_files(tmp_path):
    with pytest.raises(ClassifierError, match="no such"):
        load_classifier(tmp_path / "nope.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ClassifierError, match="not a readable"):
        load_classifier(garbage)


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((7, 4))
    labels = np.array([0, 1, -1, 3, -1, 2, 0])  # -1: uniform target
    grad = np.zeros_like(logits)
    softmax_cross_entropy(logits, labels, grad)
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        step = np.zeros_like(logits)
        step[idx] = 1e-6
        up = softmax_cross_entropy(logits + step, labels, np.zeros_like(logits))
        down = softmax_cross_entropy(logits - step, labels, np.zeros_like(logits))
        numeric[idx] = (up - down) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


def test_uniform_target_loss_is_log_k_at_equal_logits():
    loss = softmax_cross_entropy(np.zeros((3, 10)), np.full(3, -1), np.zeros((3, 10)))
    assert loss == pytest.approx(np.log(10))


def test_training_step_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    net = MLP([5, 4, 3, 3], "leaky_relu", "linear", 0.1, np.float64)
    net.init(rng)
    clf = Classifier(net, "numpy")
    x, y = rng.standard_normal((6, 5)), np.array([0, 1, 2, -1, 1, -1])
    _Trainer(clf, 6, 0.0, 1)(x, y)  # lr 0: fills the gradients, leaves the weights
    numeric = np.zeros_like(net.params)
    for i in range(net.params.size):
        keep = net.params[i]
        losses = []
        for value in (keep + 1e-6, keep - 1e-6):
            net.params[i] = value
            losses.append(softmax_cross_entropy(clf.forward(x)[-1], y, np.zeros((6, 3))))
        net.params[i] = keep
        numeric[i] = (losses[0] - losses[1]) / 2e-6
    np.testing.assert_allclose(net.grads, numeric, atol=1e-8)


def test_fold_pixel_scale_moves_the_input_range():
    rng = np.random.default_rng(2)
    net = MLP(SIZES, "leaky_relu", "linear", 0.1, np.float64)
    net.init(rng)
    pixels = rng.random((5, 784))
    before = Classifier(net, "numpy").forward(pixels)[-1]
    fold_pixel_scale(net)
    after = Classifier(net, "numpy").forward(2 * pixels - 1)[-1]
    np.testing.assert_allclose(after, before, rtol=1e-10, atol=1e-10)


def test_shift_images_moves_content_by_at_most_the_shift():
    rng = np.random.default_rng(3)
    image = np.zeros((28, 28), np.float32)
    image[10:14, 12:15] = 1
    shifted = shift_images(np.repeat(image.reshape(1, -1), 50, axis=0), rng, shift=1)
    assert shifted.shape == (50, 784) and shifted.dtype == np.float32
    sums = shifted.reshape(50, 28, 28).sum(axis=(1, 2))
    np.testing.assert_array_equal(sums, image.sum())  # nothing falls off the edge here
    rows = np.nonzero(shifted.reshape(50, 28, 28).any(axis=2))[1]
    assert rows.min() >= 9 and rows.max() <= 14
    assert len(np.unique(shifted, axis=0)) > 1
    np.testing.assert_array_equal(shift_images(image.reshape(1, -1), rng, shift=0),
                                  image.reshape(1, -1))


def test_outlier_images_are_noise_in_the_pixel_range():
    rng = np.random.default_rng(4)
    digits = rng.random((8, 784)).astype(np.float32)
    noise = outlier_images(digits, 5, rng)
    assert noise.shape == (5, 784) and noise.dtype == np.float32
    assert noise.min() >= 0 and noise.max() <= 1


def test_train_classifier_smoke(tmp_path):
    """One epoch on 500 images: the loop runs, reports, saves a loadable file."""
    seen = []
    out = tmp_path / "new" / "C.NPZ"  # its folder made, its name kept as given
    result = train_classifier(out_path=out, epochs=1, n_train=500, progress=seen.append)
    assert [s["epoch"] for s in seen] == [1]
    assert result["n_train"] == 500 and result["n_holdout"] == 2000
    assert result["accuracy"] > 0.5  # chance is 0.1
    assert result["path"] == str(out) and os.listdir(out.parent) == ["C.NPZ"]
    clf = load_classifier(out)
    assert clf.net.params.dtype == np.float32


def test_cli_train_classifier_wants_an_npz_before_it_trains(tmp_path, capsys):
    assert main(["train-classifier", "--out", str(tmp_path / "clf")]) == 1
    assert "must end in .npz" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_train_classifier_learns_the_data_it_is_given(mnist):
    """data= replaces the embedded sample: here 0s relabelled 3 and 1s relabelled 7."""
    keep = np.flatnonzero(mnist.y <= 1)[:1000]
    data = SimpleNamespace(x=mnist.x[keep], y=np.where(mnist.y[keep] == 0, 3, 7))
    result = train_classifier(epochs=1, data=data)
    assert result["n_train"] == 800 and result["n_holdout"] == 200
    assert result["accuracy"] > 0.95


@pytest.mark.parametrize("options, message", [
    (dict(epochs=0), "epochs=0"), (dict(batch_size=2.5), "batch_size=2.5"),
    (dict(learning_rate=-1.0), "learning_rate=-1.0"), (dict(n_train=0), "n_train=0"),
    (dict(backend="cuda"), "backend='cuda'"),
])
def test_train_classifier_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        train_classifier(**options)
