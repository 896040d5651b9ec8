"""Figures measured in fresh processes: the peers' steps, start-up time and peak memory.

Each peer (PyTorch, JAX) runs the same GAN step in its own subprocess, from the scripts in
fastgan/peer_steps/ (shipped with the package), so its thread pools never meet fastgan's. The
scripts need only their framework and NumPy: point `python` or FASTGAN_PEER_PYTHON at an
interpreter that has them.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PEERS = ("torch", "jax")
SCRIPTS = Path(__file__).resolve().parent / "peer_steps"
NOT_INSTALLED = 3  # the exit code of a peer script whose framework is missing
WARM_TARGET_S, COLD_TARGET_S, MEMORY_TARGET_MB = 2.0, 20.0, 300

# A fresh process that imports fastgan and trains `steps` steps; prints its own timings.
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from fastgan.benchmark import make_engine, train_steps
from fastgan.threads import thread_settings
spec, dtype, batch, rows, steps, threads = json.loads(sys.argv[1])
engine = make_engine(spec, dtype, batch, "numba")
data = np.random.default_rng(0).integers(0, 256, (rows, spec["d_layers"][0]), np.uint8)
idxs = [np.arange(i, i + batch) for i in range(0, rows - batch + 1, batch)]
t1 = time.perf_counter()
with thread_settings("numba", threads):
    train_steps(engine, data, idxs, steps)
print(json.dumps({"import_s": t1 - t0, "steps_s": time.perf_counter() - t1,
                  "done_at": time.time()}))
"""
# Runs the command in argv and prints the peak resident size of its process tree, in KiB.
_MAXRSS = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
           "stdout=subprocess.DEVNULL); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peer_python(python=None):
    """The interpreter that runs the peer scripts: `python`, FASTGAN_PEER_PYTHON, or this one."""
    return python or os.environ.get("FASTGAN_PEER_PYTHON") or sys.executable


def run_peer(engine, spec, batch, steps, repeats, threads=None, python=None, timeout=600):
    """Time `engine`'s float32 GAN step in a subprocess; return a dict with a "status".

    "ok" comes with ms_per_step (best of `repeats` runs of `steps`), first_step_s and
    version; otherwise the status says why not ("not installed", with the import error in
    "error", or "failed: ...").
    """
    script = SCRIPTS / f"{engine}_step.py"
    if not script.is_file():
        return {"status": f"no script {script}"}
    cmd = [peer_python(python), str(script), "--spec", json.dumps(spec), "--batch", str(batch),
           "--steps", str(steps), "--repeats", str(repeats)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {timeout} s"}
    if proc.returncode == NOT_INSTALLED:
        return {"status": "not installed", **json.loads(proc.stdout.strip().splitlines()[-1])}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"failed: {tail[:120]}"}
    return {"status": "ok", **json.loads(proc.stdout.strip().splitlines()[-1])}


def peer_rows(gans, plan, fastgan_ms, threads=None, python=None, say=print):
    """Every peer on every GAN at each batch, taking turns with fastgan.

    Each of plan["peer_rounds"] rounds times fastgan's float32 step (`fastgan_ms(spec,
    batch)`, in this process) and then each peer in a fresh process, so a busy spell of the
    machine lands on both sides of a round. A row gives the peer's and fastgan's median ms
    and the median of the rounds' ratios (peer ms over fastgan's: above 1 fastgan is faster).
    A peer that does not run gives its status after its first try.
    """
    rows = []
    for name, spec in gans.items():
        for batch in plan["batches"]:
            runs = {engine: [] for engine in PEERS}
            failed = {}
            for r in range(plan["peer_rounds"]):
                if len(failed) == len(PEERS):  # no peer runs: nothing to take turns with
                    break
                say(f"peers: GAN {name} float32 batch {batch}, round {r + 1} of "
                    f"{plan['peer_rounds']}")
                ours = fastgan_ms(spec, batch)
                for engine in PEERS:
                    if engine in failed:
                        continue
                    row = run_peer(engine, spec, batch, plan["steps"], plan["repeats"],
                                   threads, python)
                    if row["status"] == "ok":
                        runs[engine].append((row, ours))
                    else:
                        failed[engine] = row
            for engine in PEERS:
                base = {"gan": name, "batch": batch, "engine": engine}
                rows.append({**base, **failed[engine], "fastgan_ratio": None}
                            if engine in failed else {**base, **_turns(runs[engine])})
    return rows


