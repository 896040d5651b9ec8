"""Sweeps: many `fastgan train` runs over a grid or random draws of options times seeds, each
with its own run folder and a final evaluation, run on Dask (see docs/sweeps.md).

>>> from fastgan.sweep import SweepSpec, run_sweep
>>> spec = SweepSpec(set={"dataset": "grid25", "minutes": 1},
...                  grid={"loss": ["non-saturating", "hinge"]}, seeds=3)
>>> result = run_sweep(spec, "sweeps/losses")            # doctest: +SKIP
>>> print(result["report"])                             # doctest: +SKIP
"""
import contextlib
import os

from ..fileio import atomic_write_text
from .options import TOP_FLAGS, spec_from_options
from .report import save_report_plot, settings_table, trials_table
from .runner import local_plan, open_client, run_trials, worker_threads
from .spec import SweepSpec, SweepSpecError, load_sweep_file, spec_from_dict
from .store import SweepFolder

__all__ = ["SweepSpec", "SweepSpecError", "load_sweep_file", "spec_from_dict",
           "spec_from_options", "run_sweep", "write_report", "SweepFolder", "TOP_FLAGS"]
REPORT_TEXT, REPORT_PLOT = "report.md", "report.png"


def run_sweep(spec, out, resume=False, scheduler=None, workers=None, threads=None,
              client=None, retries=2, checkpoint_seconds=20.0, progress=True, on_record=None,
              say=print):
    """Run a sweep's trials (all of them, or with `resume` those not yet recorded).

    Parameters
    ----------
    spec : SweepSpec or None
        The sweep; None with `resume`, which reads the plan back from `out`.
    out : str
        The sweep folder: sweep.json, results.jsonl, results.csv, report.md, report.png
        and trials/<id>/, one run folder per trial.
    resume : bool
        Run only the trials with no final record in `out` (never run, cut off, or failed).
    scheduler : str, optional
        Address (tcp://host:8786) or scheduler file of a running Dask cluster; default a
        LocalCluster of `workers` processes.
    workers, threads : int, optional
        LocalCluster workers, and cores per trial (default: this machine's cores shared by
        the trials that run at once; on a cluster each host's cores shared by its workers).
    client : distributed.Client, optional
        Use this client instead (its cluster stays open).
    retries : int
        Reruns of a trial that raised an unexpected error (a dead worker's trial is
        rescheduled by Dask in any case).
    checkpoint_seconds : float
        Least time between a trial's checkpoints: what a dead worker can cost it.
    on_record : callable, optional
        Called with each record as it is written.

    Returns
    -------
    dict
        trials (the plan), records (every record so far), ran (records added now),
        report (the tables as Markdown text).
    """
    folder = SweepFolder(out)
    if resume:
        plan = folder.read_plan()
        spec, trials = SweepSpec(**plan["spec"]), plan["trials"]
    else:
        trials = spec.trials()
        folder.check_free()  # at once, not after connecting to a cluster
    pending = folder.pending(trials)
    ran = []
    if pending:
        if client is None and scheduler is None:
            workers, threads = local_plan(len(pending), workers, threads)
        with _client(client, scheduler, workers, say) as dask_client:
            if not resume:  # once Dask answers: a sweep that cannot start leaves no folder
                folder.write_plan(spec, trials)
            slots = worker_threads(dask_client, threads)
            shares = ", ".join(f"{t} thread{'s' * (t > 1)}" for t in sorted(set(slots.values())))
            say(f"{len(pending)} of {len(trials)} trials on {len(slots)} Dask "
                f"worker{'s' * (len(slots) > 1)} "
                f"({shares} per trial); results in {folder.path}")
            ran = run_trials(dask_client, folder, pending, slots, spec.eval_n,
                             checkpoint_seconds, retries, progress, on_record)
    elif not resume:  # every trial already recorded in a folder without a plan
        folder.write_plan(spec, trials)
    return {"trials": trials, "records": list(folder.records.values()), "ran": ran,
            "report": write_report(out)}


def _client(client, scheduler, workers, say):
    if client is not None:
        return contextlib.nullcontext(client)
    return open_client(scheduler, workers, say)


def write_report(out):
    """Write report.md (trials ranked, settings over seeds) and report.png into the sweep
    folder `out` from its results; return the Markdown text."""
    folder = SweepFolder(out)
    swept = folder.read_plan()["swept"]
    records = sorted(folder.records.values(), key=lambda r: r["id"])
    text = (f"## Trials ({len(records)})\n\n{trials_table(records, swept)}\n\n"
            f"## Settings over seeds\n\n{settings_table(records, swept)}\n")
    atomic_write_text(os.path.join(folder.path, REPORT_TEXT), text)
    save_report_plot(records, swept, os.path.join(folder.path, REPORT_PLOT))
    return text
