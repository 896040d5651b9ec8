"""What a sweep runs: fixed settings, a grid and random draws over run options, times seeds.

A sweep names options by their `Config` field (`loss`, `learning_rate`, `ema`, ...) or by a
run option (`dataset`, `digits`, `preset`, `minutes`, `epochs`). Every trial's config is
built and validated here, before anything runs, so a typo fails at once with Config's own
message rather than in the middle of the night on a worker.
"""
import dataclasses
import itertools
import math
import os
import re
import tomllib

import numpy as np

from ..config import Config
from ..data import SPECS
from ..presets import apply_unconditional, default_preset, preset, split_run_keys

RUN_OPTIONS = ("dataset", "digits", "preset", "minutes", "epochs")
DISTRIBUTIONS = ("uniform", "log_uniform", "int", "choice")
_NOT_OPTIONS = {"seed": "give seeds = N (or a list of seeds) instead",
                "threads": "the sweep gives each trial its share of a worker's cores "
                           "(--threads to choose)"}
_TOP_KEYS = {"dataset", "preset", "minutes", "epochs", "seeds", "samples", "sample_seed",
             "eval_n", "set", "grid", "random"}


class SweepSpecError(ValueError):
    """A sweep file or option that cannot run; the message names the key and the fix."""


@dataclasses.dataclass
class SweepSpec:
    """A sweep: `set` values for every trial, a `grid` crossed in full, `samples` random
    draws from `random`, each setting run once per seed.

    Parameters
    ----------
    set : dict
        Option -> value shared by every trial, e.g. {"dataset": "grid25", "minutes": 2}.
    grid : dict
        Option -> list of values; every combination is a setting.
    random : dict
        Option -> {"uniform": [lo, hi]}, {"log_uniform": [lo, hi]}, {"int": [lo, hi]} or
        {"choice": [values]}; `samples` draws of all of them, crossed with the grid.
    seeds : int or list of int
        N means seeds 0..N-1; each setting runs once per seed (Config's `seed`).
    samples : int
        Random draws (ignored without `random`).
    sample_seed : int
        Seed of the random draws, so a sweep file always means the same trials.
    eval_n : int
        Samples each trial's final evaluation scores (as `fastgan eval --n`).
    """

    set: dict = dataclasses.field(default_factory=dict)
    grid: dict = dataclasses.field(default_factory=dict)
    random: dict = dataclasses.field(default_factory=dict)
    seeds: object = 1
    samples: int = 1
    sample_seed: int = 0
    eval_n: int = 10000

    def swept(self):
        """Options that vary between settings (grid and random), in order."""
        return [*self.grid, *self.random]

    def trials(self):
        """Every trial as {"id", "options", "seed"}, validated; seeds vary slowest so an
        interrupted sweep has seen every setting once before any twice."""
        self._check_shape()
        settings = [{**self.set, **point, **draw}
                    for point in _grid_points(self.grid) for draw in self._draws()]
        trials = []
        for seed in _seed_list(self.seeds):
            for options in settings:
                index = len(trials)
                check_trial(options, seed)
                trials.append({"id": _trial_id(index, options, seed, self.swept()),
                               "options": options, "seed": seed})
        return trials

    def to_dict(self):
        return dataclasses.asdict(self)

    def _check_shape(self):
        for name in ("set", "grid", "random"):
            if not isinstance(getattr(self, name), dict):
                raise SweepSpecError(f"{name} must be a table of option = value")
        _check_int("samples", self.samples, 1)
        _check_int("sample_seed", self.sample_seed, 0)
        _check_int("eval_n", self.eval_n, 2)
        twice = (set(self.set) & set(self.grid)) | (set(self.set) & set(self.random)) | (
            set(self.grid) & set(self.random))
        if twice:
            raise SweepSpecError(f"{', '.join(sorted(twice))} given more than once (set, "
                                 f"grid, random): keep one")
        for key in [*self.set, *self.grid, *self.random]:
            check_option_name(key)
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise SweepSpecError(f"grid {key} = {values!r} must be a non-empty list of "
                                     f"values, e.g. {key} = [a, b]")
        for key, dist in self.random.items():
            _check_distribution(key, dist)

    def _draws(self):
        if not self.random:
            return [{}]
        rng = np.random.default_rng(self.sample_seed)
        return [{key: _draw(rng, dist) for key, dist in self.random.items()}
                for _ in range(self.samples)]


def load_sweep_file(path):
    """Read a sweep TOML file into a SweepSpec (see docs/sweeps.md for its keys)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise SweepSpecError(f"cannot read sweep file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise SweepSpecError(f"sweep file {path} is not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise SweepSpecError(f"sweep file {path} is not UTF-8 text (byte {e.start}: "
                             f"{e.reason})") from None
    return spec_from_dict(data, where=f"sweep file {path}")


def spec_from_dict(data, where="sweep"):
    """A SweepSpec from a dict shaped like a sweep file (top-level run options, [set],
    [grid], [random], seeds, samples, sample_seed, eval_n)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise SweepSpecError(f"{where}: unknown key(s) {', '.join(unknown)}; top-level keys "
                             f"are {', '.join(sorted(_TOP_KEYS))} (options go in [set], "
                             f"[grid] or [random])")
    fixed = {k: data[k] for k in RUN_OPTIONS if k in data}
    extra = data.get("set", {})
    if not isinstance(extra, dict):
        raise SweepSpecError(f"{where}: set must be a table of option = value")
    both = sorted(set(fixed) & set(extra))
    if both:
        raise SweepSpecError(f"{where}: {', '.join(both)} given at the top and in [set]; "
                             f"keep one")
    return SweepSpec(set={**fixed, **extra}, grid=data.get("grid", {}),
                     random=data.get("random", {}), seeds=data.get("seeds", 1),
                     samples=data.get("samples", 1), sample_seed=data.get("sample_seed", 0),
                     eval_n=data.get("eval_n", 10000))


