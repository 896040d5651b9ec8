"""What the peer scripts share: arguments, synthetic data, timing and the line they print.

Standard library and NumPy only, so any interpreter that has the peer's framework runs them.
"""
import argparse
import json
import math
import sys
import time

NOT_INSTALLED = 3  # exit code fastgan.peers reads as "not installed"


def not_installed(framework, error):
    print(json.dumps({"status": "not installed", "error": f"{framework}: {error}"}))
    sys.exit(NOT_INSTALLED)


try:  # a peer interpreter need not have NumPy either: say so in its row
    import numpy as np
except ImportError as err:
    not_installed("numpy", err)


def parse_args(description):
    """--spec (a JSON object of fastgan Config fields), --batch, --steps, --repeats, --threads."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--spec", required=True,
                   help="GAN spec as JSON, e.g. fastgan.benchmark.GANS['S']")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="steps per timed run")
    p.add_argument("--repeats", type=int, default=3, help="timed runs; the best one counts")
    p.add_argument("--threads", type=int, default=None, help="cores (default all)")
    args = p.parse_args()
    args.spec = {"g_output": "tanh", "dropout": 0.0, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8,
                 **json.loads(args.spec)}
    return args


def real_data(spec, batch, batches=8, seed=0):
    """Synthetic real data (batches * batch, features) float32 in [-1, 1], as fastgan's bench."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batches * batch, spec["d_layers"][0])).astype(np.float32)


def time_steps(step, steps, repeats):
    """(first step s, best ms per step) of step(i), which must block until step i is done."""
    t0 = time.perf_counter()
    step(0)
    first = time.perf_counter() - t0
    best = math.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        for s in range(steps):
            step(1 + r * steps + s)
        best = min(best, (time.perf_counter() - t0) / steps)
    return first, 1e3 * best


def report(version, threads, first_s, ms):
    print(json.dumps({"version": version, "threads": threads, "first_step_s": first_s,
                      "ms_per_step": ms}))
