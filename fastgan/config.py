"""Run configuration: every option a training run needs, validated once at the boundary."""
import dataclasses
import json

import numpy as np

from .backends import BACKENDS
from .threads import check_threads

MAX_SIZE = 1 << 20       # widest layer or largest batch accepted
MAX_PARAMS = 1 << 30     # parameters of G and D together
LOSSES = ("non-saturating", "minimax", "least-squares", "hinge", "wasserstein")
OPTIMIZERS = ("sgd", "adam")
HIDDEN = ("relu", "leaky_relu", "tanh", "sigmoid")
G_OUTPUTS = ("tanh", "linear", "sigmoid")
DTYPES = ("float32", "float64")
REDUCTIONS = ("mean", "sum")
NOISES = ("normal", "uniform")
INITS = ("auto", "he")
# keys of configs saved by earlier versions, read under their current names
_RENAMED = {"g_lr": "g_learning_rate", "d_lr": "d_learning_rate"}
# decay_rate=None: the NumPy tutorial's decay for SGD; Adam adapts its steps itself
DEFAULT_DECAY = {"sgd": 1e-4, "adam": 0.0}


@dataclasses.dataclass
class Config:
    """All hyper-parameters of a GAN run. See README "Python API" for each field.

    A Config checks itself when built (and `replace` builds a new one), raising
    ValueError/TypeError naming the first bad field. `decay_rate=None` reads as the optimizer's
    default (DEFAULT_DECAY) now and after any `replace` that changes the optimizer. A GAN
    keeps a `fixed` copy, whose fields refuse changes.
    """

    g_layers: list = dataclasses.field(default_factory=lambda: [100, 128, 784])
    d_layers: list = dataclasses.field(default_factory=lambda: [784, 128, 1])
    g_activation: str = "relu"
    d_activation: str = "leaky_relu"
    alpha: float = 0.01
    g_output: str = "tanh"
    loss: str = "non-saturating"
    d_steps: int = 1
    optimizer: str = "sgd"
    learning_rate: float = 1e-3
    g_learning_rate: float | None = None
    d_learning_rate: float | None = None
    decay_rate: float | None = None
    learning_rate_schedule: list = dataclasses.field(default_factory=list)
    loss_reduction: str = "mean"
    noise: str = "normal"
    weight_init: str = "auto"
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-8
    batch_size: int = 64
    epochs: int = 100
    dropout: float = 0.0
    label_smoothing: float = 0.0
    ema: float = 0.0
    pack: int = 1
    instance_noise: float = 0.0
    clip: float = 0.0
    n_classes: int = 0
    latent_codes: int = 0
    dtype: str = "float64"
    backend: str = "numba"
    seed: int = 0
    threads: int | None = None

    def __post_init__(self):
        # remembered, not a field: `replace` and `to_dict` need to know the rate was left open
        self._decay_given = self.decay_rate is not None
        self._validate()

    def __setattr__(self, name, value):
        # a built GAN sized its networks and copied its learning rates from its Config, so a
        # change there would be half taken, half ignored
        if self.__dict__.get("_fixed"):
            raise AttributeError(
                f"{name} cannot change on the Config of a built GAN, which made its networks "
                f"and optimizer from it; build another: GAN.from_config(gan.config.replace("
                f"{name}=...)) (to cut the learning rate at an epoch, use "
                f"learning_rate_schedule)")
        super().__setattr__(name, value)

    def fixed(self):
        """A checked copy that refuses changes to its fields: the one a GAN keeps."""
        copy = self.replace()
        copy.__dict__["_fixed"] = True
        return copy

    def _validate(self):
        """Raise ValueError/TypeError naming the first bad field.

        Valid NumPy scalars are turned into Python ones, so the config always saves as JSON.
        """
        _check_layers("g_layers", self.g_layers)
        _check_layers("d_layers", self.d_layers)
        self.g_layers = [int(s) for s in self.g_layers]
        self.d_layers = [int(s) for s in self.d_layers]
        if self.d_layers[-1] != 1:
            raise ValueError(f"d_layers={self.d_layers} must end in 1 (one logit per sample)")
        _check_choice("g_activation", self.g_activation, HIDDEN)
        _check_choice("d_activation", self.d_activation, HIDDEN)
        _check_choice("g_output", self.g_output, G_OUTPUTS)
        _check_choice("loss_reduction", self.loss_reduction, REDUCTIONS)
        _check_choice("noise", self.noise, NOISES)
        _check_choice("weight_init", self.weight_init, INITS)
        self.learning_rate_schedule = _check_schedule(self.learning_rate_schedule)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not self._decay_given:
            self.decay_rate = DEFAULT_DECAY[self.optimizer]
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("backend", self.backend, BACKENDS)
        for name in ("batch_size", "epochs", "d_steps", "pack"):
            _check_int(name, getattr(self, name), low=1)
        _check_int("n_classes", self.n_classes, low=0)
        _check_int("latent_codes", self.latent_codes, low=0)
        if self.batch_size % self.pack:
            raise ValueError(f"pack={self.pack} must divide batch_size={self.batch_size}: D "
                             f"judges the batch in groups of pack samples")
        _check_int("seed", self.seed, low=0)
        check_threads(self.threads)
        for name in ("learning_rate", "eps"):
            _check_float(name, getattr(self, name), low=0, open_low=True)
        for name in ("g_learning_rate", "d_learning_rate"):
            if getattr(self, name) is not None:
                _check_float(name, getattr(self, name), low=0, open_low=True)
        for name in ("decay_rate", "instance_noise", "clip"):
            _check_float(name, getattr(self, name), low=0)
        _check_float("label_smoothing", self.label_smoothing, low=0, high=0.5)
        if self.label_smoothing and self.loss in ("hinge", "wasserstein"):
            raise ValueError(f"label_smoothing={self.label_smoothing} has no target to smooth "
                             f"under loss={self.loss!r}; it applies to non-saturating, minimax "
                             f"and least-squares")
        if self.batch_size > MAX_SIZE:
            raise ValueError(f"batch_size={self.batch_size} is absurd; keep it <= {MAX_SIZE}")
        params = sum(k * m + m for s in (self.g_sizes, self.d_sizes) for k, m in zip(s, s[1:]))
        if params > MAX_PARAMS:
            raise ValueError(f"the layers hold {params:,} parameters, more than the "
                             f"{MAX_PARAMS:,} fastgan accepts; use smaller layers")
        self._normalize()
        _check_float("alpha", self.alpha, low=0)
        for name in ("beta1", "beta2", "dropout", "ema"):
            _check_float(name, getattr(self, name), low=0, high=1)

    def _normalize(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.integer):
                setattr(self, f.name, int(value))
            elif isinstance(value, np.floating):
                setattr(self, f.name, float(value))

    def to_dict(self):
        """The fields as plain values; decay_rate is None where it was left to the optimizer,
        so `from_dict` gives back a Config that behaves the same under `replace`."""
        values = dataclasses.asdict(self)
        if self._decay_is_default():
            values["decay_rate"] = None
        return values

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values):
        """Build a Config from a dict (such as a saved one), rejecting unknown keys."""
        if not isinstance(values, dict):
            raise ValueError(f"config must be a JSON object, got {type(values).__name__}")
        values = {_RENAMED.get(k, k): v for k, v in values.items()}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config option(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return cls(**values)

    def replace(self, **changes):
        """A new, checked Config with `changes` applied; a decay_rate left to the optimizer
        follows a new optimizer."""
        if self._decay_is_default():
            changes.setdefault("decay_rate", None)
        return dataclasses.replace(self, **changes)

    def _decay_is_default(self):
        # a rate set on the attribute after building counts as given
        return not self._decay_given and self.decay_rate == DEFAULT_DECAY.get(self.optimizer)

    @property
    def z_width(self):
        """Columns of G's random input: the noise, then a one-hot latent code if any."""
        return self.g_layers[0] + self.latent_codes

    @property
    def g_sizes(self):
        """The generator's real layer sizes: its random input, then a one-hot label when
        conditional."""
        return [self.z_width + self.n_classes, *self.g_layers[1:]]

    @property
    def d_sizes(self):
        """The discriminator's real layer sizes: pack samples, each with its one-hot label."""
        return [self.pack * (self.d_layers[0] + self.n_classes), *self.d_layers[1:]]

    def net_learning_rate(self, net):
        """The learning rate of net "G" or "D": its own if set, else `learning_rate`."""
        own = self.g_learning_rate if net == "G" else self.d_learning_rate
        return self.learning_rate if own is None else own


def _check_layers(name, sizes):
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"{name}={sizes!r} must list at least two layer sizes, input first")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 1 <= s <= MAX_SIZE:
            raise ValueError(f"{name}={list(sizes)} holds {s!r}; every size must be an int "
                             f"from 1 to {MAX_SIZE}")


