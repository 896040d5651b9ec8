"""What a `fastgan train` run costs beyond its training steps: its pictures, checkpoints,
metrics and progress, against a bare `GAN.fit` of the same GAN on the same data.

    python bench/run_overhead.py [--minutes 1] [--rounds 2] [-- TRAIN OPTIONS...]

Each round runs, one after the other and in an order that alternates, `fastgan train
--minutes M` (the default preset on the embedded data, plus any options after `--`) and
`GAN.fit(minutes=M)` of the config that run wrote, both in fresh processes with the
kernels compiled beforehand. Prints each one's steps per second and their ratio. A run
draws 25 sample grids whatever its length, so shorter runs show more of their cost.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

# a bare fit of the config in sys.argv[1] (a run's config.json) for sys.argv[2] minutes
_BARE = """
import json, sys, time
from fastgan import GAN, Config
from fastgan.data import load_dataset
meta = json.load(open(sys.argv[1]))
data = load_dataset(meta["dataset"], digits=meta.get("digits"))
gan = GAN.from_config(Config.from_dict(meta["config"]), verbose=False)
labels = data.y if gan.config.n_classes else None
gan.fit(data.x, labels, steps=50)  # compiled kernels loaded, workspaces warm
start, t = gan.trainer.step, time.perf_counter()
gan.fit(data.x, labels, minutes=float(sys.argv[2]))
print(json.dumps((gan.trainer.step - start) / (time.perf_counter() - t)))
"""


def train_rate(out, minutes, options):
    """Steps per second of `fastgan train --minutes M` into folder `out`."""
    subprocess.run([sys.executable, "-m", "fastgan.cli", "train", "--minutes", str(minutes),
                    "--out", out, "--no-progress", *options], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        steps = sum(1 for line in f if '"d_loss"' in line)
    return steps / (60.0 * minutes)


def bare_rate(config_path, minutes):
    done = subprocess.run([sys.executable, "-c", _BARE, config_path, str(minutes)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("options", nargs="*", help="fastgan train options, after --")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warm = os.path.join(tmp, "warm")  # compiles the kernels, and writes the config
        subprocess.run([sys.executable, "-m", "fastgan.cli", "train", "--steps", "20", "--out",
                        warm, "--no-progress", *args.options], check=True,
                       stdout=subprocess.DEVNULL)
        config = os.path.join(warm, "config.json")
        ratios = []
        for r in range(args.rounds):
            rates = {}
            for turn in (("train", "bare") if r % 2 == 0 else ("bare", "train")):
                if turn == "train":
                    rates[turn] = train_rate(os.path.join(tmp, f"run{r}"), args.minutes,
                                             args.options)
                else:
                    rates[turn] = bare_rate(config, args.minutes)
            ratios.append(rates["train"] / rates["bare"])
            print(f"round {r + 1}: fastgan train {rates['train']:.1f} steps/s, bare GAN.fit "
                  f"{rates['bare']:.1f} steps/s, run / bare {ratios[-1]:.3f}", flush=True)
    print(f"median run / bare: {np.median(ratios):.3f}")


if __name__ == "__main__":
    main()
