"""Whole training runs: the NumPy and the Numba backends train the same seeded run alike.

Both backends draw every random number (init, noise, shuffles, dropout masks) from the run's
NumPy generator, so they see the same batches and masks; only the rounding of the kernels
differs, and these tests bound how far it moves the parameters.
"""
import numpy as np
import pytest

from fastgan.backends import STEPS as COMPILED_STEPS
from fastgan.backends import get_backend
from fastgan.config import HIDDEN, Config
from fastgan.engine import LOSS_HEADS, Engine
from fastgan.kernels.crew import D_UPDATE, G_UPDATE
from fastgan.threads import thread_settings
from fastgan.train import Trainer

BACKENDS = ["numpy", "numba"]
# float64: per step the backends differ by a few eps (1.1e-16) of O(1) parameters (BLAS on row
# blocks vs one matmul); over ~300 steps that is ~1e-14, measured <= 1e-15. 1e-9 leaves room
# for a growth of the differences through training, yet catches any real divergence.
F64 = dict(rtol=1e-9, atol=1e-9)
# float32: the Numba kernels keep float64 between load and store while the twins round each
# operation to float32, so the backends drift apart by a few float32 eps (6e-8) per step;
# over <= 100 steps that adds up to at most ~100 eps ~ 6e-6 (measured <= 2e-7).
F32 = dict(rtol=1e-5, atol=1e-5)
STEPS = 100  # about how many steps each run takes, whatever its batch size


def features(n=300, dim=20, seed=0):
    """Data in [-1, 1] like scaled images, (n, dim)."""
    return np.tanh(np.random.default_rng(seed).standard_normal((n, dim)))


def ring(n=300, seed=0):
    """A 2-D toy set: eight Gaussians on the unit circle, (n, 2)."""
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * rng.integers(8, size=n) / 8
    return np.c_[np.cos(angle), np.sin(angle)] + 0.05 * rng.standard_normal((n, 2))


def config(dim, depth=2, width=32, **fields):
    """A Config with `depth` dense layers in G (noise 8 -> dim) and in D (dim -> 1)."""
    hidden = [width] * (depth - 1)
    return Config(g_layers=[8, *hidden, dim], d_layers=[dim, *hidden, 1], **fields)


def train(backend, cfg, data, steps=STEPS, labels=None, threads=None):
    """Train about `steps` steps (whole epochs) on `backend` (a name, or a namespace of
    primitives: the Numba backend's) with `threads` cores (None: all); return the engine
    and trainer."""
    be = get_backend(backend) if isinstance(backend, str) else backend
    with thread_settings(be.name, threads):
        engine = Engine(cfg, be)
        trainer = Trainer(engine, data, labels)
        trainer.run(max(1, round(steps / trainer.steps_per_epoch)))
    return engine, trainer


def assert_runs_match(cfg, data, tol, steps=STEPS, labels=None):
    """Train the run on both backends; the weights, losses and optimizer state must agree."""
    init = Engine(cfg, get_backend("numpy"))
    (a, ta), (b, tb) = (train(name, cfg, data, steps, labels) for name in BACKENDS)
    assert ta.step == tb.step > 0
    for name in ("G", "D"):
        before = getattr(init, name).params
        pa, pb = getattr(a, name).params, getattr(b, name).params
        assert np.abs(pa - before).max() > 1e-4, f"{name} did not train"
        np.testing.assert_allclose(pb, pa, err_msg=name, **tol)
        np.testing.assert_allclose(b.opt[name].m, a.opt[name].m, err_msg=f"{name} m", **tol)
        np.testing.assert_allclose(b.opt[name].v, a.opt[name].v, err_msg=f"{name} v", **tol)
    if cfg.ema:
        np.testing.assert_allclose(b.G_ema.params, a.G_ema.params, err_msg="G_ema", **tol)
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(tb.history[key], ta.history[key], err_msg=key, **tol)
    # both drew the same random numbers, in the same order
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_seed_gives_identical_initial_weights(dtype):
    cfg = config(20, depth=4, dtype=dtype)
    a, b = (Engine(cfg, get_backend(name)) for name in BACKENDS)
    other = Engine(cfg.replace(seed=1), get_backend("numba"))
    for name in ("G", "D"):
        pa, pb = getattr(a, name).params, getattr(b, name).params
        assert pa.dtype == pb.dtype == np.dtype(dtype)
        assert np.array_equal(pa, pb)
        weights = np.concatenate([w.ravel() for w in getattr(a, name).weights])
        others = np.concatenate([w.ravel() for w in getattr(other, name).weights])
        assert not np.isin(weights, others).any(), f"{name}: seed 1 repeats weights of seed 0"


