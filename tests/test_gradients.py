"""Analytic gradients against float64 central finite differences, on both backends.

Central differences with step H have truncation error ~H^2 |f'''| ~ 1e-12 and rounding error
~eps |f| / H ~ 1e-10 for these O(1) functions, so rtol 1e-6 / atol 1e-8 leaves a wide margin
while any wrong term (a missing mask, a wrong slope) is off by O(1).
"""
import numpy as np
import pytest

from fastgan import threads
from fastgan.backends import get_backend
from fastgan.config import Config
from fastgan.engine import LOSS_HEADS, Engine
from fastgan.kernels.codes import ACTIVATIONS, HEADS
from helpers import ALPHA, dense_problem, empty

H = 1e-6
FD_TOL = dict(rtol=1e-6, atol=1e-8)
BACKENDS = ["numpy", "numba"]


@pytest.fixture(scope="module", autouse=True)
def numba_threads():
    """The Numba kernels call BLAS from every Numba thread: keep BLAS single-threaded."""
    with threads.thread_settings("numba"):
        yield


def central_differences(f, p):
    """df/dp by central differences, perturbing the array p in place (restored after)."""
    grad = np.zeros_like(p)
    flat, g = p.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + H
        up = f()
        flat[i] = keep - H
        down = f()
        flat[i] = keep
        g[i] = (up - down) / (2 * H)
    return grad


# --- dense_backward -----------------------------------------------------------------------

def away_from_kinks(rng, n, k, m, act, dropout):
    """A float64 dense problem whose pre-activations stay 0.05 away from relu's kink at 0."""
    while True:
        x, w, b, code, mask = dense_problem(rng, n, k, m, act, np.float64, dropout)
        if np.abs(x @ w + b).min() > 0.05:
            return x, w, b, code, mask


@pytest.mark.parametrize("dropout", [False, True], ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_dense_backward_matches_finite_differences(backend, act, dropout):
    be = get_backend(backend)
    rng = np.random.default_rng([ACTIVATIONS[act], int(dropout)])
    n, k, m = 3, 4, 5
    x, w, b, code, mask = away_from_kinks(rng, n, k, m, act, dropout)
    r = rng.standard_normal((n, m))

    def forward():
        """out, and y the layer's output: h = out * mask with dropout, out without."""
        out = np.zeros((n, m))
        h = np.zeros((n, m)) if dropout else empty(np.float64)
        be.dense_forward(x, w, b, code, ALPHA, mask, out, h)
        return out, h if dropout else out

    def f():
        return float((forward()[1] * r).sum())  # so that df/dy = r

    dout, dw, db, dx = r.copy(), np.zeros((k, m)), np.zeros(m), np.zeros((n, k))
    be.dense_backward(x, w, forward()[0], dout, code, ALPHA, mask, dw, db, dx)

    np.testing.assert_allclose(dw, central_differences(f, w), err_msg="dw", **FD_TOL)
    np.testing.assert_allclose(db, central_differences(f, b), err_msg="db", **FD_TOL)
    np.testing.assert_allclose(dx, central_differences(f, x), err_msg="dx", **FD_TOL)


# --- loss_head ----------------------------------------------------------------------------

@pytest.mark.parametrize("target", [0.0, 1.0, -1.0, 0.9])
@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_head_matches_finite_differences(backend, head, target):
    be = get_backend(backend)
    rng = np.random.default_rng([HEADS[head], int(10 * target) % 32])
    logits = 2 * rng.standard_normal((8, 1))
    if target:
        # keep 0.05 away from the hinge's kink at t * l = 1
        near = np.abs(target * logits - 1) < 0.05
        logits[near] += 0.1
    weight = 1.0 / 3
    dlogits = np.zeros_like(logits)
    be.loss_head(logits, HEADS[head], target, weight, dlogits)

    def f():
        return be.loss_head(logits, HEADS[head], target, weight, np.zeros_like(logits))

    np.testing.assert_allclose(dlogits, central_differences(f, logits), **FD_TOL)


# --- a whole training step ----------------------------------------------------------------

def frozen_engine(backend, loss, dropout, batch_size=3, **fields):
    """A small float64 engine whose optimizer updates do nothing, so a step only fills grads."""
    cfg = Config(g_layers=[5, 7, 6], d_layers=[6, 4, 1], batch_size=batch_size,
                 dtype="float64", loss=loss, dropout=dropout, g_output="linear",
                 backend=backend, seed=3, **fields)
    engine = Engine(cfg, get_backend(backend))
    engine._step = lambda name, **more: None  # backward then applies no update
    return engine


def assert_engine_gradients(eng, labels=None):
    """D.grads after d_step and G.grads after g_step, against differences of their losses.

    Each evaluation replays the same step: the generator state is restored first, so the
    noise, the dropout masks and the real batch are the same every time.
    """
    n = eng.cfg.batch_size
    data = np.random.default_rng(4).standard_normal((9, eng.cfg.d_layers[0]))
    idx = np.array([4, 0, 7, 2, 8, 5][:n])
    start = eng.rng.bit_generator.state

    def d_loss():
        eng.rng.bit_generator.state = start
        return eng.d_step(data, idx) if labels is None else eng.d_step(data, idx, labels)

    def g_loss():
        d_loss()  # G's fake rows are made in d_step
        return eng.g_step()

    d_loss()
    d_grads = eng.D.grads.copy()
    g_loss()
    g_grads = eng.G.grads.copy()
    assert np.abs(d_grads).max() > 0 and np.abs(g_grads).max() > 0
    np.testing.assert_allclose(d_grads, central_differences(d_loss, eng.D.params),
                               err_msg="D", **FD_TOL)
    np.testing.assert_allclose(g_grads, central_differences(g_loss, eng.G.params),
                               err_msg="G", **FD_TOL)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("loss", list(LOSS_HEADS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_engine_gradients_match_finite_differences(backend, loss, dropout):
    assert_engine_gradients(frozen_engine(backend, loss, dropout))


# Options that change the path through a step: packed D inputs, one-hot labels on both
# networks, instance noise on D's input, a smoothed real label, a one-hot code on G's
# input, and all at once.
OPTIONS = {"pack": dict(pack=2), "labels": dict(n_classes=3),
           "instance_noise": dict(instance_noise=0.1),
           "label_smoothing": dict(label_smoothing=0.1), "latent_codes": dict(latent_codes=4),
           "all": dict(pack=2, n_classes=3, instance_noise=0.1, label_smoothing=0.1,
                       latent_codes=4)}


@pytest.mark.parametrize("loss, option", [
    (loss, option) for loss in ("non-saturating", "least-squares", "hinge") for option in OPTIONS
    if not (loss == "hinge" and option == "label_smoothing")])  # hinge has no target to smooth
@pytest.mark.parametrize("backend", BACKENDS)
def test_engine_gradients_with_options_match_finite_differences(backend, loss, option):
    options = dict(OPTIONS[option])
    if loss == "hinge":
        options.pop("label_smoothing", None)
    eng = frozen_engine(backend, loss, 0.3, batch_size=4, **options)
    assert_engine_gradients(eng, labels=np.arange(9) % 3 if eng.cfg.n_classes else None)
