"""What the peer scripts share: arguments, synthetic data, and serving timed runs of steps.

Standard library and NumPy only, so any interpreter that has the peer's framework runs them.
A script builds its step, then `serve`s it: after one untimed step it prints a JSON line
saying it is ready, and then, for each number n read from stdin, runs n more steps and prints
a JSON line with their seconds, until stdin closes. A process stays warm between runs, so
`fastgan.peers` can take turns between engines many times in a few seconds.
"""
import argparse
import json
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
    """--spec (a JSON object of fastgan Config fields), --batch, --threads."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--spec", required=True,
                   help="GAN spec as JSON, e.g. fastgan.benchmark.GANS['S']")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="cores (default all)")
    args = p.parse_args()
    args.spec = {"g_output": "tanh", "dropout": 0.0, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8,
                 **json.loads(args.spec)}
    return args


def real_data(spec, batch, batches=8, seed=0):
    """Synthetic real data (batches * batch, features) float32 in [-1, 1], as fastgan's bench."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batches * batch, spec["d_layers"][0])).astype(np.float32)


def serve(run, version, threads):
    """Serve run(first, n), which runs steps first .. first + n - 1 and returns when they are
    done, to fastgan.peers: step 0 timed alone, then n more steps for each line n of stdin."""
    t0 = time.perf_counter()
    run(0, 1)
    _say(status="ready", version=version, threads=threads,
         first_step_s=time.perf_counter() - t0)
    done = 1
    for line in sys.stdin:
        n = int(line)
        t0 = time.perf_counter()
        run(done, n)
        seconds = time.perf_counter() - t0
        done += n
        _say(seconds=seconds, steps=done)


def one_by_one(step):
    """run(first, n) for `serve` from step(i), which must block until step i is done."""
    def run(first, n):
        for i in range(first, first + n):
            step(i)
    return run


def _say(**fields):
    print(json.dumps(fields), flush=True)
