"""Checkpoints: one uncompressed .npz holding the config, every array of a run, and its state.

Loading never executes anything from the file: no pickles, the config and state are JSON,
and every array's header is checked against the shape and dtype the config implies *before*
its data is read, so a hostile file can neither run code nor make us allocate absurd memory.
"""
import json
import zipfile

import numpy as np

from .config import Config
from .fileio import atomic_path

FORMAT = "fastgan-checkpoint-1"
_MAX_BYTES = 1 << 33  # 8 GiB: far above any MLP this package trains
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

    `expected(config)` maps the file's config to {name: (shape, dtype)} for every array the
    file must hold; shapes may use None for a length the config cannot know (e.g. history).
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
            for name, (shape, dtype) in expected(config).items():
                if name not in names:
                    raise CheckpointError(f"{path}: array {name!r} is missing")
                arrays[name] = _read(zf, names[name], shape, dtype)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: unreadable checkpoint ({e})") from None
    return config, arrays, state


def _read(zf, member, shape, dtype):
    """Read one .npy member after checking its header against (shape, dtype)."""
    with zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            found_shape, fortran, found_dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            found_shape, fortran, found_dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise CheckpointError(f"{member}: unsupported .npy version {version}")
        _check_header(member, found_shape, fortran, found_dtype, shape, dtype)
        count = int(np.prod(found_shape, dtype=np.int64))
        data = f.read(count * found_dtype.itemsize + 1)
    if len(data) != count * found_dtype.itemsize:
        raise CheckpointError(f"{member}: holds {len(data)} bytes, its header promises "
                              f"{count * found_dtype.itemsize}")
    return np.frombuffer(data, found_dtype).reshape(found_shape).copy()


def _check_header(member, found_shape, fortran, found_dtype, shape, dtype):
    if found_dtype.hasobject or fortran:
        raise CheckpointError(f"{member}: object or Fortran-ordered arrays are not accepted")
    if dtype == "U":
        if found_dtype.kind != "U" or found_shape != () or found_dtype.itemsize > _MAX_TEXT:
            raise CheckpointError(f"{member}: expected a short text entry, found {found_dtype}")
    elif found_dtype != np.dtype(dtype):
        raise CheckpointError(f"{member}: dtype {found_dtype} does not match the config's {dtype}")
    if shape is not None:
        ok = len(found_shape) == len(shape) and all(
            s is None or s == f for s, f in zip(shape, found_shape))
        if not ok:
            raise CheckpointError(f"{member}: shape {found_shape} does not match the config's "
                                  f"{tuple(shape)}")
    nbytes = int(np.prod(found_shape, dtype=np.int64)) * found_dtype.itemsize
    if nbytes > _MAX_BYTES or any(s < 0 for s in found_shape):
        raise CheckpointError(f"{member}: shape {found_shape} is absurd")


def _parse_json(path, what, text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: {what} is not valid JSON ({e})") from None


def _parse_config(path, text):
    try:
        return Config.from_dict(_parse_json(path, "config", text))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: bad config ({e})") from None
