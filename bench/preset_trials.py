"""Train candidate presets for a fixed time each and score them: the table behind the
default presets in the README.

    python bench/preset_trials.py --minutes 2 --dataset mnist-sample [--only NAME ...]
    python bench/preset_trials.py --minutes 2 --dataset path/to/fashion-mnist

Each trial is `fastgan train --minutes M` in its own folder under --out, then
`fastgan eval`; one JSON line per trial is appended to OUT/trials.jsonl and a table printed.
A dataset given as an IDX folder (Fashion-MNIST) is scored here instead: the digit
classifier knows digits only, so a classifier of the same kind is trained on the folder's
t10k split (every fifth image held out), and the GANs, which train on its train split, are
scored in its feature space against the t10k images.
"""
import argparse
import json
import os
import subprocess
import sys

from fastgan.data import load_dataset
from fastgan.evaluation import evaluate_images, load_classifier, train_classifier
from fastgan.gan import GAN

# Every image trial starts from fastgan's first preset (unconditional, G 100-256-512-784,
# D 784-512-256-1, leaky relu 0.2, dropout 0.3, Adam 2e-4, beta1 0.5, batch 64, float32)
# and changes what its flags say (it packed nothing: --pack 1 keeps the preset's
# unconditional pack 2 out); the tutorials' rows use their own presets.
IMAGE_BASE = ["--preset", "fastgan", "--g-layers", "100,256,512,784", "--d-layers",
              "784,512,256,1", "--lr", "2e-4", "--ema", "0", "--pack", "1"]
# The toy presets before packing, the EMA and (toy-2d) the relu generator
TOY_BASE = ["--g-activation", "leaky_relu", "--pack", "1", "--ema", "0"]
# Image folders other than MNIST (Fashion-MNIST): the default preset against variations and
# the PyTorch tutorial, each with its full flags.
FOLDER_TRIALS = {
    "fastgan": ["--preset", "fastgan"],
    "fastgan one-layer G": ["--preset", "fastgan", "--g-layers", "100,256,784"],
    "fastgan lr 2e-4": ["--preset", "fastgan", "--lr", "2e-4"],
    "fastgan wider": ["--preset", "fastgan", "--g-layers", "100,256,512,784", "--d-layers",
                      "784,512,256,1", "--lr", "2e-4"],
    "fastgan unconditional": ["--preset", "fastgan", "--unconditional"],
    "pytorch-tutorial": ["--preset", "pytorch-tutorial"],
}
# The 1-D bimodal set and the parabola: packing and the EMA, each alone and together.
CURVE_TRIALS = {
    "toy-base": [],
    "pack4": ["--pack", "4"],
    "ema": ["--ema", "0.999"],
    "pack4+ema": ["--pack", "4", "--ema", "0.999"],
    "pack4+ema+lr2e-4": ["--pack", "4", "--ema", "0.999", "--lr", "2e-4"],
    "ema+relu": ["--ema", "0.999", "--g-activation", "relu"],
    "pack4+ema+relu": ["--pack", "4", "--ema", "0.999", "--g-activation", "relu"],
}
IMAGE_TRIALS = {
    "fastgan-base": [],
    "ema": ["--ema", "0.999"],
    "pack2": ["--pack", "2"],
    "smooth+ema": ["--label-smoothing", "0.1", "--ema", "0.999"],
    "small-fast": ["--g-layers", "100,256,784", "--d-layers", "784,256,1", "--lr", "5e-4",
                   "--ema", "0.999"],
    "conditional+ema": ["--conditional", "--ema", "0.999"],
    "conditional+small-fast": ["--conditional", "--g-layers", "100,256,784", "--d-layers",
                               "784,256,1", "--lr", "5e-4", "--ema", "0.999"],
    "numpy-tutorial": ["--preset", "numpy-tutorial"],
    "pytorch-tutorial": ["--preset", "pytorch-tutorial"],
}
TOY_TRIALS = {
    "toy-base": [],
    "pack4": ["--pack", "4"],
    "lr2e-4": ["--lr", "2e-4"],
    "pack4+lr2e-4": ["--pack", "4", "--lr", "2e-4"],
    "pack4+ema": ["--pack", "4", "--ema", "0.999"],
    "pack4+ema+lr2e-4": ["--pack", "4", "--ema", "0.999", "--lr", "2e-4"],
    "pack4+ema.9999": ["--pack", "4", "--ema", "0.9999"],
    "pack4+ema+dsteps2": ["--pack", "4", "--ema", "0.999", "--d-steps", "2"],
    "pack8+ema": ["--pack", "8", "--ema", "0.999"],
    "pack4+ema+batch512": ["--pack", "4", "--ema", "0.999", "--batch-size", "512"],
    "pack4+ema.9999+batch512": ["--pack", "4", "--ema", "0.9999", "--batch-size", "512"],
    "pack4+ema+wide": ["--pack", "4", "--ema", "0.999", "--g-layers", "8,256,256,2",
                       "--d-layers", "2,256,256,1"],
    "pack4+ema+deep": ["--pack", "4", "--ema", "0.999", "--g-layers", "8,128,128,128,2",
                       "--d-layers", "2,128,128,128,1"],
    "pack4+ema+z2": ["--pack", "4", "--ema", "0.999", "--g-layers", "2,128,128,2"],
    "pack4+ema+lr5e-4": ["--pack", "4", "--ema", "0.999", "--lr", "5e-4"],
    "pack4+ema+least-squares": ["--pack", "4", "--ema", "0.999", "--loss", "least-squares"],
    "pack4+ema+z32": ["--pack", "4", "--ema", "0.999", "--g-layers", "32,128,128,2"],
    "pack4+ema+ttur": ["--pack", "4", "--ema", "0.999", "--g-lr", "5e-4", "--d-lr", "1e-3"],
    "pack4+ema+ttur2x": ["--pack", "4", "--ema", "0.999", "--d-lr", "2e-3"],
    "pack2+ema": ["--pack", "2", "--ema", "0.999"],
    "relu": ["--g-activation", "relu"],
    "pack4+relu": ["--pack", "4", "--g-activation", "relu"],
    "pack4+ema+relu": ["--pack", "4", "--ema", "0.999", "--g-activation", "relu"],
    "pack4+ema+relu seed1": ["--pack", "4", "--ema", "0.999", "--g-activation", "relu",
                             "--seed", "1"],
    "pack4+ema+relu seed2": ["--pack", "4", "--ema", "0.999", "--g-activation", "relu",
                             "--seed", "2"],
}


