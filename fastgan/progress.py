"""The progress bar of a training run."""
import time

from tqdm import tqdm


class Progress:
    """A tqdm bar with epoch, losses and images/s: over the steps of an epoch-bounded run
    (tqdm shows its ETA), or over the seconds of a time budget, counting down to its end."""

    def __init__(self, gan, total_steps=None, seconds=None, enabled=True):
        self.batch = gan.config.batch_size
        self.start = time.perf_counter()
        self.step0 = len(gan.history["d_loss"])
        self.rate = 0.0
        self.seconds = seconds
        self._last = 0.0
        if seconds is None:
            self.bar = tqdm(total=total_steps, initial=self.step0, unit="step",
                            disable=not enabled, dynamic_ncols=True, mininterval=0.5)
        else:
            self.bar = tqdm(total=seconds, unit="s", disable=not enabled, dynamic_ncols=True,
                            mininterval=0.5, bar_format="{percentage:3.0f}%|{bar}| {desc}")

    def update(self, trainer, d_loss, g_loss):
        now = time.perf_counter()
        done = trainer.step - self.step0
        self.rate = done * self.batch / max(now - self.start, 1e-9)
        # the text is formed only when shown (twice a second): formatting it every step
        # cost more than a toy GAN's step
        self._state = (now, trainer.step, trainer.epoch, d_loss, g_loss)
        due = now - self._last >= 0.5
        if due:
            self._show()
            self._last = now
        if self.seconds is None:
            self.bar.update(1)
        elif due:  # the bar's position is the time spent, at most the budget
            self.bar.update(min(now - self.start, self.seconds) - self.bar.n)

    def _postfix(self):
        now, step, epoch, d_loss, g_loss = self._state
        text = f"epoch {epoch} D {d_loss:.3f} G {g_loss:.3f} {self.rate:,.0f} img/s"
        if self.seconds is not None:  # the bar counts seconds: the time left, and the step
            left = tqdm.format_interval(max(self.seconds - (now - self.start), 0))
            text = f"{left} left, step {step} {text}"
        return text

    def _show(self):
        if self.seconds is None:
            self.bar.set_postfix_str(self._postfix(), refresh=False)
        else:  # the bar's own format has no room for text after a postfix's ", "
            self.bar.set_description_str(self._postfix(), refresh=False)

    def close(self):
        if getattr(self, "_state", None):
            self._show()
        self.bar.close()
