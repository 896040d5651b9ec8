"""Benchmark of the training step: the Numba and NumPy backends side by side, with peers.

`run_bench` times whole training steps (``d_step`` then ``g_step``) of reference GANs with
both backends in one run, interleaved and best-of-repeats so that a noisy machine skews
both alike, and reports each against this machine's GEMM peak measured in the same run.
`format_table` prints the results; ``pytest bench/`` is the full per-kernel suite.
"""
import math
import os
import platform
import time

import numpy as np

from . import peers as _peers
from .backends import BACKENDS, get_backend
from .config import Config
from .engine import Engine
from .presets import PRESETS, RUN_KEYS
from .threads import available_cores, thread_settings


def _preset_spec(name):
    """A preset's Config fields, less the run length and the batch size and dtype a plan sets."""
    return {k: v for k, v in PRESETS[name].items()
            if k not in (*RUN_KEYS, "epochs", "batch_size", "dtype")}


# The reference GANs: S is the NumPy tutorial's, L the PyTorch MNIST tutorial's, default
# what `fastgan train` runs with no flags (the "fastgan" preset: conditional, Adam, EMA,
# dropout) and toy the 2-D toy sets' preset ("toy-2d": tiny nets, relu G, PacGAN packing
# 4). The peers implement the two tutorials' GANs only.
GANS = {
    "S": dict(g_layers=[100, 128, 784], d_layers=[784, 128, 1], g_activation="relu",
              d_activation="leaky_relu", alpha=0.01, optimizer="sgd", learning_rate=1e-3),
    "L": dict(g_layers=[100, 256, 512, 1024, 784], d_layers=[784, 1024, 512, 256, 1],
              g_activation="leaky_relu", d_activation="leaky_relu", alpha=0.2, dropout=0.3,
              optimizer="adam", learning_rate=2e-4, beta1=0.9, beta2=0.999),
    "default": _preset_spec("fastgan"),
    "toy": _preset_spec("toy-2d"),
}
PEER_GANS = ("S", "L")
DTYPES = ("float32", "float64")
# Kernel outputs from the same inputs differ by rounding only: the Numba kernels sum BLAS
# products over blocks of rows, NumPy over the whole batch. Relative to the largest value
# that is ~1e-15 in float64 and ~1e-6 in float32 (sums of up to ~1k terms).
KERNEL_TOL = {"float64": 1e-9, "float32": 1e-4}
# Parameters after the same seeded steps (norm-relative, see param_diffs). float64 is still
# rounding only. float32 steps amplify rounding where the step is not smooth: a unit within
# an ulp of leaky_relu's kink can take the other slope (1 vs alpha) in one backend, and Adam
# moves a weight by up to lr even when its gradient is rounding noise. One such flip in GAN L
# at batch 256 costs ~2e-4; a wrong kernel costs far more, and KERNEL_TOL catches it anyway.
STEP_TOL = {"float64": 1e-9, "float32": 1e-3}
MIN_RUN_S = 0.15  # shortest timed run, and shortest warm-up before it
_QUICK = dict(batches=(64,), steps=20, repeats=7, gemm_size=2048, diff_steps=3, peer_rounds=15)
_FULL = dict(batches=(64, 256), steps=20, repeats=9, gemm_size=2048, diff_steps=3,
             peer_rounds=31)


def macs(layers):
    """Multiply-adds of one sample through dense layers `layers` (sizes, input first)."""
    return sum(k * m for k, m in zip(layers[:-1], layers[1:]))


def step_flops(spec, batch):
    """FLOPs charged to one training step: 2 * batch * (3 MACs(G) + 8 MACs(D)).

    G runs forward and backward once (3); D forward and backward on real and fake rows in
    d_step and again on fake rows in g_step (8). The count is fixed, whatever work a step
    skips, so GFLOP/s compare engines that skip different work. A conditional GAN's one-hot
    labels widen both nets' inputs.
    """
    c = spec.get("n_classes", 0)
    g, d = list(spec["g_layers"]), list(spec["d_layers"])
    g[0] += c
    d[0] += c
    return 2 * batch * (3 * macs(g) + 8 * macs(d))


