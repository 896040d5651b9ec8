"""Time each tutorial's plain-NumPy program (programs.py) and its fastgan version from
docs/tutorials.md side by side, pictures included, on this machine; for the NumPy tutorial
also score 1,000 samples of each with fastgan's digit classifier (the share classified as 3
with confidence >= 0.9).

    python bench/tutorials/compare.py [--only NAME] [--length N] [--keep DIR]
                                      [--torch-python PY]

--keep DIR leaves each side's files in DIR/NAME/numpy and DIR/NAME/fastgan.

Each runs as docs/tutorials.md writes it, except the PyTorch tutorial: 1 of its 50 epochs
on each side (--length sets every run's length, in the tutorial's own unit: epochs, or
steps of the 1-D toy's loop). fastgan's kernels are compiled by a short run before the
timing starts. --torch-python PY, an interpreter with torch, adds the PyTorch tutorial's
own training loop (pytorch_recipe.py, as many epochs on the same images, on as many
threads as fastgan's default) beside the two.
"""
import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_scripts  # noqa: E402
import programs  # noqa: E402

from fastgan.data import load_dataset, scale_images  # noqa: E402
from fastgan.datasets import load_data  # noqa: E402
from fastgan.evaluation import load_classifier  # noqa: E402
from fastgan.threads import available_cores  # noqa: E402

RECIPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_recipe.py")

# the plain-NumPy program of each tutorial, given a run length (None: the tutorial's own)
NUMPY_PROGRAMS = {
    "numpy-tutorial": lambda n, out: programs.numpy_tutorial(
        *load_data()[0], out, **({} if n is None else {"epochs": n})),
    "adam-tutorial": lambda n, out: programs.adam_tutorial(
        *load_data()[0], out, **({} if n is None else {"epochs": n, "cut": max(1, n // 2)})),
    "pytorch-tutorial": lambda n, out: programs.pytorch_tutorial(
        mnist_sample(), out, **({} if n is None else {"epochs": n})),
    "toy-2d-tutorial": lambda n, out: programs.toy_2d_tutorial(
        out, **({} if n is None else {"epochs": n})),
    "toy-1d-tutorial": lambda n, out: programs.toy_1d_tutorial(
        os.path.join(out, "toy_1d.png"), **({} if n is None else {"steps": n})),
}
DEFAULT_LENGTHS = {"pytorch-tutorial": 1}


def mnist_sample():
    """fastgan's embedded 10,000 MNIST images, (n, 784) in [-1, 1]."""
    return scale_images(load_dataset("mnist-sample").x)


def confident_share(samples, digit=3):
    """Share of samples (n, 784) the classifier calls `digit` with probability >= 0.9."""
    probs = load_classifier().features_and_probs(samples)[1]
    return float(np.mean((probs.argmax(axis=1) == digit) & (probs.max(axis=1) >= 0.9)))


def fastgan_side(name, length, unit, out):
    """docs/tutorials.md's block for `name`, run in `out` (a command line for `length` of
    `unit`); returns its Python globals."""
    lang, code = doc_scripts.scripts()[name]
    if length is not None:
        code = doc_scripts.shortened(lang, code, length, unit)
    return doc_scripts.run(lang, code, os.path.join(out, "tutorial_script.py"))


def torch_seconds(python, epochs, out):
    """Seconds pytorch_recipe.py, run by `python`, reports for its training loop alone
    (`epochs` on the embedded images; no pictures, no scores) on fastgan's default threads."""
    data = os.path.join(out, "mnist_sample.npz")
    np.savez(data, x=mnist_sample().astype(np.float32))
    done = subprocess.run([python, RECIPE, "--epochs", str(epochs), "--data", data,
                           "--no-score", "--threads", str(available_cores())],
                          capture_output=True, text=True, check=True)
    return float(re.search(r"in ([\d.]+) s \(training loop only\)", done.stdout).group(1))


def timed(fn, *args, keep=None):
    """(seconds, result) of fn(*args, folder) run inside a fresh folder: `keep` (created)
    or a temporary one."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
        else:
            os.makedirs(keep)
            folder = os.path.abspath(keep)
        stack.enter_context(contextlib.chdir(folder))
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        start = time.perf_counter()
        result = fn(*args, folder)
        return time.perf_counter() - start, result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", choices=list(NUMPY_PROGRAMS))
    p.add_argument("--length", type=int, help="every run's length (epochs or steps)")
    p.add_argument("--keep", help="folder for each side's files (default: thrown away)")
    p.add_argument("--torch-python", help="a Python with torch: time the PyTorch tutorial's "
                   "training loop in PyTorch too")
    args = p.parse_args()
    for name in [args.only] if args.only else NUMPY_PROGRAMS:
        length = args.length or DEFAULT_LENGTHS.get(name)
        timed(fastgan_side, name, 1, "steps")  # compiles fastgan's kernels
        keep = {side: args.keep and os.path.join(args.keep, name, side)
                for side in ("numpy", "fastgan")}
        t_numpy, numpy_g = timed(NUMPY_PROGRAMS[name], length, keep=keep["numpy"])
        t_fast, fast_globals = timed(fastgan_side, name, length, "epochs", keep=keep["fastgan"])
        line = (f"{name} ({'as written' if length is None else f'length {length}'}): "
                f"plain NumPy {t_numpy:.1f} s, fastgan {t_fast:.1f} s, "
                f"fastgan {t_numpy / t_fast:.2f}x as fast")
        if name == "numpy-tutorial":
            z = np.random.default_rng(1).standard_normal((1000, 100))
            line += (f"; 3s with confidence >= 0.9: plain NumPy "
                     f"{confident_share(numpy_g.forward(z, train=False)):.1%}, fastgan "
                     f"{confident_share(fast_globals['model'].generate(1000, seed=1)):.1%}")
        if name == "pytorch-tutorial" and args.torch_python:
            with tempfile.TemporaryDirectory() as out:
                t_torch = torch_seconds(args.torch_python, length or 50, out)
            line += f"; PyTorch's training loop alone {t_torch:.1f} s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
