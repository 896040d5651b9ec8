"""What a dense layer's epilogue costs: `dense_forward` with each activation (and leaky relu
with a dropout mask) against the same layer with a linear output, on GAN S and GAN L's
layer shapes, beside NumPy's tanh over the layer's output alone.

    python bench/epilogues.py [--dtype float32] [--rounds 7]

Microseconds per call, best of the rounds, all cores; the variants of a layer take turns.
"""
import argparse
import time

import numpy as np

from fastgan.kernels import dense
from fastgan.kernels.codes import ACTIVATIONS
from fastgan.threads import thread_settings

SHAPES = [(64, 128, 784), (128, 784, 128), (64, 512, 1024), (64, 1024, 784), (128, 784, 1024)]
VARIANTS = ["linear", "relu", "leaky_relu", "leaky_relu+mask", "tanh", "sigmoid"]


def microseconds(call, repeats=50):
    t = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - t) / repeats * 1e6


def layer_calls(n, k, m, dtype, rng):
    """{variant: call} for one layer shape, plus NumPy's tanh over its output."""
    x = rng.standard_normal((n, k)).astype(dtype)
    w = (rng.standard_normal((k, m)) / np.sqrt(k)).astype(dtype)
    b = np.zeros(m, dtype)
    out, h = np.empty((n, m), dtype), np.empty((n, m), dtype)
    mask = ((rng.random((n, m)) >= 0.3) / 0.7).astype(dtype)
    none = np.empty((0, 0), dtype)
    calls = {}
    for variant in VARIANTS:
        act = ACTIVATIONS[variant.split("+")[0]]
        m_ = mask if variant.endswith("+mask") else none
        # unchecked, as the engine calls it: a call's argument checks are not the epilogue
        calls[variant] = lambda act=act, m_=m_: dense.dense_forward.unchecked(
            x, w, b, act, 0.2, m_, out, h)
    spare = np.empty_like(out)
    calls["np.tanh alone"] = lambda: np.tanh(out, out=spare)
    return calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    names = VARIANTS + ["np.tanh alone"]
    print(f"{args.dtype}, us per call (best of {args.rounds} rounds)")
    print(f"{'layer (n, k, m)':18}" + "".join(f"{name:>17}" for name in names))
    with thread_settings("numba"):
        for n, k, m in SHAPES:
            calls = layer_calls(n, k, m, args.dtype, rng)
            best = {}
            for call in calls.values():
                call()  # compile and warm
            for _ in range(args.rounds):
                for name, call in calls.items():
                    best[name] = min(best.get(name, np.inf), microseconds(call))
            print(f"{str((n, k, m)):18}" + "".join(f"{best[name]:17.0f}" for name in names))


if __name__ == "__main__":
    main()