def gemm_peak(dtype, size=2048, repeats=3, threads=None):
    """GFLOP/s of the best of `repeats` (size, size) matmuls through NumPy's BLAS."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
    out = np.empty_like(a)
    best = math.inf
    with thread_settings("numpy", threads):
        np.matmul(a, b, out=out)
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 / best / 1e9


def make_engine(spec, dtype, batch, backend, seed=0):
    """An Engine for GAN `spec`; the same seed gives the same initial weights on any backend."""
    cfg = Config(**spec, batch_size=batch, dtype=dtype, backend=backend, seed=seed)
    return Engine(cfg, get_backend(backend))


def step_data(spec, dtype, batch, seed=0, batches=8):
    """Synthetic real data (batches * batch, features) in [-1, 1] and one index array per batch."""
    rng = np.random.default_rng(seed)
    rows = batches * batch
    data = rng.uniform(-1, 1, (rows, spec["d_layers"][0])).astype(dtype)
    perm = rng.permutation(rows)
    return data, [perm[i * batch:(i + 1) * batch] for i in range(batches)]


def train_steps(engine, data, idxs, steps):
    """Run `steps` training steps (d_step then g_step), cycling through the index arrays.
    A conditional engine gets the labels 0, 1, ..., C - 1, 0, 1, ... for the data rows."""
    labels = np.arange(len(data)) % engine.C if engine.C else None
    for s in range(steps):
        engine.d_step(data, idxs[s % len(idxs)], labels)
        engine.prefetch(data, idxs[(s + 1) % len(idxs)])  # as fastgan.train does
        engine.g_step()


def param_diffs(a, b):
    """How far engine a's parameters are from b's, as (norm, elementwise) relative errors.

    norm: max over G and D of ||a - b|| / ||b||, the figure checked against STEP_TOL.
    elementwise: max |a - b| / max |b|. In float32 the second shows single weights that
    rounding sent another way (see STEP_TOL): about lr / max |b| each.
    """
    norm = elementwise = 0.0
    for net_a, net_b in ((a.G, b.G), (a.D, b.D)):
        d = (net_a.params - net_b.params).astype(np.float64)
        p = net_b.params.astype(np.float64)
        tiny = np.finfo(np.float64).tiny
        norm = max(norm, float(np.linalg.norm(d) / max(np.linalg.norm(p), tiny)))
        elementwise = max(elementwise, float(np.max(np.abs(d)) / max(np.max(np.abs(p)), tiny)))
    return norm, elementwise


def backend_diff(spec, dtype, batch, steps=3, threads=None):
    """`param_diffs` of the numba engine from the numpy one after `steps` same seeded steps."""
    data, idxs = step_data(spec, dtype, batch)
    engines = {}
    for backend in ("numba", "numpy"):
        engines[backend] = make_engine(spec, dtype, batch, backend)
        with thread_settings(backend, threads):
            train_steps(engines[backend], data, idxs, steps)
    return param_diffs(engines["numba"], engines["numpy"])


def time_cases(cases, steps, repeats, threads=None, say=None):
    """Per case (spec, dtype, batch) and backend: ms per step (best of `repeats` timed runs)
    and the first step's s.

    The first step is timed apart: there Numba compiles its kernels or loads them from its
    cache. Then every case and backend takes its turn in each of `repeats` rounds, so a busy
    spell of the machine hits one run of several cases, not every run of one. A timed run
    takes at least `steps` steps and at least MIN_RUN_S seconds: a few short steps of a toy
    GAN would measure the machine's noise more than the step.
    """
    runs = []
    for spec, dtype, batch in cases:
        data, idxs = step_data(spec, dtype, batch)
        engines = {b: make_engine(spec, dtype, batch, b) for b in BACKENDS}
        first = {}
        for backend in BACKENDS:
            with thread_settings(backend, threads):
                first[backend] = _timed(train_steps, engines[backend], data, idxs, 1)
        runs.append((engines, data, idxs, first, dict.fromkeys(BACKENDS, math.inf)))
    for r in range(repeats):
        if say is not None:
            say(f"timing round {r + 1} of {repeats}")
        for engines, data, idxs, _, best in runs:
            for backend in BACKENDS:
                t = _time_run(engines[backend], backend, data, idxs, steps, threads)
                best[backend] = min(best[backend], t)
    return [{b: {"ms_per_step": 1e3 * best[b], "first_step_s": first[b]} for b in BACKENDS}
            for _, _, _, first, best in runs]


def _time_run(engine, backend, data, idxs, steps, threads):
    """Seconds per step of one timed run, after untimed steps for at least MIN_RUN_S."""
    with thread_settings(backend, threads):
        # untimed steps first: BLAS threads of the run before spin on for about 0.1 s after
        # their last call, and would be charged to this one
        warm, done = 0.0, 0
        while warm < MIN_RUN_S:
            warm += _timed(train_steps, engine, data, idxs, steps)
            done += steps
        n = max(steps, math.ceil(done * MIN_RUN_S / warm))
        return _timed(train_steps, engine, data, idxs, n) / n


def fastgan_turn(plan, threads=None):
    """fastgan_ms(spec, batch): the Numba engine's float32 ms per step, timed as
    `peers.run_peer` times a peer's (one untimed step, then the best of plan["repeats"] runs
    of plan["steps"] steps), on an engine made once per GAN and batch."""
    made = {}

    def fastgan_ms(spec, batch):
        key = (id(spec), batch)
        if key not in made:
            made[key] = (make_engine(spec, "float32", batch, "numba"),
                         *step_data(spec, "float32", batch))
        engine, data, idxs = made[key]
        with thread_settings("numba", threads):
            train_steps(engine, data, idxs, 1)
            best = min(_timed(train_steps, engine, data, idxs, plan["steps"])
                       for _ in range(plan["repeats"]))
        return 1e3 * best / plan["steps"]
    return fastgan_ms


def _timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def bench_case(name, spec, dtype, batch, times, peak, plan, threads=None):
    """Results of one GAN at one dtype and batch from its `times` (see `time_cases`):
    throughput, share of peak, and the backends' difference after the same steps."""
    sec = times["numba"]["ms_per_step"] / 1e3
    gflops = step_flops(spec, batch) / sec / 1e9
    diff, elementwise = backend_diff(spec, dtype, batch, plan["diff_steps"], threads)
    return {"gan": name, "dtype": dtype, "batch": batch,
            "flops_per_step": step_flops(spec, batch), **times,
            "ms_per_step": times["numba"]["ms_per_step"], "images_per_s": batch / sec,
            "gflops": gflops, "peak_fraction": gflops / peak,
            "speedup_vs_numpy": times["numpy"]["ms_per_step"] / times["numba"]["ms_per_step"],
            "max_backend_diff": diff, "max_elementwise_diff": elementwise,
            "diff_ok": diff <= STEP_TOL[dtype]}


