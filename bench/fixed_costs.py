"""What a training step costs beyond its arithmetic: the calls, and the parallel regions.

    python bench/fixed_costs.py [--gans S default L] [--rounds 9]

Two figures per GAN, beside its real step (the Numba engine, float32, batch 64, all cores):

- the step of the same GAN with every layer 2 wide: the same depth, options, batch and
  calls (the Python of the engine, the kernels' dispatch, the draws of noise and masks,
  the real batch's gather), with next to no arithmetic and every product on the calling
  thread, since none is big enough for a parallel region;
- the parallel regions of the real step (one per network pass with a layer whose product
  is worth one, and one per dropout mask) times the cost of launching one: a region of two
  blocks of about 2 us each, against the same blocks in turn on the calling thread.

The two overlap a little (the 2-wide step still launches its masks' regions). Engines take
turns (support.alternate), the best round counting. `NUMBA_THREADING_LAYER=omp` runs it on
Numba's OpenMP layer, whose regions cost less to launch than TBB's (kernels/threading_layer.py
says why fastgan prefers TBB).
"""
import argparse
import time

import numpy as np
from numba import njit, prange, threading_layer

from fastgan.benchmark import GANS, make_engine, step_data, train_steps
from fastgan.kernels.network import _PARALLEL
from support import STEPS, alternate

_WORK = 2000  # dependent multiply-adds per block of the probe region (about 2 us)


def narrow(spec):
    """The GAN `spec` with every layer 2 wide (D's output stays 1)."""
    g, d = spec["g_layers"], spec["d_layers"]
    return dict(spec, g_layers=[2] * len(g), d_layers=[2] * (len(d) - 1) + [1])


def regions_per_step(engine):
    """Parallel regions a step of `engine` made of calls launches: one per pass with a layer
    worth one (the D step runs G forward, D forward and back; the G step D forward and back
    on the fake rows, then G back) and one per dropout mask drawn (D's, in both of D's
    forward passes)."""
    def passes(ws):  # each plan a step formed (one per row range) serves a pass each way
        return sum(2 for plan in ws.formed_plans() if plan[:, _PARALLEL].any())

    masks = 2 * sum(1 for mask in engine.dw.masks if mask.size)
    return passes(engine.gw) + passes(engine.dw) + masks


@njit(parallel=True)
def _two_blocks(a):
    for t in prange(2):
        _block(a, t)


@njit
def _in_turn(a):
    for t in range(2):
        _block(a, t)


@njit(inline="always")
def _block(a, t):
    s = a[t]
    for _ in range(_WORK):
        s = s * 0.999999 + 1e-9
    a[t] = s


def region_us(repeats=1000, rounds=7):
    """us a parallel region of two blocks costs over half the same blocks run in turn: the
    medians of `repeats` calls each, taking turns, the best of `rounds` counting."""
    a = np.ones(2)
    best = {}
    for _ in range(rounds):
        for fn in (_two_blocks, _in_turn):
            fn(a)
            times = np.empty(repeats)
            for i in range(repeats):
                t = time.perf_counter()
                fn(a)
                times[i] = time.perf_counter() - t
            best[fn] = min(best.get(fn, np.inf), np.median(times) * 1e6)
    return best[_two_blocks] - best[_in_turn] / 2


def best_ms(name, rounds):
    """(ms of GAN `name`'s step, ms of its 2-wide twin's, the real step's Engine), each the
    best of `rounds` turns."""
    turns, engines = {}, {}
    # the 2-wide step runs 20x the steps, for turns about as long as the real step's
    for label, spec, times in (("real", GANS[name], 1), ("narrow", narrow(GANS[name]), 20)):
        engine = make_engine(spec, "float32", 64, "numba")
        data, idxs = step_data(spec, "float32", 64)
        turns[label] = ("numba", lambda n, e=engine, d=data, i=idxs, k=times:
                        train_steps(e, d, i, n * k))
        engines[label] = (engine, times)
    best = {}
    for label, ms in alternate(turns, STEPS[name], rounds):
        best[label] = min(best.get(label, np.inf), ms / engines[label][1])
    return best["real"], best["narrow"], engines["real"][0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gans", nargs="+", default=["S", "default", "L"], choices=sorted(GANS))
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    launch = region_us()
    print(f"threading layer {threading_layer()}: a parallel region costs {launch:.1f} us")
    print(f"{'GAN':8} {'step ms':>8} {'2-wide step ms':>15} {'share':>6} "
          f"{'regions':>8} {'regions ms':>11} {'share':>6}")
    for name in args.gans:
        step, fixed, engine = best_ms(name, args.rounds)
        regions = regions_per_step(engine)
        spent = regions * launch / 1e3
        print(f"{name:8} {step:8.3f} {fixed:15.3f} {fixed / step:6.1%} {regions:8d} "
              f"{spent:11.3f} {spent / step:6.1%}")


if __name__ == "__main__":
    main()
