"""What a checkpoint holds of a run, and how a GAN is rebuilt from it exactly."""
import numpy as np

from .checkpoint import CheckpointError

# state keys of checkpoints saved by earlier versions, read under their current names
_RENAMED = {"lr_g": "g_learning_rate", "lr_d": "d_learning_rate"}
# the state entries `pack_run` writes; a checkpoint's others are a caller's extra_state
RUN_STATE = ("epoch", "batch", "step", "n_data", "g_learning_rate", "d_learning_rate", "t_g",
             "t_d", "rng", "sample_rng")


def expected_arrays(config, state):
    """{name: (shape, dtype)} of every array a checkpoint of `config` and `state` holds."""
    dt = config.dtype
    sizes = {"g": _n_params(config.g_sizes), "d": _n_params(config.d_sizes)}
    moments = config.optimizer == "adam"
    out = {}
    for net, size in sizes.items():
        out[f"{net}_params"] = ((size,), dt)
        out[f"{net}_m"] = ((size if moments else 0,), dt)
        out[f"{net}_v"] = ((size if moments else 0,), dt)
    out["g_ema"] = ((sizes["g"] if config.ema > 0 else 0,), dt)
    try:
        steps, batch, n_data = (_number(state, k, int) for k in ("step", "batch", "n_data"))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"bad run state ({e})") from None
    out["perm"] = ((n_data if batch > 0 else 0,), np.int64)
    out["d_loss"] = ((steps,), np.float64)
    out["g_loss"] = ((steps,), np.float64)
    return out


def _n_params(sizes):
    return sum(k * m + m for k, m in zip(sizes[:-1], sizes[1:]))


def pack_run(gan):
    """Return (arrays, state) describing `gan` completely."""
    eng, tr = gan.engine, gan.trainer
    arrays = {}
    for name, net in (("g", eng.G), ("d", eng.D)):
        opt = eng.opt[name.upper()]
        arrays.update({f"{name}_params": net.params, f"{name}_m": opt.m, f"{name}_v": opt.v})
    arrays["g_ema"] = eng.G_ema.params if eng.G_ema is not None else np.zeros(0, eng.dtype)
    pos = tr.position() if tr is not None else getattr(gan, "_pending", None) or _fresh()
    arrays["perm"] = np.asarray(pos["perm"], np.int64)
    arrays["d_loss"] = np.asarray(pos["d_loss"], np.float64)
    arrays["g_loss"] = np.asarray(pos["g_loss"], np.float64)
    state = {k: pos[k] for k in ("epoch", "batch", "step", "n_data")}
    state.update(g_learning_rate=eng.opt["G"].learning_rate,
                 d_learning_rate=eng.opt["D"].learning_rate, t_g=eng.opt["G"].t,
                 t_d=eng.opt["D"].t, rng=eng.rng.bit_generator.state,
                 sample_rng=gan._sample_rng.bit_generator.state)
    return arrays, state


def _fresh():
    return {"epoch": 0, "batch": 0, "step": 0, "n_data": 0, "perm": [], "d_loss": [],
            "g_loss": []}


def unpack_run(gan, arrays, state, path):
    """Put the checkpoint's arrays and state into a freshly built `gan`."""
    eng = gan.engine
    state = {_RENAMED.get(k, k): v for k, v in state.items()}
    try:
        for name, net in (("g", eng.G), ("d", eng.D)):
            opt = eng.opt[name.upper()]
            net.params[...] = arrays[f"{name}_params"]
            opt.m[...] = arrays[f"{name}_m"]
            opt.v[...] = arrays[f"{name}_v"]
            opt.learning_rate = _number(state, f"{name}_learning_rate", float)
            opt.t = _number(state, f"t_{name}", int)
        if eng.G_ema is not None:
            eng.G_ema.params[...] = arrays["g_ema"]
        for name, array in arrays.items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ValueError(f"{name} holds NaN or infinite values")
        eng.rng.bit_generator.state = state["rng"]
        gan._sample_rng.bit_generator.state = state["sample_rng"]
        pending = {k: _number(state, k, int) for k in ("epoch", "batch", "step", "n_data")}
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise CheckpointError(f"{path}: bad run state ({e!r})") from None
    pending.update(perm=arrays["perm"], d_loss=list(arrays["d_loss"]),
                   g_loss=list(arrays["g_loss"]))
    gan._pending = pending
    gan.extra_state = {k: v for k, v in state.items() if k not in RUN_STATE}


def _number(state, key, kind):
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key}={value!r} is not a number")
    if kind is int and (not isinstance(value, int) or value < 0):
        raise ValueError(f"{key}={value!r} is not a count")
    if kind is float and not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{key}={value!r} is not a finite rate >= 0")
    return kind(value)