def _turns(runs):
    """A peer's row from its rounds [(its result, fastgan's ms)]."""
    peer = np.array([row["ms_per_step"] for row, _ in runs])
    ours = np.array([ms for _, ms in runs])
    return {**runs[-1][0], "ms_per_step": float(np.median(peer)),
            "fastgan_ms": float(np.median(ours)), "round_ratios": (peer / ours).tolist(),
            "fastgan_ratio": float(np.median(peer / ours))}


def run_child(spec, dtype="float32", batch=64, rows=None, steps=1, threads=None, env=None):
    """Wall seconds from launching a fresh `python -c` that imports fastgan and trains `steps`
    steps to the end of those steps. The process's exit is not counted: the interpreter's
    last garbage collection, over all that Numba compiled and loaded, takes 0.4-0.7 s.

    Returns (seconds, the child's own {"import_s", "steps_s", "done_at"}).
    """
    args = json.dumps([spec, dtype, batch, rows or batch, steps, threads])
    launched = time.time()  # the child's clock, as it stamps the end of its steps
    proc = subprocess.run([sys.executable, "-c", _CHILD, args], capture_output=True, text=True,
                          check=True, env=env)
    inside = json.loads(proc.stdout.strip().splitlines()[-1])
    return inside["done_at"] - launched, inside


def startup_figures(name, spec, threads=None, cold=True, repeats=2):
    """Seconds from launch to the end of the first training step, warm and empty Numba cache.

    Warm: Numba's usual cache (NUMBA_CACHE_DIR if set, else __pycache__ beside the kernels),
    filled by an untimed run first; best of `repeats`. Empty: NUMBA_CACHE_DIR pointed at a
    new temporary folder, so every kernel compiles.
    """
    run_child(spec, threads=threads)
    warm = min((run_child(spec, threads=threads) for _ in range(repeats)), key=lambda r: r[0])
    out = {"gan": name, "dtype": "float32", "batch": 64, "warm_s": warm[0],
           "warm_import_s": warm[1]["import_s"], "warm_target_s": WARM_TARGET_S,
           "cold_s": None, "cold_target_s": COLD_TARGET_S}
    if cold:
        with tempfile.TemporaryDirectory(prefix="fastgan-numba-cache-") as cache:
            out["cold_s"] = run_child(spec, threads=threads,
                                      env={**os.environ, "NUMBA_CACHE_DIR": cache})[0]
    return out


def memory_figure(name, spec, threads=None, batch=64, rows=60000, steps=20):
    """Peak resident MB of a fresh process training `steps` float32 steps on `rows` rows.

    The default 60000 rows of 784 uint8 pixels are MNIST's training set as training holds
    it (47 MB; 188 MB as float32).
    Read as ru_maxrss of RUSAGE_CHILDREN in a wrapper process that runs nothing else.
    """
    args = json.dumps([spec, "float32", batch, rows, steps, threads])
    proc = subprocess.run([sys.executable, "-c", _MAXRSS, sys.executable, "-c", _CHILD, args],
                          capture_output=True, text=True, check=True)
    kib = int(proc.stdout.strip().splitlines()[-1])
    return {"gan": name, "batch": batch, "rows": rows, "dtype": "uint8",
            "data_mb": rows * spec["d_layers"][0] / 2 ** 20, "peak_mb": kib / 1024,
            "target_mb": MEMORY_TARGET_MB}
