"""Plot FID against training minutes from a run folder made with `--eval-every`.

    python bench/fid_curve.py RUN_DIR OUT.png
"""
import json
import sys

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def main(run_dir, out):
    with open(f"{run_dir}/metrics.jsonl", encoding="utf-8") as f:
        evals = [r for r in map(json.loads, f) if "eval" in r and "seconds" in r]
    if not evals:
        sys.exit(f"{run_dir}/metrics.jsonl has no timed evaluations; train with --eval-every")
    minutes = [r["seconds"] / 60 for r in evals]
    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(minutes, [r["eval"]["fid"] for r in evals], "o-", label="generated vs real")
    ax.plot(minutes, [r["eval"]["fid_floor"] for r in evals], "--", label="real vs real floor")
    ax.set(xlabel="minutes of training (2 cores)", ylabel="FID (classifier features)",
           yscale="log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
