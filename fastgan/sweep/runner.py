"""Run a sweep's trials on Dask: a LocalCluster sized to this machine, or a cluster that is
already running (`dask scheduler` plus `dask worker`s)."""
import contextlib
import logging
import os
import uuid

from tqdm import tqdm

from .trial import run_trial

INSTALL = ('sweeps run on Dask: pip install "dask[distributed]" (or ".[sweep]" in a '
           'fastgan clone)')


def distributed():
    """The dask.distributed module, or an ImportError naming the extra that installs it."""
    try:
        import distributed as dd
    except ImportError:
        raise ImportError(INSTALL) from None
    return dd


def local_plan(trials, workers=None, threads=None, cores=None):
    """(workers, threads per trial) for a LocalCluster: one trial per worker, and workers x
    threads within the cores, so parallel trials never oversubscribe the machine."""
    cores = cores or os.cpu_count() or 1
    for name, value in (("workers", workers), ("threads", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"--{name} {value!r} must be an int >= 1")
    if workers is None:
        workers = max(1, min(trials, cores // (threads or 1)))
    if threads is None:
        threads = max(1, cores // workers)
    return workers, threads


@contextlib.contextmanager
def open_client(scheduler=None, workers=1, say=print):
    """A Dask Client: to `scheduler` (an address, or a scheduler file's path) if given, else
    to a new LocalCluster of `workers` processes with one thread each (one trial at a time)."""
    dd = distributed()
    if scheduler is None:
        cluster = dd.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR)
        client = dd.Client(cluster)
    else:
        cluster = None
        is_file = os.path.exists(scheduler)
        a_path = "://" not in scheduler and (scheduler.endswith(".json") or os.sep in scheduler)
        if a_path and not is_file:  # a host:port address has neither
            raise FileNotFoundError(f"no scheduler file {scheduler!r}: give the file that "
                                    f"`dask scheduler --scheduler-file` wrote, or an address "
                                    f"such as tcp://host:8786")
        client = dd.Client(scheduler_file=scheduler) if is_file else dd.Client(scheduler)
    try:
        link = dashboard(client)
        if link:
            say(f"Dask dashboard: {link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dashboard(client):
    """The dashboard's address, or None when the scheduler serves none (bokeh missing)."""
    info = client.scheduler_info()
    if "dashboard" not in info.get("services", {}):
        return None
    return client.dashboard_link


def worker_threads(client, threads=None):
    """{worker address: cores per trial}: `threads` everywhere if given, else each host's
    cores shared among the trial slots of the workers it runs."""
    workers = client.scheduler_info()["workers"]
    if threads is not None:
        return {address: threads for address in workers}
    cores = client.run(os.cpu_count)
    slots = {}
    for info in workers.values():
        slots[info["host"]] = slots.get(info["host"], 0) + info["nthreads"]
    return {address: max(1, (cores.get(address) or 1) // slots[info["host"]])
            for address, info in workers.items()}


def run_trials(client, folder, trials, threads, eval_n, checkpoint_seconds=20.0,
               retries=2, progress=True, on_record=None):
    """Submit every trial, record each as it finishes; return the records added.

    A trial whose worker dies is rescheduled by Dask and resumes from its checkpoint; one
    that raises an unexpected error is retried `retries` times, then recorded as failed.
    `on_record(record)` runs after each record is written.
    """
    dd = distributed()
    futures = {}
    for trial in trials:
        key = f"fastgan-trial-{trial['id']}-{uuid.uuid4().hex[:8]}"
        future = client.submit(run_trial, trial, folder.trial_folder(trial), threads,
                               checkpoint_seconds, eval_n, key=key, retries=retries)
        futures[future] = trial
    added = []
    bar = tqdm(total=len(trials), unit="trial", disable=not progress, dynamic_ncols=True)
    try:
        for future in dd.as_completed(futures):
            record = _result(future, futures[future])
            folder.add(record)
            added.append(record)
            bar.update(1)
            bar.set_postfix_str(_postfix(added), refresh=True)
            if on_record is not None:
                on_record(record)
    finally:
        bar.close()
        client.cancel(list(futures))
    return added


def _result(future, trial):
    try:
        return future.result()
    except Exception as e:  # the worker died too often, or an error outlived its retries
        return {"id": trial["id"], "options": trial["options"], "seed": trial["seed"],
                "status": "failed", "error": f"{type(e).__name__}: {e}", "steps": None,
                "epochs": None, "resumed_from_step": 0, "metrics": None, "seconds": None}


def _postfix(records):
    counts = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return " ".join(f"{n} {status}" for status, n in sorted(counts.items()))
