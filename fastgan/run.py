"""The run folder of `fastgan train`: its format, written as a run goes and read back.

A run folder holds config.json (the Config and how the run was asked for: data set, digits,
preset, length), metrics.jsonl (a line per step, and per evaluation), samples/*.png and
samples.gif, losses.png and checkpoint.npz.
"""
import glob
import json
import os
import time

from .fileio import atomic_write_text
from .grid import class_rows, grid_noise
from .plots import (save_gif, save_image_grid, save_loss_curves, save_loss_histogram,
                    save_toy_plot)
from .progress import Progress

CONFIG = "config.json"
CHECKPOINT = "checkpoint.npz"
_RUN_KEYS = {"dataset", "digits", "epochs", "minutes", "steps", "points", "preset"}  # config.json beside "config"


class RunFolder:
    """A training run that writes into `out`: config.json, metrics.jsonl (one line per step),
    sample pictures every few epochs and their GIF, losses.png, and checkpoint.npz at epoch
    ends (atomic, at most every `checkpoint_seconds`) and whenever the run stops.

    Parameters
    ----------
    gan : GAN
        A new GAN, or one loaded from this folder's checkpoint to resume.
    dataset : fastgan.data.Dataset
        The data; pictures follow its kind (image grids or toy plots).
    out : str
        The run folder.
    meta : dict
        What else config.json records (dataset spec, digits, preset...).
    evaluator : callable, optional
        evaluator(gan) -> dict of metrics, run every `eval_every` epochs into metrics.jsonl
        (and, with an "fid", onto losses.png).
    """

    def __init__(self, gan, dataset, out, meta, frames=25, checkpoint_seconds=20.0,
                 evaluator=None, eval_every=None):
        self.gan, self.dataset, self.out, self.meta = gan, dataset, out, meta
        self.evaluator, self.eval_every = evaluator, eval_every
        self.eval_records = []
        self.n_frames = frames
        self.checkpoint_seconds = checkpoint_seconds
        self._last_checkpoint = 0.0
        self._started = None
        self.trained_before = trained_seconds(gan)
        C = gan.config.n_classes
        # a grid of 100 images (a row per class, at least one image each), or 2000 points
        self._z = grid_noise(gan.config, max(100, C) if dataset.kind == "image" else 2000)
        self._labels = class_rows(C, len(self._z)) if C else None
        self.frames = sorted(glob.glob(os.path.join(out, "samples", "*.png")))

    @property
    def checkpoint_path(self):
        return os.path.join(self.out, CHECKPOINT)

    def train(self, epochs, minutes=None, progress=True, should_stop=None, steps=None):
        """Train to `epochs` or `steps` (or for `minutes`), writing as it goes; return the stop
        reason."""
        os.makedirs(os.path.join(self.out, "samples"), exist_ok=True)
        atomic_write_text(os.path.join(self.out, CONFIG), json.dumps(
            {"config": self.gan.config.to_dict(), **self.meta}, indent=2))
        step0 = len(self.gan.history["d_loss"])
        self._started = time.monotonic()
        metrics = MetricsLog(os.path.join(self.out, "metrics.jsonl"), keep_steps=step0)
        self.eval_records = metrics.kept_evals
        per_epoch = len(self.dataset.x) // (self.gan.config.batch_size * self.gan.config.d_steps)
        if steps is not None:  # frames and the bar count the epochs the steps span
            epochs = min(epochs, -(-steps // per_epoch))
        bar = Progress(self.gan, min(epochs * per_epoch, steps or epochs * per_epoch),
                       None if minutes is None else 60.0 * minutes, enabled=progress)
        self._every = self._frame_every(epochs, minutes)

        def on_step(trainer, d_loss, g_loss):
            bar.update(trainer, d_loss, g_loss)
            metrics.write(trainer, d_loss, g_loss, bar.rate)

        try:
            labels = self.dataset.y if self.gan.config.n_classes else None
            self.gan.fit(self.dataset.x, labels, epochs=epochs, minutes=minutes, on_step=on_step,
                         on_epoch=lambda tr: self._on_epoch(tr, metrics), should_stop=should_stop,
                         steps=steps)
        finally:
            bar.close()
            metrics.close()
        self.save_checkpoint()
        self.draw_frame(force=True)
        self.finish_pictures()
        return self.gan.last_stop

    def _frame_every(self, epochs, minutes):
        if minutes is None:
            return ("epochs", max(1, epochs // self.n_frames))
        return ("seconds", 60.0 * minutes / self.n_frames)

    def _on_epoch(self, trainer, metrics):
        metrics.flush()
        now = time.monotonic()
        if now - self._last_checkpoint >= self.checkpoint_seconds:
            self.save_checkpoint()
        self.draw_frame()
        if self.evaluator and self.eval_every and trainer.epoch % self.eval_every == 0:
            self.evaluate(trainer, metrics)

    def evaluate(self, trainer, metrics):
        """Score G's samples with the evaluator into metrics.jsonl and the eval curves."""
        result = self.evaluator(self.gan)
        record = {"step": trainer.step, "epoch": trainer.epoch,
                  "seconds": round(time.monotonic() - self._started, 2), "eval": result}
        metrics.write_record(record)
        self.eval_records.append(record)

    def trained_seconds(self):
        """The run's training time so far, over every attempt (a resumed run's included)."""
        now = 0.0 if self._started is None else time.monotonic() - self._started
        return self.trained_before + now

    def save_checkpoint(self):
        self.gan.save(self.checkpoint_path, extra_state={"trained_seconds": self.trained_seconds()})
        self._last_checkpoint = time.monotonic()

    def draw_frame(self, force=False):
        """Save the pictures of G's current samples, when one is due (or `force`)."""
        tr = self.gan.trainer
        kind, every = self._every
        if not force:
            if kind == "epochs" and tr.epoch % every:
                return
            if kind == "seconds" and time.monotonic() - getattr(self, "_last_frame", 0) < every:
                return
        self._last_frame = time.monotonic()
        path = os.path.join(self.out, "samples", f"step_{tr.step:08d}.png")
        if self.frames and self.frames[-1] == path:
            return
        samples = self.gan.engine.generate(self._z, self._labels)
        title = f"epoch {tr.epoch}, step {tr.step}"
        if self.dataset.kind == "image":
            C = self.gan.config.n_classes
            names = (self.dataset.class_names or [str(c) for c in range(C)]) if C else None
            save_image_grid(samples, path, self.dataset.image_shape, ncols=len(samples) // C
                            if C else 10, title=title, row_labels=names)
        else:
            save_toy_plot(samples, self.dataset.toy, path, title=title, real=self.dataset.x[:2000])
        self.frames.append(path)

    def finish_pictures(self):
        if self.frames:
            save_gif(self.frames, os.path.join(self.out, "samples.gif"), duration=0.3)
        h = self.gan.history
        if h["d_loss"]:
            records = [{"step": i + 1, "d_loss": d, "g_loss": g}
                       for i, (d, g) in enumerate(zip(h["d_loss"], h["g_loss"]))]
            curves = [{"step": r["step"], "fid": r["eval"]["fid"],
                       "digit_share": r["eval"]["digit_share"]}
                      for r in self.eval_records if "fid" in r["eval"]]
            save_loss_curves(records, os.path.join(self.out, "losses.png"),
                             eval_records=curves or None)
            if self.dataset.kind == "points" and self.dataset.x.shape[1] == 1:
                save_loss_histogram(h["d_loss"], h["g_loss"], self.dataset.x[:len(self._z)],
                                    self.gan.engine.generate(self._z),
                                    os.path.join(self.out, "losses_histogram.png"))


class MetricsLog:
    """metrics.jsonl: one JSON line per step. Lines past `keep_steps` (left by a run killed
    after its last checkpoint) are dropped, so a resumed run's log has no gaps or repeats."""

    def __init__(self, path, keep_steps):
        kept, self.kept_evals = [], []
        if keep_steps and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        record = json.loads(line)
                        if record["step"] <= keep_steps:
                            kept.append(line if line.endswith("\n") else line + "\n")
                            if "eval" in record:
                                self.kept_evals.append(record)
                    except (ValueError, KeyError, TypeError):
                        break  # a torn last line
        atomic_write_text(path, "".join(kept))
        self.f = open(path, "a", encoding="utf-8")

    def write(self, trainer, d_loss, g_loss, rate):
        # the line json.dumps would write (the losses are finite: the trainer checks them
        # first), formed directly: json.dumps took 30 us a step, a tenth of a small GAN's step
        d, g, r = round(float(d_loss), 6), round(float(g_loss), 6), round(float(rate), 1)
        self.f.write(f'{{"step": {trainer.step}, "epoch": {trainer.epoch}, "d_loss": {d!r}, '
                     f'"g_loss": {g!r}, "images_per_s": {r!r}}}\n')

    def write_record(self, record):
        self.f.write(json.dumps(record) + "\n")
        self.f.flush()

    def flush(self):
        self.f.flush()

    def close(self):
        self.f.close()


def trained_seconds(gan):
    """The training time a loaded run's checkpoint records (0 for a new GAN, or a checkpoint
    saved without one)."""
    value = gan.extra_state.get("trained_seconds", 0.0)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    return float(value) if ok else 0.0


def read_meta(out):
    """How the run in folder `out` was asked for: config.json's dataset, digits, preset,
    epochs and minutes."""
    path = os.path.join(out, CONFIG)
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is missing or unreadable ({e})") from None
    if not isinstance(meta, dict) or not {"config", "dataset"} <= set(meta):
        raise ValueError(f"{path} is not a fastgan run's config.json (it has no 'config' and "
                         f"'dataset' entries)")
    return {k: meta[k] for k in _RUN_KEYS if k in meta}


def run_dataset(checkpoint):
    """(dataset, digits) that the checkpoint's run folder records, (None, None) without one."""
    folder = os.path.dirname(os.path.abspath(checkpoint))
    if not os.path.exists(os.path.join(folder, CONFIG)):
        return None, None
    meta = read_meta(folder)
    return meta.get("dataset"), meta.get("digits")