def check_option_name(key):
    """Raise SweepSpecError unless `key` is a Config field or a run option a sweep sets."""
    fields = [f.name for f in dataclasses.fields(Config)
              if f.name not in _NOT_OPTIONS and f.name not in RUN_OPTIONS]
    if key in _NOT_OPTIONS:
        raise SweepSpecError(f"{key} is not a sweep option: {_NOT_OPTIONS[key]}")
    if key not in fields and key not in RUN_OPTIONS:
        raise SweepSpecError(f"{key!r} is not an option; use a Config field "
                             f"({', '.join(fields)}) or one of {', '.join(RUN_OPTIONS)}")


def check_trial(options, seed):
    """Validate one trial's options the way `fastgan train` would, without its data.

    The preset and the options make a Config, which validates every field; the run length
    and data set are checked here. Raises SweepSpecError naming the trial's values.
    """
    try:
        _check_run_options(options)
        fields = preset(options.get("preset") or default_preset(str(options.get("dataset",
                                                                                 "mnist-sample"))))
        run = split_run_keys(fields)
        explicit = {k: v for k, v in options.items() if k not in RUN_OPTIONS}
        fields.update(explicit)
        apply_unconditional(fields, run, explicit)
        Config.from_dict({**fields, "seed": seed})
    except (ValueError, TypeError) as e:
        shown = ", ".join(f"{k}={v!r}" for k, v in options.items())
        raise SweepSpecError(f"trial ({shown}, seed={seed}): {e}") from None


def _check_run_options(options):
    if "minutes" in options and "epochs" in options:
        raise ValueError("give minutes or epochs, not both")
    if "minutes" in options:
        m = options["minutes"]
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0:
            raise ValueError(f"minutes={m!r} must be a number > 0")
    if "epochs" in options:
        _check_int("epochs", options["epochs"], 1)
    dataset = options.get("dataset")
    if dataset is not None and not isinstance(dataset, str):
        raise ValueError(f"dataset={dataset!r} must be a name or a path")
    if dataset is not None and dataset not in SPECS and not os.path.exists(dataset):
        raise ValueError(f"dataset={dataset!r} is neither a data set ({', '.join(SPECS)}) nor "
                         f"a file or folder here")
    digits = options.get("digits")
    if digits is not None and not (isinstance(digits, list) and all(
            isinstance(d, int) and not isinstance(d, bool) for d in digits)):
        raise ValueError(f"digits={digits!r} must be a list of ints, e.g. [3, 5]")


def _check_distribution(key, dist):
    shape = "one of {uniform = [lo, hi]}, {log_uniform = [lo, hi]}, {int = [lo, hi]}, " \
            "{choice = [a, b, ...]}"
    if not isinstance(dist, dict) or len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
        raise SweepSpecError(f"random {key} = {dist!r} must be {shape}")
    kind, args = next(iter(dist.items()))
    if not isinstance(args, list) or not args:
        raise SweepSpecError(f"random {key}: {kind} needs a list, {shape}")
    if kind == "choice":
        return
    numbers = all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    if len(args) != 2 or not numbers or not args[0] < args[1]:
        raise SweepSpecError(f"random {key}: {kind} = {args!r} must be [lo, hi] with lo < hi")
    if kind == "log_uniform" and args[0] <= 0:
        raise SweepSpecError(f"random {key}: log_uniform bounds must be > 0, got {args!r}")
    if kind == "int" and not all(isinstance(a, int) for a in args):
        raise SweepSpecError(f"random {key}: int bounds must be ints, got {args!r}")


def _draw(rng, dist):
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "int":
        return int(rng.integers(args[0], args[1] + 1))
    lo, hi = (math.log(a) for a in args) if kind == "log_uniform" else args
    value = rng.uniform(lo, hi)
    value = math.exp(value) if kind == "log_uniform" else value
    return float(f"{value:.4g}")  # readable in tables and folder names


def _grid_points(grid):
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


def _seed_list(seeds):
    if isinstance(seeds, list):
        for s in seeds:
            _check_int("seeds", s, 0)
        if not seeds or len(set(seeds)) != len(seeds):
            raise SweepSpecError(f"seeds = {seeds!r} must list distinct seeds")
        return seeds
    _check_int("seeds", seeds, 1)
    return list(range(seeds))


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SweepSpecError(f"{name} = {value!r} must be an int >= {low}")


def _trial_id(index, options, seed, swept):
    """'007-loss=hinge-seed=1': unique by index, readable by the swept values."""
    parts = [f"{k}={_short(options[k])}" for k in swept] + [f"seed={seed}"]
    slug = re.sub(r"[^A-Za-z0-9.=_+-]", "_", "-".join(parts))[:80]
    return f"{index:03d}-{slug}"


def _short(value):
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return str(value)