def _check_schedule(schedule):
    """[[epoch, factor], ...] -> sorted [[int, float], ...]: from `epoch` on, lr *= factor."""
    fix = "give [[epoch, factor], ...], e.g. [[50, 0.01]] to cut the rate 100x from epoch 50"
    if not isinstance(schedule, (list, tuple)):
        raise ValueError(f"learning_rate_schedule={schedule!r} is not a list; {fix}")
    out = []
    for cut in schedule:
        if not isinstance(cut, (list, tuple)) or len(cut) != 2:
            raise ValueError(f"learning_rate_schedule holds {cut!r}; {fix}")
        _check_int("learning_rate_schedule epoch", cut[0], low=1)
        _check_float("learning_rate_schedule factor", cut[1], low=0, open_low=True)
        out.append([int(cut[0]), float(cut[1])])
    return sorted(out)


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not known; use one of {', '.join(choices)}")


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < low:
        raise ValueError(f"{name}={value} must be >= {low}")


def _check_float(name, value, low=None, high=None, open_low=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}={value!r} must be a number")
    if not np.isfinite(value):
        raise ValueError(f"{name}={value} must be finite")
    if low is not None and (value < low or (open_low and value == low)):
        raise ValueError(f"{name}={value} must be {'>' if open_low else '>='} {low}")
    if high is not None and value >= high:
        raise ValueError(f"{name}={value} must be < {high}")
