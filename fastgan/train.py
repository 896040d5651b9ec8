"""The training loop: epochs of shuffled full batches, a time budget, stop requests, history."""
import math
import time

import numpy as np


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite."""


# a run resumed unchanged repeats the same steps, so the advice is to start again
_AGAIN = "lower the learning rate or use float64, and train again from the start"


class Trainer:
    """Drives an Engine over data (n, features), floats or uint8 pixels, and keeps the
    position a resume needs.

    The data order is one permutation per epoch drawn from the run's generator, so a run
    resumed from (epoch, batch, perm, rng state) sees exactly the batches it would have seen.
    """

    def __init__(self, engine, data, labels=None):
        self.engine = engine
        cfg = engine.cfg
        self.use(data, labels)
        per_step = cfg.batch_size * cfg.d_steps
        self.steps_per_epoch = self.data.shape[0] // per_step
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"the data has {self.data.shape[0]} samples, fewer than batch_size*d_steps="
                f"{per_step}; lower batch_size or give more data")
        self.epoch = 0
        self.batch = 0
        self.step = 0
        self.perm = None
        self.history = {"d_loss": [], "g_loss": []}

    def use(self, data, labels=None):
        """Train on `data` (and `labels`) from the next step on."""
        # uint8 pixels stay uint8, a quarter of float32's memory: a batch is scaled as it is
        # gathered
        keep = data.dtype == np.uint8
        self.data = np.ascontiguousarray(data, dtype=None if keep else self.engine.dtype)
        self.labels = None if labels is None else np.asarray(labels, np.int64)

    def position(self):
        """Where the run stands: what a checkpoint needs to resume it exactly."""
        return {"epoch": self.epoch, "batch": self.batch, "step": self.step,
                "n_data": self.data.shape[0],
                "perm": self.perm if self.batch > 0 else np.zeros(0, np.int64),
                "d_loss": self.history["d_loss"], "g_loss": self.history["g_loss"]}

    def restore(self, pos):
        """Continue from a `position()`; the data must be the run's own."""
        n = self.data.shape[0]
        if pos["n_data"] not in (0, n):
            raise ValueError(f"the checkpoint was trained on {pos['n_data']} samples but the "
                             f"data has {n}; resume with the same dataset and digits")
        perm = np.asarray(pos["perm"], np.int64)
        if pos["batch"] > 0 and (perm.shape != (n,) or pos["batch"] >= self.steps_per_epoch
                                 or not np.array_equal(np.sort(perm), np.arange(n))):
            raise ValueError("the checkpoint's data order does not fit this data; resume "
                             "with the same dataset, digits, batch size and d_steps")
        self.epoch, self.batch, self.step = pos["epoch"], pos["batch"], pos["step"]
        self.perm = perm if pos["batch"] > 0 else None
        self.history = {"d_loss": list(pos["d_loss"]), "g_loss": list(pos["g_loss"])}

    def run(self, epochs, minutes=None, on_step=None, on_epoch=None, should_stop=None,
            steps=None):
        """Train until `epochs` epochs (or `steps` steps, both run totals) are done, `minutes`
        pass, or should_stop() is true.

        on_step(trainer, d_loss, g_loss) runs after every step, on_epoch(trainer) after each
        epoch (after the learning-rate decay). Returns the reason it stopped: "done", "time"
        or "stopped". A stop always falls between steps, with any finished epoch closed.
        """
        deadline = None if minutes is None else time.perf_counter() + 60.0 * minutes
        # overflow shows up as a non-finite loss, which stops the run with a clear message
        with np.errstate(all="ignore"), self.engine.helping(self.data, self.labels):
            while self.epoch < epochs and (steps is None or self.step < steps):
                if self.batch == 0:
                    self.perm = self.engine.rng.permutation(self.data.shape[0])
                d_loss, g_loss = self._one_step()
                if on_step is not None:
                    on_step(self, d_loss, g_loss)
                if self.batch == self.steps_per_epoch:
                    self._end_epoch(on_epoch)
                if should_stop is not None and should_stop():
                    return "stopped"
                if deadline is not None and time.perf_counter() >= deadline:
                    return "time"
        return "done"

    def _end_epoch(self, on_epoch):
        self.engine.end_epoch(self.epoch)
        self.epoch += 1
        self.batch = 0
        self.check_weights()
        if on_epoch is not None:
            on_epoch(self)

    def _one_step(self):
        eng, n = self.engine, self.engine.n
        d_loss = 0.0
        for k in range(eng.cfg.d_steps):
            start = (self.batch * eng.cfg.d_steps + k) * n
            d_loss = eng.d_step(self.data, self.perm[start:start + n], self.labels)
        if self.batch + 1 < self.steps_per_epoch:  # the next step's rows load during G's
            start = (self.batch + 1) * eng.cfg.d_steps * n
            eng.prefetch(self.data, self.perm[start:start + n])
        g_loss = eng.g_step()
        self.batch += 1
        self.step += 1
        check_losses(d_loss, g_loss, f"step {self.step}")
        self.history["d_loss"].append(d_loss)
        self.history["g_loss"].append(g_loss)
        return d_loss, g_loss

    def check_weights(self):
        """Raise TrainingDiverged if any weight of G or D is NaN or infinite."""
        for name, net in (("generator", self.engine.G), ("discriminator", self.engine.D)):
            if not np.isfinite(net.params).all():
                raise TrainingDiverged(
                    f"the {name}'s weights became NaN or infinite by step {self.step}; {_AGAIN}")


def check_losses(d_loss, g_loss, where):
    """Raise TrainingDiverged if either loss is NaN or infinite."""
    if not (math.isfinite(d_loss) and math.isfinite(g_loss)):
        raise TrainingDiverged(
            f"loss became {d_loss if not math.isfinite(d_loss) else g_loss} at {where}; {_AGAIN}")
