"""Draw the samples of ring8 or grid25 checkpoints side by side, each titled with its scores.

    python bench/toy_pictures.py OUT.png LABEL=RUN_DIR/checkpoint.npz [LABEL=...]

Each panel shows 20,000 samples (seed 0) with a circle of 3 standard deviations round each
mode, and its title the modes captured and the share of high-quality samples (`fastgan
eval`'s metrics on the same samples). A run folder's config.json names its data set.
"""
import sys

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from fastgan.run import run_dataset
from fastgan.data import TOY_SETS
from fastgan.evaluation import evaluate_toy
from fastgan.gan import GAN

N = 20000


def panel(ax, label, checkpoint):
    toy, _ = run_dataset(checkpoint)
    x = GAN.load(checkpoint, verbose=False).generate(N, seed=0)
    r = evaluate_toy(x, toy)
    ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.3, linewidths=0)
    spec = TOY_SETS[toy]
    for mean in spec.means:  # the high-quality zone: 3 standard deviations around a mode
        ax.add_patch(Circle(mean, 3 * spec.std, fill=False, color="tab:orange", lw=0.8))
    ax.set_title(f"{label}: {r['modes_captured']}/{r['modes']} modes, "
                 f"{100 * r['high_quality_fraction']:.1f}% high quality", fontsize=9)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)


def main(out, runs):
    if not runs:
        sys.exit(__doc__)
    fig = Figure(figsize=(4 * len(runs), 4.3), dpi=100)
    FigureCanvasAgg(fig)
    for i, run in enumerate(runs):
        label, _, checkpoint = run.partition("=")
        panel(fig.add_subplot(1, len(runs), i + 1), label, checkpoint)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