def run_bench(quick=True, threads=None, peers=True, progress=None, *, gans=None,
              dtypes=DTYPES, batches=None, steps=None, repeats=None, gemm_size=None,
              startup=True, peer_python=None):
    """Benchmark training steps of the reference GANs; return JSON-able results.

    Parameters
    ----------
    quick : bool
        Batch 64 and short runs (about two minutes on 2 idle cores, peers included) instead
        of batches 64 and 256, longer runs, and start-up with an empty cache too.
    threads : int, optional
        Cores to use (default all), for fastgan and the peers alike.
    peers : bool
        Also time PyTorch and JAX on the same float32 steps, each in its own subprocess
        (with `peer_python`, FASTGAN_PEER_PYTHON, or this interpreter).
    progress : callable, optional
        Called with a short str before each measurement.
    gans : dict, optional
        {name: spec} of Config fields (layers, activations, optimizer...); default `GANS`.
    dtypes, batches, steps, repeats, gemm_size : optional
        Override the plan: dtypes, batch sizes, steps per timed run, runs per case, and the
        size of the square matmul that measures the GEMM peak.
    startup : bool
        Also time a fresh process to its first step (warm cache; in full mode also an
        empty one) and the peak memory of training GAN L.

    Returns
    -------
    dict
        "machine", "plan", "gemm_peak_gflops" {dtype: GFLOP/s}, "cases" (one dict per GAN,
        dtype and batch), "peers", and with `startup` "startup" and "memory".
    """
    plan = dict(_QUICK if quick else _FULL)
    for key, value in dict(batches=batches, steps=steps, repeats=repeats,
                           gemm_size=gemm_size).items():
        if value is not None:
            plan[key] = value
    gans = GANS if gans is None else gans
    say = progress or (lambda message: None)
    say(f"GEMM peak ({plan['gemm_size']}^3 matmul)")
    peak = {dt: gemm_peak(dt, plan["gemm_size"], threads=threads) for dt in dtypes}
    keys = [(name, dtype, batch) for name in gans for dtype in dtypes
            for batch in plan["batches"]]
    say(f"first steps of {len(keys)} cases")
    times = time_cases([(gans[name], dtype, batch) for name, dtype, batch in keys],
                       plan["steps"], plan["repeats"], threads, say)
    # again after the steps: a busy spell during one measurement must not lower the peak
    peak = {dt: max(p, gemm_peak(dt, plan["gemm_size"], threads=threads))
            for dt, p in peak.items()}
    cases = []
    for (name, dtype, batch), case_times in zip(keys, times):
        say(f"GAN {name} {dtype} batch {batch}: backend agreement")
        cases.append(bench_case(name, gans[name], dtype, batch, case_times, peak[dtype], plan,
                                threads))
    results = {"machine": machine_info(threads),
               "plan": {**plan, "batches": list(plan["batches"]), "dtypes": list(dtypes)},
               "gemm_peak_gflops": peak, "cases": cases, "peers": []}
    if peers:
        tutorials = {name: spec for name, spec in gans.items() if name in PEER_GANS}
        results["peers"] = _peers.peer_rows(tutorials, plan["batches"], plan["peer_rounds"],
                                            threads, peer_python, say)
    if startup:
        say("start-up and peak memory (fresh processes)")
        results["startup"] = _peers.startup_figures("L", GANS["L"], threads, cold=not quick)
        results["memory"] = _peers.memory_figure("L", GANS["L"], threads)
    return results