def trial_flags(flags, image):
    if "--preset" in flags:
        return flags
    if not image:
        return TOY_BASE + flags
    return IMAGE_BASE + flags + ([] if "--conditional" in flags else ["--unconditional"])


def run_trial(name, flags, args, scorer=None):
    tag = os.path.basename(os.path.normpath(args.dataset))
    out = os.path.join(args.out, f"{tag}-{name.replace(' ', '-')}")
    flags = trial_flags(flags, args.dataset in ("mnist-sample", "mnist"))
    train = [sys.executable, "-m", "fastgan.cli", "train", "--dataset", args.dataset,
             "--minutes", str(args.minutes), "--out", out, "--no-progress", *flags]
    subprocess.run(train, check=True)
    checkpoint = os.path.join(out, "checkpoint.npz")
    if scorer is not None:
        metrics = scorer(checkpoint)
    else:
        score = [sys.executable, "-m", "fastgan.cli", "eval", checkpoint, "--n", str(args.n),
                 "--json"]
        metrics = json.loads(subprocess.run(score, check=True, capture_output=True,
                                            text=True).stdout)
    with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
        steps = sum(1 for line in f if '"d_loss"' in line)
    return {"trial": name, "flags": " ".join(flags), "dataset": args.dataset,
            "minutes": args.minutes, "steps": steps, **metrics}


def folder_scorer(folder, out, n):
    """Score checkpoints of GANs trained on an IDX folder with a classifier of its t10k split."""
    reference = os.path.join(out, "reference")
    os.makedirs(reference, exist_ok=True)
    for kind in ("images-idx3", "labels-idx1"):
        name = f"t10k-{kind}-ubyte.gz"
        link = os.path.join(reference, name)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(folder, name)), link)
    real = load_dataset(reference)  # only the t10k pair is there
    weights = os.path.join(out, "reference-classifier.npz")
    if not os.path.exists(weights):
        report = train_classifier(out_path=weights, data=real)
        print(f"reference classifier: {100 * report['accuracy']:.2f}% held out", flush=True)
    clf = load_classifier(weights)

    def score(checkpoint):
        images = GAN.load(checkpoint, verbose=False).generate(n, seed=0)
        return evaluate_images(images, real=real.scaled(), classifier=clf)
    return score


def row(r):
    if r.get("kind") == "image":
        share = r["digit_share"]
        return (f"| {r['trial']} | `{r['flags']}` | {r['steps']} | {r['fid']:.1f} "
                f"({r['fid_floor']:.1f}) | {100 * r['confident_fraction']:.0f}% | "
                f"{r['digits_covered']} | {100 * min(share):.0f}-{100 * max(share):.0f}% |")
    if "near_fraction" in r:  # the parabola
        return (f"| {r['trial']} | `{r['flags']}` | {r['steps']} | "
                f"{100 * r['near_fraction']:.1f}% | {r['distance_median']:.3f} | "
                f"{r['distance_q90']:.3f} | {r['x_bins_covered']}/{r['x_bins']} |")
    return (f"| {r['trial']} | `{r['flags']}` | {r['steps']} | "
            f"{r.get('modes_captured')}/{r.get('modes')} | "
            f"{100 * r.get('high_quality_fraction', 0):.1f}% |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist-sample")
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--out", default="trials")
    p.add_argument("--only", nargs="*")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    scorer = None
    if args.dataset in ("mnist-sample", "mnist"):
        trials = IMAGE_TRIALS
    elif os.path.isdir(args.dataset):
        trials, scorer = FOLDER_TRIALS, folder_scorer(args.dataset, args.out, args.n)
    elif args.dataset in ("bimodal", "parabola"):
        trials = CURVE_TRIALS
    else:
        trials = TOY_TRIALS
    for name, flags in trials.items():
        if args.only and name not in args.only:
            continue
        result = run_trial(name, flags, args, scorer)
        with open(os.path.join(args.out, "trials.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")
        print(row(result), flush=True)


if __name__ == "__main__":
    main()
