"""Where a training step's time goes, phase by phase: the Numba backend's real step with every
call timed, its matrix products replayed alone, beside the whole steps of both backends.

    python bench/step_phases.py [--gans S L] [--dtype float32] [--batch 64] [--rounds 9]
                                [--g-layers 100,256,784]

Four turns take turns each round (support.alternate): the Numba engine as users run it, the
NumPy engine, the same Numba step with each backend call, the noise, the dropout masks and
the real batch's gather timed ("probed"), and a replay of that step's matrix products alone,
in the step's order and blocks, on arrays of the same shapes. A dense call's time less
its replayed products is its elementwise work (bias, activation, mask, derivative) and
call overhead; the probed step less all its timed calls is the Python between the calls.
Each figure comes from the best round of its turn. The probed step runs the
per-layer twin of the compiled passes, so its dz passes and optimizer updates are calls of
their own, where the engine's passes do them inside the backward pass's blocks. Each replayed piece pays its own call
and parallel region, where the real kernels share them, and the replay runs on warm
caches, so it leans high on the products and low on the elementwise share.
"""
import argparse
import collections
import functools
import time
import types

import numpy as np
from numba import njit, prange

from fastgan import engine as engine_module
from fastgan.backends import PRIMITIVES
from fastgan.benchmark import GANS, gemm_peak, make_engine, step_data, train_steps
from fastgan.kernels.blas import gemm
from fastgan.kernels.dense import _column_sums, backward_cut, forward_cut
from support import STEPS, alternate

# Rows of the table, in the order a step meets them.
PHASES = ["gather real batch", "noise", "dropout masks", "forward products",
          "forward elementwise", "loss heads", "backward elementwise", "dX products",
          "dW products", "db sums", "optimizer", "EMA", "clip",
          "Python between calls"]
_CALL_PHASE = {"loss_head": "loss heads", "sgd_update": "optimizer", "adam_update": "optimizer",
               "ema_update": "EMA", "clip_update": "clip", "dense_forward": "forward",
               "dense_backward": "backward"}


class Probe:
    """Times a Numba engine's calls into `seconds` {phase: s}; records one step's dense calls
    as (kind, x shape, w shape, wants dw, wants dx) in `calls` while `recording`."""

    def __init__(self, engine):
        self.seconds = collections.defaultdict(float)
        self.calls, self.recording = [], False
        be = engine.be
        # gather_scaled runs inside the engine's _gather, timed below
        engine.be = types.SimpleNamespace(name=be.name, **{
            name: self._timed(_CALL_PHASE[name], fn, name) if name in _CALL_PHASE else fn
            for name, fn in ((name, getattr(be, name)) for name in PRIMITIVES)})
        engine._gather = self._timed("gather real batch", engine._gather)
        # noise is a module function of the engine: timed for every engine, but the counts
        # are cleared before each probed turn and read right after it
        engine_module.draw_noise = self._timed("noise", engine_module.draw_noise)
        engine._draw_masks = self._timed("dropout masks", engine._draw_masks)

    def _timed(self, phase, fn, name=None):
        def call(*args):
            if self.recording and name in ("dense_forward", "dense_backward"):
                self._record(name, args)
            t = time.perf_counter()
            result = fn(*args)
            self.seconds[phase] += time.perf_counter() - t
            return result
        return call

    def _record(self, name, args):
        x, w = args[0], args[1]
        if name == "dense_forward":
            self.calls.append(("forward", x.shape, w.shape, False, False))
        else:
            self.calls.append(("backward", x.shape, w.shape, args[7].size > 0, args[9].size > 0))


