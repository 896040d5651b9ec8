"""A sweep as the command line writes it: `--grid loss=hinge,wasserstein`, `--set ema=0.999`,
`--random learning_rate=log_uniform:1e-4:1e-2`, on top of an optional sweep file."""
import json

from .spec import SweepSpecError, load_sweep_file, spec_from_dict

# top-level keys a flag may set, besides the [set], [grid] and [random] tables
TOP_FLAGS = ("dataset", "preset", "minutes", "epochs", "seeds", "samples", "eval_n")


def spec_from_options(file=None, grid=(), random=(), set=(), **top):
    """A SweepSpec from a sweep file (optional) and command-line assignments.

    `grid`, `random` and `set` are lists of "option=text" strings; `top` holds the values of
    TOP_FLAGS that were given (None for those that were not). Flags add to the file's tables
    and override its top-level keys.
    """
    data = _read(file)
    for key in TOP_FLAGS:
        if top.get(key) is not None:
            data[key] = top[key]
    for name, items, parse in (("set", set, parse_value), ("grid", grid, parse_list),
                               ("random", random, parse_distribution)):
        for item in items:
            key, text = _split(item, name)
            data.setdefault(name, {})[key] = parse(text)
    return spec_from_dict(data, where=f"sweep file {file}" if file else "sweep")


def _read(file):
    if file is None:
        return {}
    spec = load_sweep_file(file)   # checks the file; its dict form is rebuilt below
    data = {"set": dict(spec.set), "grid": dict(spec.grid), "random": dict(spec.random),
            "seeds": spec.seeds, "samples": spec.samples, "sample_seed": spec.sample_seed,
            "eval_n": spec.eval_n}
    for key in TOP_FLAGS:   # run options live in [set]; a flag for one replaces it there
        if key in data["set"]:
            data[key] = data["set"].pop(key)
    return data


def _split(item, name):
    key, sep, text = item.partition("=")
    if not sep or not key.strip() or not text.strip():
        raise SweepSpecError(f"--{name} {item!r} must read option=value, e.g. --{name} "
                             f"{'loss=hinge,wasserstein' if name == 'grid' else 'ema=0.999'}")
    return key.strip(), text.strip()


def parse_value(text):
    """One value: int, float, true/false, none, a [JSON list], else the text itself."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            raise SweepSpecError(f"{text!r} is not a list like [100,256,784]") from None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_list(text):
    """Values split at commas outside brackets: "a,b" or "[1,2],[3,4]"."""
    return [parse_value(part) for part in _top_level_split(text, ",")]


def parse_distribution(text):
    """"uniform:lo:hi", "log_uniform:lo:hi", "int:lo:hi" or "choice:a,b,c" -> {kind: args}."""
    kind, _, rest = text.partition(":")
    args = parse_list(rest) if kind == "choice" else [parse_value(p) for p in rest.split(":")]
    return {kind: args}


def _top_level_split(text, sep):
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return [p for p in parts if p]
