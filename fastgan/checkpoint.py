"""Checkpoints: one uncompressed .npz holding the config, every array of a run, and its state.

Loading never executes anything from the file: no pickles, the config and state are JSON,
and every array's header is checked against the shape and dtype the config implies *before*
its data is read, so a hostile file can neither run code nor make us allocate absurd memory.
"""
import json
import warnings
import zipfile
import zlib

import numpy as np

from .config import Config
from .fileio import atomic_path
from .npzfile import read_member
from .threads import available_cores

FORMAT = "fastgan-checkpoint-1"
_MAX_TEXT = 1 << 20   # config and state are a few kB of JSON


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed or does not match its own config."""


def save_checkpoint(path, config, arrays, state):
    """Write `arrays` (name -> ndarray), the config and the JSON-able `state` atomically."""
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    payload["format"] = np.array(FORMAT)
    payload["config"] = np.array(config.to_json())
    payload["state"] = np.array(json.dumps(state))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)


def load_checkpoint(path, expected):
    """Read a checkpoint; return (config, arrays, state).

    `expected(config, state)` maps the file's config and state to {name: (shape, dtype)}
    for every array the file must hold.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
            for key in ("format", "config", "state"):
                if key not in names:
                    raise CheckpointError(f"{path}: not a fastgan checkpoint (no {key!r} entry)")
            if str(_read(zf, names["format"], None, "U")) != FORMAT:
                raise CheckpointError(f"{path}: unknown checkpoint format; expected {FORMAT}")
            config = _parse_config(path, str(_read(zf, names["config"], None, "U")))
            state = _parse_json(path, "state", str(_read(zf, names["state"], None, "U")))
            arrays = {}
            for name, (shape, dtype) in expected(config, state).items():
                if name not in names:
                    raise CheckpointError(f"{path}: array {name!r} is missing")
                arrays[name] = _read(zf, names[name], shape, dtype)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, TypeError,
            OverflowError, NotImplementedError, RuntimeError, zlib.error) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: unreadable checkpoint ({e})") from None
    return config, arrays, state


def _read(zf, member, shape, dtype):
    """Read one .npy member, its header checked against (shape, dtype) before its data."""
    def check(found_shape, found_dtype, fortran):
        if fortran:
            raise CheckpointError(f"{member}: Fortran-ordered arrays are not accepted")
        if dtype == "U":
            if found_dtype.kind != "U" or found_shape != () or found_dtype.itemsize > _MAX_TEXT:
                raise CheckpointError(f"{member}: expected a short text entry, found "
                                      f"{found_dtype}")
        elif found_dtype != np.dtype(dtype):
            raise CheckpointError(f"{member}: dtype {found_dtype} does not match the config's "
                                  f"{dtype}")
        if shape is not None and tuple(found_shape) != tuple(shape):
            raise CheckpointError(f"{member}: shape {found_shape} does not match the config's "
                                  f"{tuple(shape)}")
    return read_member(zf, member, CheckpointError, check, compressed=False)


def _parse_json(path, what, text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: {what} is not valid JSON ({e})") from None


def _parse_config(path, text):
    try:
        values = _parse_json(path, "config", text)
        if isinstance(values, dict) and "loss_reduction" not in values \
                and values.get("optimizer") == "adam":
            values["decay_rate"] = 0.0  # written before Adam applied decay_rate: it ignored it
        threads = values.get("threads") if isinstance(values, dict) else None
        if isinstance(threads, int) and threads > available_cores():
            # the thread count changes speed only (on one machine, not a single bit)
            warnings.warn(f"{path} was trained with threads={threads}; this machine runs "
                          f"{available_cores()}, so it uses those", stacklevel=4)
            values = {**values, "threads": available_cores()}
        return Config.from_dict(values)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: bad config ({e})") from None