@njit(cache=True, parallel=True)
def _forward_products(x, w, out, by_columns, step):
    """out = x @ w in the blocks dense_forward cuts it into."""
    n, m = out.shape
    k = x.shape[1]
    size = m if by_columns else n
    for t in prange((size + step - 1) // step):
        lo, hi = min(t * step, size), min(t * step + step, size)
        if by_columns:
            gemm(False, False, n, hi - lo, k, x, 0, w, lo, out, lo)
        else:
            gemm(False, False, hi - lo, m, k, x, lo * k, w, 0, out, lo * m)


@njit(cache=True, parallel=True)
def _backward_products(x, w, dz, dw, dx, krows, want_dw):
    """dw = x.T @ dz (want_dw) or dx = dz @ w.T, in the blocks of w's rows dense_backward
    cuts them into."""
    n, m = dz.shape
    k = x.shape[1]
    for t in prange((k + krows - 1) // krows):
        lo, hi = min(t * krows, k), min(t * krows + krows, k)
        if want_dw:
            gemm(True, False, hi - lo, m, n, x, lo, dz, 0, dw, lo * m)
        else:
            gemm(False, True, n, hi - lo, m, dz, 0, w, lo * m, dx, lo)


@njit(cache=True, parallel=True)
def _column_blocks(dz, db, blocks):
    """db = dz's column sums, cut among `blocks` blocks as dense_backward cuts them."""
    m = db.shape[0]
    mcols = (m + blocks - 1) // blocks
    for t in prange(blocks):
        _column_sums(dz, db, min(t * mcols, m), min(t * mcols + mcols, m))


class Replay:
    """The products of a recorded step, alone: `seconds` {phase: s} and `flops` {phase: n}."""

    def __init__(self, calls, dtype):
        rng = np.random.default_rng(0)
        arrays = {}

        def array(role, shape):  # one array per role and shape, as a step reuses its buffers
            if (role, shape) not in arrays:
                arrays[role, shape] = rng.uniform(-0.1, 0.1, shape).astype(dtype)
            return arrays[role, shape]

        self.work = []
        for kind, (n, k), (_, m), want_dw, want_dx in calls:
            x, w = array("x", (n, k)), array("w", (k, m))
            out = array("out", (n, m))
            self.work.append((kind, x, w, out, want_dw, want_dx, array("dw", (k, m)),
                              array("db", (m,)), array("dx", (n, k))))
        self.seconds = collections.defaultdict(float)
        self.flops = collections.defaultdict(float)

    def run(self, steps):
        for _ in range(steps):
            for kind, x, w, out, want_dw, want_dx, dw, db, dx in self.work:
                n, k = x.shape
                m = w.shape[1]
                if kind == "forward":
                    cols, step = forward_cut(n, k, m)
                    self._time("forward products", 2 * n * k * m, _forward_products, x, w, out,
                               cols, step)
                    continue
                krows = backward_cut(n, k)[1]
                if want_dx:
                    self._time("dX products", 2 * n * k * m, _backward_products, x, w, out, dw,
                               dx, krows, False)
                if want_dw:
                    self._time("dW products", 2 * n * k * m, _backward_products, x, w, out, dw,
                               dx, krows, True)
                    self._time("db sums", 0, _column_blocks, out, db, -(-k // krows))

    def _time(self, phase, flops, fn, *args):
        t = time.perf_counter()
        fn(*args)
        self.seconds[phase] += time.perf_counter() - t
        self.flops[phase] += flops


def phases(gan, dtype, batch, rounds, g_layers=None):
    """{row: ms per step} of one GAN (PHASES, then whole steps), and the products' GFLOP/s;
    `g_layers` replaces the GAN's G layer sizes."""
    spec, steps = GANS[gan], STEPS[gan]
    if g_layers is not None:
        spec = dict(spec, g_layers=g_layers)
    data, idxs = step_data(spec, dtype, batch)
    engines = {label: make_engine(spec, dtype, batch, "numpy" if label == "numpy" else "numba")
               for label in ("numba", "numpy", "probed")}
    probe = Probe(engines["probed"])
    probe.recording = True
    train_steps(engines["probed"], data, idxs, 1)
    probe.recording = False
    replay = Replay(probe.calls, dtype)
    turns = {label: (engine.be.name, functools.partial(train_steps, engine, data, idxs))
             for label, engine in engines.items()}
    turns["replay"] = ("numba", replay.run)
    counted = {"probed": probe, "replay": replay}
    best = dict.fromkeys(turns, (np.inf, None, None))

    def setup(label):
        if label in counted:
            counted[label].seconds.clear()
            if label == "replay":
                replay.flops.clear()
    for label, ms in alternate(turns, steps, rounds, setup):
        if ms < best[label][0]:
            parts = counted.get(label)
            best[label] = (ms, dict(parts.seconds) if parts else None,
                           dict(replay.flops) if label == "replay" else None)
    return _rows(best, steps)


def _rows(best, steps):
    per_step = {label: {p: 1e3 * s / steps for p, s in b[1].items()}
                for label, b in best.items() if b[1] is not None}
    probed, products = per_step["probed"], per_step["replay"]
    row = dict.fromkeys(PHASES, 0.0)
    for phase, ms in probed.items():
        if phase not in ("forward", "backward"):
            row[phase] = ms
    row.update(products)
    row["forward elementwise"] = probed.get("forward", 0) - products.get("forward products", 0)
    row["backward elementwise"] = probed.get("backward", 0) - sum(
        products.get(p, 0) for p in ("dX products", "dW products", "db sums"))
    row["Python between calls"] = best["probed"][0] - sum(probed.values())
    flops = best["replay"][2]
    gflops = {p: flops[p] / steps / (products[p] / 1e3) / 1e9
              for p in ("forward products", "dX products", "dW products") if products.get(p)}
    whole = {"probed step": best["probed"][0], "Numba step": best["numba"][0],
             "NumPy step": best["numpy"][0]}
    return row, whole, gflops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gans", nargs="+", default=["S", "L"], choices=list(GANS))
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--g-layers", type=lambda text: [int(t) for t in text.split(",")],
                        help="G's layer sizes in place of each GAN's, e.g. 100,256,784 for "
                        "the default GAN before its second G layer")
    args = parser.parse_args()
    results = {g: phases(g, args.dtype, args.batch, args.rounds, args.g_layers)
               for g in args.gans}
    print(f"{args.dtype}, batch {args.batch}, ms per step (best round of {args.rounds}); "
          f"GEMM peak {gemm_peak(args.dtype):.0f} GFLOP/s")
    print(f"{'phase':<22}" + "".join(f"{'GAN ' + g:>12}{'%':>6}" for g in args.gans))
    for name in PHASES + ["probed step", "Numba step", "NumPy step"]:
        cells = ""
        for g in args.gans:
            row, whole, _ = results[g]
            ms = row[name] if name in row else whole[name]
            share = f"{100 * ms / whole['probed step']:5.1f}" if name in row else ""
            cells += f"{ms:12.3f}{share:>6}"
        print(f"{name:<22}{cells}")
    for g in args.gans:
        row, whole, gflops = results[g]
        print(f"GAN {g}: Numba vs NumPy {whole['NumPy step'] / whole['Numba step']:.2f}x; "
              f"replayed products GFLOP/s: "
              + ", ".join(f"{p.split()[0]} {v:.0f}" for p, v in gflops.items()))


if __name__ == "__main__":
    main()
