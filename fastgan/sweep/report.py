"""A sweep's report: its trials ranked by their metric, each setting's spread over seeds, and
the metric against every swept option (box and strip plots, like Lucic et al. 2018's)."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..fileio import atomic_path

# (metric, label, lower is better, extra columns): FID for digit images, the share of
# samples near a mode for the toy mixtures, the distance to the curve for the parabola
METRICS = [
    ("fid", "FID", True, ("confident_fraction", "digits_covered")),
    ("high_quality_fraction", "high-quality samples", False, ("modes_captured", "modes")),
    ("distance_mean", "mean distance to the curve", True, ("near_fraction",)),
]


def metric_of(record):
    """(name, label, lower_is_better, extras) of the record's main metric, or None."""
    metrics = record.get("metrics") or {}
    for entry in METRICS:
        if entry[0] in metrics:
            return entry
    return None


def trials_table(records, swept):
    """Markdown table of every trial, best first by its metric; unscored trials last."""
    scored = [r for r in records if metric_of(r)]
    scored.sort(key=lambda r: (metric_of(r)[0], _sort_value(r)))
    rest = sorted((r for r in records if not metric_of(r)), key=lambda r: r["id"])
    extras = list(dict.fromkeys(e for r in scored for e in metric_of(r)[3]))
    names = list(dict.fromkeys(metric_of(r)[0] for r in scored))
    head = [*swept, "seed", "status", "steps", *names, *extras, "error"]
    rows = []
    for r in scored + rest:
        m = r.get("metrics") or {}
        rows.append([*(_fmt(r["options"].get(k)) for k in swept), str(r["seed"]), r["status"],
                     _fmt(r.get("steps")), *(_fmt(m.get(n)) for n in names),
                     *(_fmt(m.get(e)) for e in extras), _short_error(r.get("error"))])
    return _markdown(head, rows)


def settings_table(records, swept):
    """Markdown table of each setting's metric over its seeds (median, min, max), best first."""
    groups = {}
    for r in records:
        if metric_of(r):
            key = tuple(_fmt(r["options"].get(k)) for k in swept)
            groups.setdefault((metric_of(r), key), []).append(r["metrics"][metric_of(r)[0]])
    rows = []
    for ((name, *_), key), values in sorted(groups.items(), key=_setting_order):
        rows.append([*key, name, str(len(values)), _fmt(float(np.median(values))),
                     _fmt(min(values)), _fmt(max(values))])
    return _markdown([*swept, "metric", "seeds", "median", "min", "max"], rows)


def save_report_plot(records, swept, path):
    """Draw the metric against each swept option, every seed a point over a box per value.

    One row of panels per metric present, one column per swept option (one panel over all
    trials when only seeds vary). Written atomically; returns False when no trial has a
    metric to draw.
    """
    entries = list(dict.fromkeys(metric_of(r) for r in records if metric_of(r)))
    if not entries:
        return False
    columns = swept or [None]
    fig = Figure(figsize=(4.2 * len(columns), 3.6 * len(entries)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(entries), len(columns), squeeze=False)
    rng = np.random.default_rng(0)   # jitter of the strip points
    for row, (name, label, lower, _) in enumerate(entries):
        mine = [r for r in records if metric_of(r) and metric_of(r)[0] == name]
        for col, option in enumerate(columns):
            _panel(axes[row, col], mine, name, option, rng)
            axes[row, col].set_ylabel(f"{label} ({'lower' if lower else 'higher'} is better)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return True


def _panel(ax, records, name, option, rng):
    labels = sorted({_fmt(r["options"].get(option)) for r in records}, key=_natural)
    values = [[r["metrics"][name] for r in records
               if _fmt(r["options"].get(option)) == label] for label in labels]
    ax.boxplot(values, widths=0.5, showfliers=False, medianprops={"color": "black"})
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20 if len(labels) > 3 else 0)
    seeds = sorted({r["seed"] for r in records})
    for k, seed in enumerate(seeds):   # one colour per seed, the same in every box
        points = [(i, r["metrics"][name]) for i, label in enumerate(labels, start=1)
                  for r in records if r["seed"] == seed
                  and _fmt(r["options"].get(option)) == label]
        xs, ys = np.array(points, dtype=float).T
        ax.scatter(xs + rng.uniform(-0.12, 0.12, len(xs)), ys, s=18, alpha=0.8, zorder=3,
                   color=f"C{k % 10}", label=f"seed {seed}")
    if 1 < len(seeds) <= 10:
        ax.legend(fontsize="small")
    ax.set_xlabel(option or "all trials")
    ax.grid(axis="y", alpha=0.3)


def _setting_order(item):
    (entry, _), values = item
    median = float(np.median(values))
    return entry[0], median if entry[2] else -median


def _sort_value(record):
    name, _, lower, _ = metric_of(record)
    value = record["metrics"][name]
    return value if lower else -value


def _natural(label):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10000:
        return f"{value:,}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _short_error(error, width=60):
    if not error:
        return ""
    return error if len(error) <= width else error[:width - 3] + "..."


def _markdown(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
