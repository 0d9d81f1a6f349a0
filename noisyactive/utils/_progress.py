"""Progress with an ETA wherever a user waits: a tqdm bar on a terminal, plain
lines (no ANSI codes, no carriage returns) in log files, nothing at verbose=0.

No torch import here: :mod:`noisyactive.datasets` uses it too."""

import sys
import time

__all__ = ["Progress"]


def _is_tty(stream):
    return bool(getattr(stream, "isatty", lambda: False)())


def _fmt_seconds(s):
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


class Progress:
    """Count ``total`` steps of a task.

    On a terminal a tqdm bar (with tqdm's ETA); otherwise one plain line at the
    first step, then about every ``every`` share of the work and at the end:
    ``"<desc>: 3/20 epochs, 1.2 s/epoch, about 20 s left"``. Disabled, it does
    nothing.

    Parameters
    ----------
    total : int
    desc : str
    unit : str, default="it"
    enabled : bool, default=True
    stream : file, default=sys.stderr
    every : float, default=0.1
        Share of ``total`` between two plain lines.
    """

    def __init__(self, total, desc, *, unit="it", enabled=True, stream=None, every=0.1):
        self.total, self.desc, self.unit = int(total), desc, unit
        self.enabled = bool(enabled) and self.total > 0
        self.stream = sys.stderr if stream is None else stream
        self.every = max(1, int(round(every * self.total)))
        self.n, self._last_line, self._bar = 0, 0, None
        self._t0 = time.perf_counter()
        if self.enabled and _is_tty(self.stream):
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total, desc=desc, unit=unit, file=self.stream, leave=False
            )

    def update(self, n=1):
        if not self.enabled:
            return
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
            return
        due = self.n - self._last_line >= self.every or self._last_line == 0
        if due or self.n >= self.total:
            self._last_line = self.n
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self):
        """The plain progress line for the current count."""
        elapsed = time.perf_counter() - self._t0
        rate = elapsed / max(self.n, 1)
        left = rate * (self.total - self.n)
        tail = "done" if self.n >= self.total else f"about {_fmt_seconds(left)} left"
        return (
            f"{self.desc}: {self.n}/{self.total} {self.unit}s, "
            f"{rate:.3g} s/{self.unit}, {tail}"
        )

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