@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("depth", [2, 4])
@pytest.mark.parametrize("act", HIDDEN)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float64_training_matches(optimizer, act, depth, batch):
    cfg = config(20, depth, g_activation=act, d_activation=act, optimizer=optimizer,
                 batch_size=batch, learning_rate=1e-2 if optimizer == "sgd" else 1e-3)
    data = features(max(300, 2 * batch))
    assert_runs_match(cfg, data, F64, steps=300 if batch == 1 else STEPS)


@pytest.mark.parametrize("loss", list(LOSS_HEADS))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float64_training_with_dropout_matches(optimizer, loss):
    cfg = config(20, depth=3, dropout=0.3, loss=loss, optimizer=optimizer, batch_size=7,
                 learning_rate=1e-2 if optimizer == "sgd" else 1e-3)
    assert_runs_match(cfg, features(), F64)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float64_toy_2d_linear_output_matches(optimizer):
    cfg = config(2, depth=3, width=16, g_output="linear", d_steps=2, optimizer=optimizer,
                 batch_size=16, learning_rate=1e-2 if optimizer == "sgd" else 1e-3)
    assert_runs_match(cfg, ring(), F64)


# Options that add primitives (ema_update, clip_update) or change the step's data path.
OPTIONS = {"pack": dict(pack=2), "labels": dict(n_classes=3),
           "instance_noise": dict(instance_noise=0.1),
           "label_smoothing": dict(label_smoothing=0.1), "ema": dict(ema=0.99),
           "clip": dict(loss="wasserstein", clip=0.1), "latent_codes": dict(latent_codes=4),
           "codes_and_labels": dict(latent_codes=4, n_classes=3)}


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float64_training_with_options_matches(optimizer, option):
    cfg = config(20, depth=3, dropout=0.3, optimizer=optimizer, batch_size=8,
                 learning_rate=1e-2 if optimizer == "sgd" else 1e-3, **OPTIONS[option])
    labels = np.arange(300) % 3 if cfg.n_classes else None
    assert_runs_match(cfg, features(), F64, labels=labels)


def test_float64_mnist_width_matches():
    cfg = config(784, depth=2, width=64, optimizer="adam", batch_size=32, dropout=0.3)
    assert_runs_match(cfg, features(300, 784), F64, steps=27)


@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float32_training_matches(optimizer, batch):
    # Adam divides each gradient by its own RMS, so a gradient that cancels to rounding noise
    # still moves its weight by a good part of lr: with the default eps=1e-8, one G weight
    # whose first gradient was 3.3e-9 (numpy) vs 3.5e-9 (numba) ended 1e-5 apart after one
    # step. eps=1e-5 damps such noise-sized gradients and leaves the others as they were.
    adam = optimizer == "adam"
    cfg = config(20, depth=3, optimizer=optimizer, batch_size=batch, dtype="float32",
                 dropout=0.3, learning_rate=1e-3 if adam else 1e-2, eps=1e-5 if adam else 1e-8)
    assert_runs_match(cfg, features(max(100, 2 * batch)), F32)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_uint8_pixels_train_as_their_scaled_floats(backend, dtype):
    """A run on uint8 pixels, scaled as each batch is gathered, equals the run on the same
    images scaled up front: bit for bit, on either backend and dtype."""
    pixels = np.random.default_rng(1).integers(0, 256, (200, 20), dtype=np.uint8)
    pixels[0, :2] = [0, 255]
    cfg = config(20, dtype=dtype, dropout=0.3, optimizer="adam", batch_size=16)
    (a, ta), (b, tb) = (train(backend, cfg, x, steps=30) for x in (pixels, pixels / 127.5 - 1))
    assert ta.data.dtype == np.uint8 and ta.step == tb.step > 0
    for name in ("G", "D"):
        np.testing.assert_array_equal(getattr(a, name).params, getattr(b, name).params)


