"""One trial of a sweep, as a Dask worker runs it: `fastgan train` into its own run folder,
then `fastgan eval`, returning a JSON-able record.

A trial killed with its worker is started again by Dask; finding its checkpoint, it
resumes from there with the time (or epochs) it had left.
"""
import json
import os
import time

from .. import commands
from ..fileio import atomic_write_text
from ..run import CHECKPOINT
from ..threads import thread_settings
from ..train import TrainingDiverged

_CLOCK = "trial.json"   # the run length, and seconds trained before the current attempt


def run_trial(trial, folder, threads=None, checkpoint_seconds=20.0, eval_n=10000):
    """Train and evaluate one trial; return its record.

    Parameters
    ----------
    trial : dict
        {"id", "options", "seed"} from `SweepSpec.trials`.
    folder : str
        The trial's run folder.
    threads : int or dict, optional
        Cores the trial uses, or {worker address: cores} to look this worker up in.
    checkpoint_seconds : float
        Least time between checkpoints: what a killed trial can lose.
    eval_n : int
        Samples the final evaluation scores.

    Returns
    -------
    dict
        id, options, seed, status ("done", "diverged" or "failed"), error, steps, epochs,
        resumed_from_step, seconds (this attempt's wall time), metrics (None unless done,
        or done on data the evaluation can't judge, with the reason as error).
    """
    started = time.monotonic()
    record = {"id": trial["id"], "options": trial["options"], "seed": trial["seed"],
              "status": "done", "error": None, "steps": None, "epochs": None,
              "resumed_from_step": 0, "metrics": None}
    threads = _threads_here(threads)
    try:
        job, train = _prepare(trial, folder, threads, checkpoint_seconds)
        gan = job.folder.gan
        record["resumed_from_step"] = len(gan.history["d_loss"])
        if train:
            job.run(progress=False)
        record.update(steps=len(gan.history["d_loss"]), epochs=gan.trainer and gan.trainer.epoch)
        record["metrics"], record["error"] = _evaluate(job.folder.checkpoint_path, eval_n,
                                                       threads)
    except TrainingDiverged as e:
        record.update(status="diverged", error=str(e))
    except (ValueError, TypeError) as e:  # data that does not fit the config, no evaluator...
        record.update(status="failed", error=str(e))
    record["seconds"] = round(time.monotonic() - started, 1)
    return record


def _evaluate(checkpoint, n, threads):
    """(metrics, None), or (None, why) for data `fastgan eval` can't judge (not digits)."""
    try:
        with thread_settings("numba", threads):
            return commands.evaluate(checkpoint, n=n), None
    except ValueError as e:
        return None, f"not evaluated: {e}"


def _prepare(trial, folder, threads, checkpoint_seconds):
    """(TrainJob, whether it has training left): a new run, or the killed one resumed."""
    base = {"out": folder, "checkpoint_seconds": checkpoint_seconds}
    clock_path = os.path.join(folder, _CLOCK)
    if os.path.exists(os.path.join(folder, CHECKPOINT)) and os.path.exists(clock_path):
        with open(clock_path, encoding="utf-8") as f:
            clock = json.load(f)
        trained = clock["trained"] + max(0.0, os.path.getmtime(
            os.path.join(folder, CHECKPOINT)) - clock["attempt_start"])
        length = {"epochs": clock["epochs"]}
        if clock["minutes"] is not None:
            length = {"minutes": max(clock["minutes"] - trained / 60, 1e-3)}
        job = commands.prepare_train({**base, **length, "resume": True})
        left = clock["minutes"] is None or trained < 60 * clock["minutes"]
        _write_clock(clock_path, clock["minutes"], clock["epochs"], trained)
        return job, left
    job = commands.prepare_train({**base, **train_options(trial["options"]),
                                  "seed": trial["seed"], "threads": threads})
    _write_clock(clock_path, job.minutes, job.epochs, 0.0)
    return job, True


def _write_clock(path, minutes, epochs, trained):
    atomic_write_text(path, json.dumps({"minutes": minutes, "epochs": epochs,
                                        "trained": trained, "attempt_start": time.time()}))


def train_options(options):
    """`fastgan train` options (CLI dest names) for a trial's Config fields and run options."""
    out = {}
    dests = _field_dests()
    for key, value in options.items():
        if key == "n_classes":
            out["conditional" if value else "unconditional"] = True
        elif key in ("dataset", "digits", "preset", "minutes", "epochs"):
            out[key] = value
        elif key in dests:
            out[dests[key]] = value
        else:
            raise ValueError(f"{key} has no `fastgan train` option, so a sweep can't set it")
    return out


def _field_dests():
    """Config field -> the train option (dest) that sets it, read off commands' own map."""
    dests = {}
    for flag, _, _ in commands.CONFIG_FLAGS:
        dest = flag[2:].replace("-", "_")
        fields = commands.config_options({dest: 0})
        if len(fields) == 1:
            dests[next(iter(fields))] = dest
    return dests


def _threads_here(threads):
    """Cores for a trial on this worker: an int as given, else this worker's share."""
    if not isinstance(threads, dict):
        return threads
    from distributed import get_worker
    try:
        return threads.get(get_worker().address, 1)
    except ValueError:  # not on a worker
        return None
