"""The sweep folder: its plan (sweep.json), one record per finished trial (results.jsonl and
results.csv, rewritten atomically as each trial lands) and the trials' run folders."""
import csv
import io
import json
import os

from ..fileio import atomic_write_text
from .spec import SweepSpecError

PLAN, RESULTS, TABLE = "sweep.json", "results.jsonl", "results.csv"
_FINAL = ("done", "diverged")   # a failed trial runs again on --resume


class SweepFolder:
    """A sweep's folder: the plan, the results so far, a run folder per trial."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.records = self._read_results()

    def trial_folder(self, trial):
        return os.path.join(self.path, "trials", trial["id"])

    def check_free(self):
        """Refuse a folder that already holds a sweep."""
        if os.path.exists(os.path.join(self.path, PLAN)):
            raise SweepSpecError(f"{self.path} already holds a sweep; add --resume to finish "
                                 f"it or choose another --out")

    def write_plan(self, spec, trials):
        """Record the sweep; refuse a folder that already holds one."""
        self.check_free()
        atomic_write_text(os.path.join(self.path, PLAN), json.dumps(
            {"spec": spec.to_dict(), "swept": spec.swept(), "trials": trials}, indent=1))

    def read_plan(self):
        path = os.path.join(self.path, PLAN)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except OSError:
            raise SweepSpecError(f"{path} does not exist: {self.path} holds no sweep") from None
        except ValueError as e:
            raise SweepSpecError(f"{path} is not readable JSON ({e})") from None

    def pending(self, trials):
        """The trials without a final record (never run, interrupted, or failed)."""
        return [t for t in trials if self.records.get(t["id"], {}).get("status") not in _FINAL]

    def add(self, record):
        """Keep `record` (replacing an earlier one of the same trial) and rewrite the files."""
        self.records[record["id"]] = record
        ordered = sorted(self.records.values(), key=lambda r: r["id"])
        atomic_write_text(os.path.join(self.path, RESULTS),
                          "".join(json.dumps(r) + "\n" for r in ordered))
        atomic_write_text(os.path.join(self.path, TABLE), results_csv(ordered))

    def _read_results(self):
        path = os.path.join(self.path, RESULTS)
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
        return {r["id"]: r for r in records}


def results_csv(records):
    """One row per trial: id, its options, seed, status, steps, seconds, scalar metrics, error."""
    options = _keys(r["options"] for r in records)
    metrics = _keys({k: v for k, v in (r["metrics"] or {}).items()
                     if isinstance(v, (int, float, str))} for r in records)
    head = ["id", *options, "seed", "status", "steps", "seconds", *metrics, "error"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    for r in records:
        m = r["metrics"] or {}
        writer.writerow([r["id"], *(_cell(r["options"].get(k)) for k in options), r["seed"],
                         r["status"], r.get("steps"), r.get("seconds"),
                         *(_cell(m.get(k)) for k in metrics), r.get("error") or ""])
    return buffer.getvalue()


def _keys(dicts):
    seen = {}
    for d in dicts:
        seen.update(dict.fromkeys(d))
    return list(seen)


def _cell(value):
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else value