def machine_info(threads=None):
    """Cores, thread count, Numba's threading layer, library versions and BLAS of this run
    (and whose gemm the Numba kernels call: "mkl", "numpy" or "scipy")."""
    import numba
    from threadpoolctl import threadpool_info

    from .kernels.blas import SOURCE
    from .kernels.threading_layer import threading_layer
    blas = [f"{i['internal_api']} {i['version']}" for i in threadpool_info()
            if i["user_api"] == "blas"]
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "threads": threads or available_cores(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "threading_layer": threading_layer(),
            "blas": sorted(set(blas)), "kernel_gemm": SOURCE}


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def format_table(results):
    """The results of `run_bench` as a plain-text report."""
    m, peak = results["machine"], results["gemm_peak_gflops"]
    peaks = ", ".join(f"{dt} {g:.0f}" for dt, g in peak.items())
    lines = [f"fastgan bench: {m['cpu']}, {m['threads']} threads; numpy {m['numpy']}, "
             f"numba {m['numba']} on {m['threading_layer']}, BLAS "
             f"{', '.join(m['blas']) or '?'} (kernels call {m['kernel_gemm']}'s gemm)",
             f"GEMM peak (GFLOP/s, this run): {peaks}", ""]
    rows = [[c["gan"], c["dtype"], c["batch"], f"{c['ms_per_step']:.2f}",
             f"{c['images_per_s']:.0f}", f"{c['numpy']['ms_per_step']:.2f}",
             f"{c['speedup_vs_numpy']:.2f}x", f"{100 * c['peak_fraction']:.1f}%",
             f"{c['numba']['first_step_s']:.2f}",
             f"{c['max_backend_diff']:.1e}" + ("" if c["diff_ok"] else " FAIL")]
            for c in results["cases"]]
    lines += _grid(["GAN", "dtype", "batch", "ms/step", "images/s", "numpy ms", "vs numpy",
                    "% peak", "first step s", "max diff"], rows)
    if results["peers"]:
        rounds = results["plan"]["peer_rounds"]
        lines += ["", f"Peers (float32, all cores; each engine in its own process, fastgan "
                      f"through GAN.fit; {rounds} rounds of turns; medians):"]
        lines += _grid(["GAN", "batch", "engine", "ms/step", "fastgan ms", "fastgan vs peer",
                        "middle half of rounds", "steps/turn"],
                       [_peer_row(p) for p in results["peers"]])
        lines.append("(peer ms / fastgan numba float32 ms: above 1x fastgan is faster)")
    if "startup" in results:
        lines += ["", _startup_line(results["startup"]), _memory_line(results["memory"])]
    return "\n".join(lines)


def _peer_row(p):
    if p["status"] != "ok":
        why = f"{p['status']} ({p['error']})" if "error" in p else p["status"]
        return [p["gan"], p["batch"], p["engine"], why, "", "", "", ""]
    low, high = p["ratio_quartiles"]
    return [p["gan"], p["batch"], f"{p['engine']} {p['version']}", f"{p['ms_per_step']:.2f}",
            f"{p['fastgan_ms']:.2f}", f"{p['fastgan_ratio']:.2f}x", f"{low:.2f}-{high:.2f}x",
            p["steps_per_turn"]]


def _startup_line(s):
    parts = [f"warm cache {s['warm_s']:.2f} s (target < {s['warm_target_s']:g} s)"]
    if s.get("cold_s") is not None:
        parts.append(f"empty cache {s['cold_s']:.1f} s (target < {s['cold_target_s']:g} s)")
    return f"Start-up to the first step of GAN {s['gan']}: " + ", ".join(parts)


def _memory_line(m):
    return (f"Peak memory training GAN {m['gan']} at batch {m['batch']}: {m['peak_mb']:.0f} MB, "
            f"of which data {m['data_mb']:.0f} MB ({m['rows']} rows of {m['dtype']}); "
            f"target < {m['target_mb']} MB")


def _grid(headers, rows):
    """Columns padded to their widest cell; the first three left-aligned."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in cells]
