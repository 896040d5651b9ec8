"""A change measured before and after: whole training steps of a git revision against the
working tree's, each in fresh processes taking turns, so a busy spell of the machine lands
on both.

    python bench/before_after.py [--rev HEAD] [--gans S L default toy] [--dtype float32]
                                 [--rounds 7] [--in-process] [--fit [--g-layers 100,256,784]]

The revision's tree (kernels, engine and all) is unpacked into a temporary folder and run
from there. Each process times the Numba engine that `GAN.fit` drives (best of 7 runs after
5 warm-up steps, batch 64, all cores).
Prints each GAN's best and median round in ms per step for both, and the speed-up of the
medians of the per-round ratios.

--in-process imports the revision's fastgan under another name into this process and
alternates single runs of the two engines instead (a round each), which spares the
start-up and shows changes of a few percent through less noise; it also says whether the
two trained the same parameters, bit for bit.

--fit times `GAN.fit` instead, where users train, in one process: the float32 `GAN.fit` of
the GANs named (the default preset, what `fastgan train` runs, unless --gans says others)
on the embedded MNIST sample (uint8 pixels and, when conditional, their labels; floats for
trees whose `fit` took floats only), an epoch of 125 steps a round each, G's layers set by
--g-layers (e.g. 100,256,784, the 5-minute pairs' G).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from support import STEPS

ROOT = Path(__file__).resolve().parent.parent
# runs in the tree under test (its folder first on sys.path): one GAN's best ms per step;
# written out, not benchmark.fastgan_turn, since older trees lack it
CHILD = """
import json, sys, time
import numpy as np
from fastgan.benchmark import GANS, make_engine, step_data, train_steps
from fastgan.threads import thread_settings
gan, dtype, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
data, idxs = step_data(GANS[gan], dtype, 64)
engine = make_engine(GANS[gan], dtype, 64, "numba")
best = np.inf
with thread_settings("numba"):
    train_steps(engine, data, idxs, 5)
    for _ in range(7):
        t = time.perf_counter()
        train_steps(engine, data, idxs, steps)
        best = min(best, (time.perf_counter() - t) / steps)
print(json.dumps(1e3 * best))
"""


def unpack(rev, folder):
    """Revision `rev`'s tree in `folder`."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    link = Path(folder, "fastgan", "kernels")
    if not link.exists():  # older trees left the mapping to the install, which is this tree's
        link.symlink_to(Path("..", "kernels"))
    return folder


def step_ms(tree, gan, dtype):
    """One fresh process's best ms per step of `gan`, with fastgan imported from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    child = subprocess.run([sys.executable, "-c", CHILD, gan, dtype, str(STEPS[gan])],
                           cwd=tree, env=env, capture_output=True, text=True)
    if child.returncode:
        raise SystemExit(f"the run in {tree} failed:\n{child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def import_before(tree):
    """The tree's fastgan, imported as fastgan_before."""
    spec = importlib.util.spec_from_file_location(
        "fastgan_before", Path(tree, "fastgan", "__init__.py"),
        submodule_search_locations=[str(Path(tree, "fastgan"))])
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastgan_before"] = module  # its relative imports resolve under this name
    spec.loader.exec_module(module)
    return module


def fit_in_process(tree, rounds, g_layers, name="default"):
    """(before ms, after ms) per step of GAN `name`'s GAN.fit (fastgan.benchmark.GANS) on
    the embedded MNIST sample, the tree's fastgan and this one taking turns in this process,
    an epoch each."""
    import_before(tree)
    from fastgan import datasets
    (x, y), _ = datasets.load_data()
    x = x.reshape(len(x), -1)
    runs = {}
    for label in ("before", "after"):
        package = importlib.import_module("fastgan_before" if label == "before" else "fastgan")
        config = importlib.import_module(package.__name__ + ".config")
        bench = importlib.import_module(package.__name__ + ".benchmark")
        spec = dict(bench.GANS[name], **({"g_layers": g_layers} if g_layers else {}))
        gan = package.GAN.from_config(config.Config(**spec, batch_size=64, epochs=2 ** 40,
                                                    dtype="float32", backend="numba"),
                                      verbose=False)
        data, labels = x, y if gan.config.n_classes else None
        try:
            gan.fit(data, labels, epochs=1)
        except TypeError:  # a tree from before uint8 data: its fit took floats only
            data = (x / 127.5 - 1).astype(np.float32)
            gan.fit(data, labels, epochs=1)
        runs[label] = [gan, data, labels, []]
    steps = len(x) // 64
    for r in range(rounds):
        for label in ("before", "after") if r % 2 == 0 else ("after", "before"):
            gan, data, labels, times = runs[label]
            t = time.perf_counter()
            gan.fit(data, labels, epochs=r + 2)
            times.append(1e3 * (time.perf_counter() - t) / steps)
    return runs["before"][3], runs["after"][3]


