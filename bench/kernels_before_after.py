"""A kernel change measured before and after: whole training steps with the kernels of a git
revision against the working tree's, taking turns in one process, so both see the same
machine load.

    python bench/kernels_before_after.py [--rev HEAD] [--gans S L default toy]
                                         [--dtype float32] [--rounds 9]

Prints each GAN's best round in ms per step (median beside it) for both, and the speed-up.
The revision's kernels/ is unpacked into a temporary folder and imported from there; every
backend function it has (dense layers, network passes, optimizer, ...) replaces the working
tree's in the "before" engine.
"""
import argparse
import importlib
import inspect
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

from fastgan.backends import PASSES, PRIMITIVES
from fastgan.benchmark import GANS, make_engine, step_data, train_steps
from support import alternate

STEPS = {"S": 200, "L": 20, "default": 100, "toy": 500}
ROOT = Path(__file__).resolve().parent.parent


def kernels_at(rev, folder):
    """The kernel modules of revision `rev`, imported from package `kernels_at_rev`."""
    archive = subprocess.run(["git", "archive", rev, "kernels"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    Path(folder, "kernels").rename(Path(folder, "kernels_at_rev"))
    sys.path.insert(0, folder)
    names = sorted(p.stem for p in Path(folder, "kernels_at_rev").glob("*.py")
                   if p.stem not in ("__init__", "reference"))
    return [importlib.import_module(f"kernels_at_rev.{name}") for name in names]


def as_backend(be, modules):
    """Backend `be` with the functions `modules` define; older dense kernels took x.T
    scratch as an 11th argument, given here."""
    found = {name: getattr(m, name) for m in modules for name in PRIMITIVES + PASSES
             if hasattr(m, name)}
    backward = found["dense_backward"]
    if len(inspect.signature(backward).parameters) == 11:
        scratch = {}

        def backward(x, w, out, dout, act, alpha, mask, dw, db, dx, _old=backward):
            if dw.size and x.shape not in scratch:
                scratch[x.shape] = np.zeros(x.shape[::-1], x.dtype)
            xt = scratch[x.shape] if dw.size else np.zeros((0, 0), x.dtype)
            _old(x, w, out, dout, act, alpha, mask, dw, db, dx, xt)
    functions = {**vars(be), **found, "dense_backward": backward}
    for name in PASSES:  # a revision without network passes runs the per-layer kernels
        if name not in found:
            functions.pop(name, None)
    return types.SimpleNamespace(**functions)


def compare(gan, dtype, rounds, before):
    spec, steps = GANS[gan], STEPS[gan]
    data, idxs = step_data(spec, dtype, 64)
    engines = {label: make_engine(spec, dtype, 64, "numba") for label in ("before", "after")}
    engines["before"].be = as_backend(engines["before"].be, before)
    for engine in engines.values():
        train_steps(engine, data, idxs, 2)  # compile outside the timed turns
    turns = {label: ("numba", lambda n, e=engine: train_steps(e, data, idxs, n))
             for label, engine in engines.items()}
    times = {label: [] for label in turns}
    for label, ms in alternate(turns, steps, rounds):
        times[label].append(ms)
    return {label: (min(t), float(np.median(t))) for label, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--gans", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        before = kernels_at(args.rev, folder)
        print(f"{args.dtype}, batch 64, ms per step, best (median) of {args.rounds} rounds; "
              f"before = kernels at {args.rev}, after = working tree")
        for gan in args.gans:
            r = compare(gan, args.dtype, args.rounds, before)
            (b, bm), (a, am) = r["before"], r["after"]
            print(f"GAN {gan:<8} before {b:8.3f} ({bm:.3f})  after {a:8.3f} ({am:.3f})  "
                  f"speed-up {b / a:.2f}x", flush=True)


if __name__ == "__main__":
    main()