def calls_only():
    """The Numba backend without its compiled D and G updates: the engine then makes the
    step's calls one by one, as it does on the NumPy backend."""
    be = get_backend("numba")
    for name in COMPILED_STEPS:
        delattr(be, name)
    return be


def assert_same_run(a, ta, b, tb):
    """Two runs of one config ended with the same weights, optimizer state, losses and draws."""
    for name in ("G", "D"):
        np.testing.assert_array_equal(getattr(b, name).params, getattr(a, name).params)
        np.testing.assert_array_equal(b.opt[name].m, a.opt[name].m)
    if a.cfg.ema:
        np.testing.assert_array_equal(b.G_ema.params, a.G_ema.params)
    assert tb.history["d_loss"] == ta.history["d_loss"]
    assert tb.history["g_loss"] == ta.history["g_loss"]
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@pytest.mark.parametrize("option", ["none", "no_dropout", "sgd", *OPTIONS])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("wide", [False, True])
def test_compiled_steps_equal_the_steps_of_calls(wide, dtype, option):
    """The compiled D and G updates (kernels.crew) run the calls' kernels on the same
    blocks: the same run bit for bit, with helper threads or on one thread. Only the wide
    nets have layers worth splitting, and so helpers."""
    extra = {"none": {}, "no_dropout": dict(dropout=0.0), "sgd": dict(optimizer="sgd")}
    fields = dict(dropout=0.3, optimizer="adam", batch_size=32 if wide else 8,
                  learning_rate=1e-3)
    fields.update(extra.get(option, OPTIONS.get(option)))
    dim = 256 if wide else 20
    cfg = config(dim, depth=3, width=64 if wide else 32, dtype=dtype, **fields)
    labels = np.arange(300) % 3 if cfg.n_classes else None
    data, steps = features(300, dim), 40
    a, ta = train(calls_only(), cfg, data, steps, labels)
    for threads in (None, 1):
        b, tb = train(get_backend("numba"), cfg, data, steps, labels, threads)
        assert_same_run(a, ta, b, tb)


@pytest.mark.parametrize("option", ["none", "labels", "instance_noise", "pack", "latent_codes"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("wide", [False, True])
def test_compiled_steps_form_the_inputs_of_pixels_as_the_calls_do(wide, dtype, option):
    """On uint8 pixels the compiled D update forms the batch's inputs itself (the gather,
    the noise, the labels), from the same draws: the same run bit for bit. Latent codes
    keep the inputs to the calls."""
    dim = 256 if wide else 20
    fields = dict(dropout=0.3, batch_size=32 if wide else 8, **OPTIONS.get(option, {}))
    cfg = config(dim, depth=3, width=64 if wide else 32, dtype=dtype, **fields)
    labels = np.arange(300) % 3 if cfg.n_classes else None
    pixels = np.random.default_rng(1).integers(0, 256, (300, dim)).astype(np.uint8)
    a, ta = train(calls_only(), cfg, pixels, 40, labels)
    be, calls = get_backend("numba"), []
    inputs = be.batch_inputs
    be.batch_inputs = lambda *args: calls.append(1) or inputs(*args)
    b, tb = train(be, cfg, pixels, 40, labels)
    assert_same_run(a, ta, b, tb)
    fused = option != "latent_codes"
    assert (len(calls) < tb.step) if fused else not calls


def test_engine_takes_the_compiled_updates_while_it_trains():
    """In a run the Numba engine's step is two compiled updates, not the passes one by one;
    outside one, the passes."""
    engine = Engine(config(20, depth=3, dropout=0.3, batch_size=8), get_backend("numba"))
    data, made = features(), []
    with thread_settings("numba", 1), engine.helping() as crew:
        crew.start()
        crew.finish()  # the crew takes the steps from the next one
        update = crew.update
        crew.update = lambda kind, step, key: made.append(kind) or update(kind, step, key)
        calls = engine.be.network_forward, engine.be.network_backward, engine.be.stream_masks
        # fail if called: the updates form the dropout masks too
        engine.be.network_forward = engine.be.network_backward = engine.be.stream_masks = None
        engine.d_step(data, np.arange(8))
        engine.g_step()
    assert made == [D_UPDATE, G_UPDATE]
    engine.be.network_forward, engine.be.network_backward, engine.be.stream_masks = calls
    with thread_settings("numba"):
        engine.d_step(data, np.arange(8))
        engine.g_step()
    assert len(made) == 2
