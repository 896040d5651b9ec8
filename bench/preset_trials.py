"""Train candidate presets for a fixed time each and score them: the table behind the
default presets in the README.

    python bench/preset_trials.py --minutes 2 --dataset mnist-sample [--only NAME ...]

Each trial is `fastgan train --minutes M` in its own folder under --out, then
`fastgan eval`; one JSON line per trial is appended to OUT/trials.jsonl and a table printed.
"""
import argparse
import json
import os
import subprocess
import sys

# Every image trial starts from fastgan's first preset (unconditional, G 100-256-512-784,
# D 784-512-256-1, leaky relu 0.2, dropout 0.3, Adam 2e-4, beta1 0.5, batch 64, float32)
# and changes what its flags say; the tutorials' rows use their own presets.
IMAGE_BASE = ["--preset", "fastgan", "--g-layers", "100,256,512,784", "--d-layers",
              "784,512,256,1", "--lr", "2e-4", "--ema", "0"]
TOY_BASE = ["--pack", "1", "--ema", "0"]  # the toy presets before packing and EMA
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
}


def trial_flags(flags, image):
    if "--preset" in flags:
        return flags
    if not image:
        return TOY_BASE + flags
    return IMAGE_BASE + flags + ([] if "--conditional" in flags else ["--unconditional"])


def run_trial(name, flags, args):
    out = os.path.join(args.out, f"{args.dataset}-{name}")
    flags = trial_flags(flags, args.dataset in ("mnist-sample", "mnist"))
    train = [sys.executable, "-m", "fastgan.cli", "train", "--dataset", args.dataset,
             "--minutes", str(args.minutes), "--out", out, "--no-progress", *flags]
    subprocess.run(train, check=True)
    score = [sys.executable, "-m", "fastgan.cli", "eval", os.path.join(out, "checkpoint.npz"),
             "--n", str(args.n), "--json"]
    metrics = json.loads(subprocess.run(score, check=True, capture_output=True,
                                        text=True).stdout)
    with open(os.path.join(out, "metrics.jsonl"), encoding="utf-8") as f:
        steps = sum(1 for line in f if '"d_loss"' in line)
    return {"trial": name, "flags": " ".join(flags), "dataset": args.dataset,
            "minutes": args.minutes, "steps": steps, **metrics}


def row(r):
    if r.get("kind") == "image":
        share = r["digit_share"]
        return (f"| {r['trial']} | `{r['flags']}` | {r['steps']} | {r['fid']:.1f} "
                f"({r['fid_floor']:.1f}) | {100 * r['confident_fraction']:.0f}% | "
                f"{r['digits_covered']} | {100 * min(share):.0f}-{100 * max(share):.0f}% |")
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
    trials = IMAGE_TRIALS if args.dataset in ("mnist-sample", "mnist") else TOY_TRIALS
    for name, flags in trials.items():
        if args.only and name not in args.only:
            continue
        result = run_trial(name, flags, args)
        with open(os.path.join(args.out, "trials.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")
        print(row(result), flush=True)


if __name__ == "__main__":
    main()
