"""Figures measured in fresh processes: the peers' steps against fastgan's, start-up time
and peak memory.

Each engine (fastgan, PyTorch, JAX) runs the same GAN step in a process of its own, from the
scripts in fastgan/peer_steps/ (shipped with the package), so their thread pools never meet.
A script stays warm and runs steps when told (peer_steps/_common.serve), so the engines take
turns many times a second: a busy spell of the machine, which lasts seconds, lands on all of
them alike. The peers' scripts need only their framework and NumPy: point `python` or
FASTGAN_PEER_PYTHON at an interpreter that has them. fastgan's own script trains through
`GAN.fit`, the way users train.
"""
import collections
import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

PEERS = ("torch", "jax")
SCRIPTS = Path(__file__).resolve().parent / "peer_steps"
WARM_TARGET_S, COLD_TARGET_S, MEMORY_TARGET_MB = 2.0, 20.0, 300
TURN_S = 0.2  # the shortest turn of fastgan's steps against the peers; the others' are as many
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


class PeerFailed(RuntimeError):
    """An engine's script stopped, or did not answer in time; the message says why."""


class Worker:
    """An engine's step script ("fastgan", "torch" or "jax") in a process of its own, warm
    between timed runs. `info` is the script's first reply: status "ready" with version,
    threads and first_step_s, or the reason it does not run ("not installed", with the
    import error in "error"; "failed: ..."; "timed out ...")."""

    def __init__(self, engine, spec, batch, threads=None, python=None, timeout=600):
        script = SCRIPTS / f"{engine}_step.py"
        python = sys.executable if engine == "fastgan" else peer_python(python)
        cmd = [python, str(script), "--spec", json.dumps(spec), "--batch", str(batch)]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        self.timeout = timeout
        self.last = None  # the script's last reply to `run`
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._replies = queue.Queue()
        self._errors = collections.deque(maxlen=20)  # drained, so the child never blocks
        self._readers = [threading.Thread(target=_read, args=(stream, put), daemon=True)
                         for stream, put in ((self.proc.stdout, self._replies.put),
                                             (self.proc.stderr, self._errors.append))]
        for reader in self._readers:
            reader.start()
        try:
            self.info = self._reply()
        except PeerFailed as err:
            self.info = {"status": str(err)}

    def _reply(self):
        """The script's next JSON line; PeerFailed if it stops or takes over `timeout` s."""
        while True:
            try:
                line = self._replies.get(timeout=self.timeout)
            except queue.Empty:
                self.close(kill=True)
                raise PeerFailed(f"timed out after {self.timeout} s") from None
            if line is None:  # it stopped: say why, from its last line on stderr
                self.proc.wait()
                self._readers[1].join(timeout=5)
                tail = [text.strip() for text in self._errors if text and text.strip()]
                raise PeerFailed(f"failed: {(tail or ['no output'])[-1][:120]}")
            if line.startswith("{"):  # anything else a library printed is not ours
                return json.loads(line)

    @property
    def ready(self):
        return self.info.get("status") == "ready"

    def run(self, steps):
        """Seconds the script takes to run `steps` more steps."""
        try:
            self.proc.stdin.write(f"{steps}\n")
            self.proc.stdin.flush()
        except OSError:  # it has stopped: _reply says why
            pass
        self.last = self._reply()
        return self.last["seconds"]

    def close(self, kill=False):
        """End the script: stdin closed, which ends its loop, or killed."""
        if self.proc.poll() is None and not kill:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:  # stdin's last write went to a stopped process
                pass


def _read(stream, put):
    """put() each line of `stream`, then None."""
    for line in stream:
        put(line)
    put(None)


def run_peer(engine, spec, batch, steps, repeats, threads=None, python=None, timeout=600):
    """Time `engine`'s float32 GAN step in a subprocess; return a dict with a "status".

    "ok" comes with ms_per_step (best of `repeats` runs of `steps`), first_step_s and
    version; otherwise the status says why not (as `Worker.info`).
    """
    worker = Worker(engine, spec, batch, threads, python, timeout)
    try:
        if not worker.ready:
            return worker.info
        best = min(worker.run(steps) for _ in range(repeats))
    except PeerFailed as err:
        return {"status": str(err)}
    finally:
        worker.close()
    return {**worker.info, "status": "ok", "ms_per_step": 1e3 * best / steps}


def peer_rows(gans, batches, rounds, threads=None, python=None, say=print, engines=PEERS):
    """Every peer in `engines` on every GAN ({name: spec}) at each batch size, taking turns
    with fastgan's own script, each in its warm process.

    fastgan's first runs set the steps of a turn (at least TURN_S of its steps); then each of
    `rounds` rounds gives every engine a turn of that many steps, in an order that rotates
    round by round. A row gives the peer's and fastgan's median ms per step and the median of
    the rounds' ratios (peer ms over fastgan's: above 1 fastgan is faster). A peer that does
    not run gives its status instead.
    """
    rows = []
    for name, spec in gans.items():
        for batch in batches:
            say(f"peers: GAN {name} float32 batch {batch}, {rounds} rounds")
            workers = {"fastgan": Worker("fastgan", spec, batch, threads)}
            try:
                workers.update({e: Worker(e, spec, batch, threads, python) for e in engines})
                rows += _race(name, batch, workers, rounds)
            finally:
                for worker in workers.values():
                    worker.close()
    return rows


def _race(name, batch, workers, rounds):
    """The rows of one GAN and batch: its `workers` (fastgan's first) taking turns for
    `rounds` rounds."""
    ours = workers["fastgan"]
    if not ours.ready:
        raise PeerFailed(f"fastgan's own step script did not run: {ours.info['status']}")
    failed = {e: w.info for e, w in workers.items() if not w.ready}
    order = [e for e in workers if e not in failed]
    ms = {e: [] for e in order}
    steps = _turn_steps(ours) if len(order) > 1 else 0  # else no peer runs: no turns
    # round -1 is an untimed turn each, so that every engine starts as warm as fastgan
    for r in range(-1, rounds if steps else -1):
        for e in order[r % len(order):] + order[:r % len(order)]:
            if e in failed:
                continue
            try:
                seconds = workers[e].run(steps)
            except PeerFailed as err:
                if e == "fastgan":
                    raise
                failed[e] = {"status": str(err)}
                continue
            if r >= 0:
                ms[e].append(1e3 * seconds / steps)
    rows = []
    for e in workers:
        if e == "fastgan":
            continue
        base = {"gan": name, "batch": batch, "engine": e}
        if e in failed:
            rows.append({**base, **failed[e], "fastgan_ratio": None})
            continue
        peer, fast = np.array(ms[e]), np.array(ms["fastgan"])
        ratios = peer / fast
        rows.append({**base, **workers[e].info, "status": "ok", "steps_per_turn": steps,
                     "ms_per_step": float(np.median(peer)),
                     "fastgan_ms": float(np.median(fast)), "round_ratios": ratios.tolist(),
                     "fastgan_ratio": float(np.median(ratios)),
                     "ratio_quartiles": np.percentile(ratios, [25, 75]).tolist()})
    return rows


def _turn_steps(worker):
    """Steps that take `worker` at least TURN_S, found by runs of doubling length."""
    steps = 1
    while (seconds := worker.run(steps)) < TURN_S:
        steps = max(2 * steps, math.ceil(steps * TURN_S / max(seconds, 1e-6)))
    return steps


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
