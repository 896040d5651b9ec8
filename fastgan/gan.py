"""`GAN`: a drop-in for the NumPy tutorial's class, and fastgan's modern API on the same engine."""
import dataclasses
import math
import warnings

import numpy as np

from .backends import get_backend
from .checkpoint import load_checkpoint, save_checkpoint
from .config import Config
from .data.sources import image_rows, select_digits
from .engine import Engine, draw_latent
from .threads import step_threads, thread_settings
from .train import Trainer, check_losses

_OPTIONS = {f.name for f in dataclasses.fields(Config)} - {"g_layers", "d_layers"}
# the options of `GAN` itself, beside Config's, with their defaults
_GAN_OPTIONS = {"numbers": None, "image_size": 28, "display_epochs": 5, "create_gif": True,
                "out_dir": "GAN_sample_images", "gif_path": "GAN.gif", "verbose": True}
# what G's bounded outputs can reach
_REACH = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


class GAN:
    """A generator/discriminator pair of MLPs and everything needed to train them.

    Called like the NumPy tutorial's class, ``GAN([3])`` builds its GAN: G 100-128-784 (relu,
    tanh), D 784-128-1 (leaky relu, sigmoid), SGD with lr <- lr / (1 + decay * epoch), and
    its gradient scale and initial weights: given `numbers`, the losses are summed over the
    batch, as the tutorial's backward pass does, so its learning rates mean what they mean
    there (64x a batch mean's step at batch 64), and every layer starts He-normal, as the
    tutorial's do (on digit 3 for 100 epochs, 96-99% of samples are confident 3s against
    71-78% with Xavier output layers). Built without `numbers` (the modern API), the losses
    are batch means and only relu-family layers start He-normal; `loss_reduction` and
    `weight_init` set either explicitly.

    The tutorial's discriminator backward reuses the fake pass's pre-activations for the real
    pass (its `z0_d` holds the last forward's); fastgan backpropagates each pass through its
    own activations, the correct gradient.

    Parameters
    ----------
    numbers : list of int, optional
        Digits `train` keeps (the tutorial's digit subset); None keeps them all.
    epochs, batch_size, learning_rate, decay_rate : as in `Config`.
    input_layer_size_g, hidden_layer_size_g, hidden_layer_size_d, image_size : int
        The tutorial's layer sizes, used unless `g_layers` / `d_layers` are given.
    display_epochs : int
        `train` prints the tutorial's line and saves a grid every this many epochs.
    create_gif : bool
        `train` ends with a GIF of the sample grids.
    g_layers, d_layers : list of int, optional
        Full layer sizes, input first; D must end in 1.
    out_dir : str
        Folder for `train`'s grids (the tutorial's GAN_sample_images).
    gif_path : str
        Where `train` writes the GIF (the tutorial's GAN.gif).
    **options
        Any other field of `Config` (optimizer, loss, dropout, dtype, backend, seed, threads...).
    """

    def __init__(self, numbers=None, epochs=100, batch_size=64, input_layer_size_g=100,
                 hidden_layer_size_g=128, hidden_layer_size_d=128, learning_rate=1e-3,
                 decay_rate=None, image_size=28, display_epochs=5, create_gif=True, *,
                 g_layers=None, d_layers=None, out_dir="GAN_sample_images",
                 gif_path="GAN.gif", verbose=True, **options):
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise TypeError(f"GAN() got unknown option(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(_OPTIONS))}")
        pixels = _positive_int("image_size", image_size) ** 2
        if g_layers is None:
            g_layers = [input_layer_size_g, hidden_layer_size_g, pixels]
        if d_layers is None:
            d_layers = [pixels, hidden_layer_size_d, 1]
        if numbers is not None:  # the tutorial's call: its gradient scale and initial weights
            options.setdefault("loss_reduction", "sum")
            options.setdefault("weight_init", "he")
        config = Config(g_layers=list(g_layers), d_layers=list(d_layers), epochs=epochs,
                        batch_size=batch_size, learning_rate=learning_rate,
                        decay_rate=decay_rate, **options)
        self._setup(config)
        self._set_options(numbers=numbers, image_size=image_size, display_epochs=display_epochs,
                          create_gif=create_gif, out_dir=out_dir, gif_path=gif_path,
                          verbose=verbose)

    def _setup(self, config):
        if config.g_layers[-1] != config.d_layers[0]:
            raise ValueError(f"g_layers ends in {config.g_layers[-1]} but d_layers starts with "
                             f"{config.d_layers[0]}; G's output is D's input, make them equal")
        self.config = config = config.fixed()
        self._step_threads = step_threads(config)
        self.engine = Engine(config, get_backend(config.backend))
        self.trainer = None
        self._pending = None
        self.extra_state = {}  # a loaded checkpoint's entries saved with save(extra_state=)
        self._sample_rng = np.random.default_rng([config.seed, 1])
        self._warned_range = False

    def _set_options(self, **options):
        """Set GAN's own options (see _GAN_OPTIONS), checking them."""
        numbers = options["numbers"]
        if numbers is not None and (isinstance(numbers, (str, bytes))
                                    or not np.iterable(numbers)):
            raise TypeError(f"numbers={numbers!r} must be a list of digits, e.g. [3]")
        self.numbers = None if numbers is None else list(numbers)
        self.image_size = _positive_int("image_size", options["image_size"])
        self.display_epochs = _positive_int("display_epochs", options["display_epochs"])
        self.create_gif = bool(options["create_gif"])
        self.out_dir, self.gif_path = options["out_dir"], options["gif_path"]
        self.verbose = options["verbose"]

    @classmethod
    def from_config(cls, config, **gan_options):
        """Build a GAN from a `Config` (e.g. a preset's; a dict of its fields also does);
        gan_options as in the constructor (numbers, display_epochs, out_dir...)."""
        unknown = sorted(set(gan_options) - set(_GAN_OPTIONS))
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(_GAN_OPTIONS))}, and Config's fields")
        if isinstance(config, dict):
            config = Config.from_dict(config)
        elif not isinstance(config, Config):
            raise TypeError(f"config must be a Config or a dict of its fields, got "
                            f"{type(config).__name__}")
        gan = cls.__new__(cls)
        gan._setup(config)
        gan._set_options(**{**_GAN_OPTIONS, **gan_options})
        return gan

    @classmethod
    def from_preset(cls, name, **options):
        """Build a GAN from a named preset (see `fastgan.presets`), options overriding it.

        The "fastgan" preset is conditional (n_classes=10): fit it with labels, or pass
        n_classes=0 (which also takes its unconditional changes, see `fastgan.presets`).
        """
        from .presets import apply_unconditional, preset, split_run_keys
        fields = preset(name)
        run = split_run_keys(fields)
        gan_options = {k: options.pop(k) for k in list(options) if k not in _OPTIONS
                       and k not in ("g_layers", "d_layers")}
        fields.update(options)
        apply_unconditional(fields, run, options)
        return cls.from_config(Config.from_dict(fields), **gan_options)

    # --- training ---------------------------------------------------------------------
    def train(self, x_train, y_train):
        """The tutorial's entry point: train on raw uint8 images, return (J_Ds, J_Gs).

        Keeps the digits in `numbers` (uint8 images stay uint8, each batch scaled to [-1, 1]
        as it is gathered); every `display_epochs` epochs
        prints the tutorial's line and saves a 4x4 grid of the batch's fakes as
        `out_dir`/GAN_epoch{e}.png (shown inline in a notebook); at the end the GIF
        `gif_path`. See `fastgan.tutorial.TutorialPictures`.
        """
        from .tutorial import TutorialPictures
        x, y = image_rows(x_train), None if y_train is None else np.asarray(y_train)
        if self.numbers is not None:
            if y is None:
                raise ValueError(f"train keeps the digits {self.numbers}: pass the labels, "
                                 f"train(x_train, y_train)")
            x, y = select_digits(x, y, self.numbers)
        pictures = TutorialPictures(self, self.out_dir, self.display_epochs, self.verbose,
                                    self.gif_path)
        history = self.fit(x, y if self.config.n_classes else None, on_epoch=pictures.on_epoch)
        if self.create_gif:
            pictures.make_gif()
        return history["d_loss"], history["g_loss"]

    def fit(self, X, y=None, epochs=None, minutes=None, on_step=None, on_epoch=None,
            should_stop=None, steps=None):
        """Train on data X (n, features); return the history {"d_loss", "g_loss"}.

        X holds floats, or uint8 pixel values 0..255, which each batch scales to [-1, 1]
        as `fastgan.data.scale_images` does (a quarter of float32's memory).

        Writes no files. Calling fit again continues the same run, on the X given (of the
        same shape: the epoch's data order goes on over its rows).
        `epochs` and `steps` count from the start of the run (default: config.epochs, and
        no step limit), and whichever comes first ends it; `minutes` caps the wall time of
        this call. Callbacks as in `Trainer.run`.
        """
        X = self._check_data(X)
        y = self._check_labels(y, len(X))
        if self.trainer is None:
            trainer = Trainer(self.engine, X, y)
            if self._pending is not None:
                trainer.restore(self._pending)  # raises, leaving self as it was, on a mismatch
            self.trainer, self._pending = trainer, None
        elif self.trainer.data.shape != X.shape:
            raise ValueError(f"X has shape {X.shape} but this run was trained on "
                             f"{self.trainer.data.shape}; continue with data of that shape")
        else:  # the run's epoch and data order go on, over these rows
            self.trainer.use(X, y)
        epochs = self.config.epochs if epochs is None else _positive_int("epochs", epochs)
        steps = None if steps is None else _positive_int("steps", steps)
        _check_minutes(minutes)
        with thread_settings(self.config.backend, self._step_threads):
            self.last_stop = self.trainer.run(epochs, minutes, on_step, on_epoch, should_stop,
                                              steps)
        return self.history

    def train_step(self, real, labels=None):
        """One training step on a batch you drew yourself; return (d_loss, g_loss).

        For a loop of your own, like the 1-D toy tutorial's ``train_gan_step``: D steps on
        `real` and a fresh fake batch (d_steps times, on consecutive slices of `real`), then
        G one step. The losses are batch means. `fit`'s epochs, history and learning-rate
        schedule are left alone.

        Parameters
        ----------
        real : ndarray, shape (batch_size * d_steps, features), floats
        labels : ndarray of int, shape (batch_size * d_steps,), only when conditional
        """
        n = self.config.batch_size * self.config.d_steps
        real = self._check_data(real)
        if len(real) != n:
            raise ValueError(f"real has {len(real)} rows; train_step takes batch_size * "
                             f"d_steps = {n} (set batch_size when you build the GAN)")
        # uint8 pixels stay uint8: the engine scales them to [-1, 1] as it gathers them
        dtype = None if real.dtype == np.uint8 else self.engine.dtype
        real = np.ascontiguousarray(real, dtype=dtype)
        labels = self._check_labels(labels, n)
        rows = np.arange(n)
        with thread_settings(self.config.backend, self._step_threads), \
                np.errstate(all="ignore"):
            for k in range(self.config.d_steps):
                d_loss = self.engine.d_step(real, rows[k * self.engine.n:][:self.engine.n],
                                            labels)
            g_loss = self.engine.g_step()
        check_losses(d_loss, g_loss, "this step")
        return d_loss, g_loss

    def _check_data(self, X):
        X = np.asarray(X)
        features = self.config.d_layers[0]
        if X.ndim != 2 or X.shape[1] != features or X.shape[0] == 0:
            raise ValueError(f"X has shape {X.shape}; expected (n, {features}) with n >= 1 "
                             f"(reshape images with X.reshape(len(X), -1))")
        if X.dtype == np.uint8:  # pixel values, scaled as batches are gathered
            return X
        if not np.issubdtype(X.dtype, np.floating):
            raise TypeError(f"X has dtype {X.dtype}; give uint8 pixels or floats, e.g. images "
                            f"scaled to [-1, 1] with fastgan.data.scale_images(x)")
        # NaN and infinities show in the extremes: one pass each, no array of flags
        lo, hi = float(X.min()), float(X.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("X holds NaN or infinite values; clean or drop those samples")
        self._check_range(lo, hi)
        return X

    def _check_range(self, lo, hi):
        """Refuse data (least value lo, greatest hi) beyond what the run's float type holds,
        or float pixel values 0..255 (a scale left out); warn when the data leaves what G's
        bounded output can reach."""
        if max(-lo, hi) > float(np.finfo(self.engine.dtype).max):
            raise ValueError(f"X reaches {max(-lo, hi):g}, beyond {self.engine.dtype}'s range; "
                             f"rescale it or train in float64")
        out = self.config.g_output
        if out not in _REACH:
            return
        low, high = _REACH[out]
        if lo >= 0 and 127 < hi <= 255:
            raise ValueError(f"X holds floats in [{lo:g}, {hi:g}], pixel values it seems, but "
                             f"G's {out} output reaches [{low:g}, {high:g}]: pass "
                             f"X.astype(np.uint8), which each batch scales to [-1, 1], or scale "
                             f"X with fastgan.data.scale_images")
        if (lo < low or hi > high) and not self._warned_range:
            self._warned_range = True  # once per GAN: train_step loops would repeat it
            warnings.warn(f"X lies in [{lo:g}, {hi:g}] but G's {out} output reaches only "
                          f"[{low:g}, {high:g}]: G cannot match the data outside it",
                          stacklevel=4)

    def _check_labels(self, y, n):
        C = self.config.n_classes
        if C == 0:
            if y is not None:
                raise ValueError("labels given, but this GAN is unconditional (n_classes=0): "
                                 "build it with n_classes=K to condition on K classes, or "
                                 "leave the labels out")
            return None
        if y is None:
            raise ValueError(f"this GAN is conditional (n_classes={C}): pass the labels, "
                             f"fit(X, y) or train_step(real, labels)")
        y = np.asarray(y)
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be ({n},) ints, one label per row of X; got "
                             f"{y.dtype} {y.shape}")
        return self._check_classes(y)

    def _check_classes(self, labels):
        """Refuse labels outside 0..n_classes - 1; return them."""
        C = self.config.n_classes
        if len(labels) and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(f"labels must lie in 0..{C - 1} (n_classes={C}); found "
                             f"{labels.min()}..{labels.max()}")
        return labels

    @property
    def history(self):
        if self.trainer is not None:
            return self.trainer.history
        if self._pending is not None:  # loaded, not yet trained further
            return {"d_loss": self._pending["d_loss"], "g_loss": self._pending["g_loss"]}
        return {"d_loss": [], "g_loss": []}

    # --- sampling and parameters ----------------------------------------------------------
    def generate(self, n, labels=None, seed=None):
        """Return n samples (n, features) from G; `seed` fixes their noise.

        For a conditional GAN, `labels` is one int for all samples or (n,) ints; by default
        the classes take turns (0, 1, ..., C-1, 0, ...).
        """
        n = _positive_int("n", n)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed={seed!r} must be an int >= 0 (or None)")
        rng = self._sample_rng if seed is None else np.random.default_rng(seed)
        z = draw_latent(rng, self.config, np.empty((n, self.config.z_width)))
        labels = self._sample_labels(n, labels)
        with thread_settings(self.config.backend, self.config.threads):
            return self.engine.generate(z, labels)

    def _sample_labels(self, n, labels):
        C = self.config.n_classes
        if C == 0:
            if labels is not None:
                raise ValueError("labels= needs a conditional GAN (n_classes > 0)")
            return None
        if labels is None:
            return np.arange(n) % C
        labels = np.asarray(labels)
        if labels.shape not in ((), (n,)):
            raise ValueError(f"labels must be one int or ({n},) ints, one per sample; got "
                             f"shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be ints in 0..{C - 1}; got {labels.dtype}")
        return self._check_classes(np.broadcast_to(labels, (n,)))

    def state_dict(self):
        """Copies of every parameter: {"G.w0": (k, m), "G.b0": (m,), ..., "D.w0": ...}."""
        out = {}
        for tag, net in (("G", self.engine.G), ("D", self.engine.D)):
            for l, (w, b) in enumerate(zip(net.weights, net.biases)):
                out[f"{tag}.w{l}"] = w.copy()
                out[f"{tag}.b{l}"] = b.copy()
        return out

    # --- checkpoints ------------------------------------------------------------------
    def save(self, path, extra_state=None):
        """Save config, parameters, optimizer, RNG and data-order state to `path` (.npz)."""
        from .resume import pack_run
        arrays, state = pack_run(self)
        taken = sorted(set(extra_state or {}) & set(state))
        if taken:
            raise ValueError(f"extra_state may not replace the run's own {', '.join(taken)}; "
                             f"name those entries differently")
        state.update(extra_state or {})
        save_checkpoint(path, self.config, arrays, state)

    @classmethod
    def load(cls, path, **gan_options):
        """Load a GAN saved with `save`; training continues where it stopped (see `fit`).
        The entries saved with `extra_state` are in the loaded GAN's `extra_state`.
        `threads` (an option besides gan_options) runs it on that many threads, which
        changes no result."""
        from .resume import expected_arrays, unpack_run
        threads = gan_options.pop("threads", None)
        config, arrays, state = load_checkpoint(path, expected_arrays)
        if threads is not None:
            config = config.replace(threads=threads)
        gan = cls.from_config(config, **gan_options)
        unpack_run(gan, arrays, state, path)
        return gan


def _check_minutes(minutes):
    if minutes is None:
        return
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float, np.number)) \
            or not np.isfinite(minutes) or minutes <= 0:
        raise ValueError(f"minutes={minutes!r} must be a positive number")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < 1:
        raise ValueError(f"{name}={value} must be a positive int")
    return int(value)