def in_process(tree, gans, dtype, rounds):
    """{gan: (before ms, after ms, same parameters)}: engines of the tree's fastgan (imported
    as fastgan_before) and of this one, taking turns in this process, a run each round."""
    import_before(tree)
    from fastgan import benchmark as after
    from fastgan.threads import thread_settings
    before = importlib.import_module("fastgan_before.benchmark")
    results = {}
    for gan in gans:
        runs = {}
        for label, bench in (("before", before), ("after", after)):
            engine = bench.make_engine(bench.GANS[gan], dtype, 64, "numba")
            data, idxs = bench.step_data(bench.GANS[gan], dtype, 64)
            bench.train_steps(engine, data, idxs, 5)
            runs[label] = (bench, engine, data, idxs, [])
        steps = max(STEPS[gan] // 2, 10)
        with thread_settings("numba"):
            for _ in range(rounds):
                for bench, engine, data, idxs, times in runs.values():
                    t = time.perf_counter()
                    bench.train_steps(engine, data, idxs, steps)
                    times.append(1e3 * (time.perf_counter() - t) / steps)
        engines = [run[1] for run in runs.values()]
        same = all(np.array_equal(getattr(engines[0], n).params, getattr(engines[1], n).params)
                   for n in ("G", "D"))
        results[gan] = (runs["before"][4], runs["after"][4], same)
    return results


def report(gan, before, after, note=""):
    b, a = np.array(before), np.array(after)
    print(f"GAN {gan:<8} before best {b.min():7.3f} median {np.median(b):7.3f}   "
          f"after best {a.min():7.3f} median {np.median(a):7.3f}   "
          f"speed-up {np.median(b / a):.2f}x (per-round ratios "
          f"{' '.join(f'{r:.2f}' for r in b / a)}){note}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--gans", nargs="+", choices=list(STEPS))
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--g-layers", type=lambda s: [int(v) for v in s.split(",")])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        trees = {"before": unpack(args.rev, folder), "after": ROOT}
        if args.fit:
            gans = args.gans or ["default"]
            print(f"GAN.fit of {', '.join(gans)} (G {args.g_layers or 'as given'}) on the "
                  f"embedded MNIST sample, ms per step, {args.rounds} rounds of an epoch "
                  f"taking turns in one process; before = {args.rev}, after = working tree")
            for gan in gans:
                report(gan, *fit_in_process(folder, args.rounds, args.g_layers, gan))
            return
        if args.in_process:
            print(f"{args.dtype}, batch 64, ms per step over {args.rounds} rounds taking turns "
                  f"in one process; before = {args.rev}, after = working tree")
            for gan, (b, a, same) in in_process(folder, args.gans or list(STEPS), args.dtype,
                                                args.rounds).items():
                report(gan, b, a, f"; same parameters: {same}")
            return
        args.gans = args.gans or list(STEPS)
        for gan in args.gans:  # compile both trees' kernels outside the timed rounds
            for tree in trees.values():
                step_ms(tree, gan, args.dtype)
        print(f"{args.dtype}, batch 64, ms per step over {args.rounds} rounds taking turns; "
              f"before = {args.rev}, after = working tree")
        for gan in args.gans:
            times = {label: [] for label in trees}
            for _ in range(args.rounds):
                for label, tree in trees.items():
                    times[label].append(step_ms(tree, gan, args.dtype))
            report(gan, times["before"], times["after"])


if __name__ == "__main__":
    main()
