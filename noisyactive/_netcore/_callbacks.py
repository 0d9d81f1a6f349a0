"""skorch callbacks and schedule factors of the nets."""

import math
import re
import sys
import time
import warnings

import torch
from sklearn.metrics import f1_score
from skorch.callbacks import Callback, PrintLog

from noisyactive.utils._progress import Progress

__all__ = [
    "CosineDecay",
    "EpochProgress",
    "PlainPrintLog",
    "RestoreBestEpoch",
    "SlowFitWarning",
    "macro_f1",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CosineDecay:
    """``LambdaLR`` factor: ``0.5 (1 + cos(pi min(e, n) / n))``; never rises.

    Examples
    --------
    >>> f = CosineDecay(4)
    >>> [round(f(e), 3) for e in range(6)]
    [1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """

    def __init__(self, n_epochs):
        self.n_epochs = max(int(n_epochs), 1)

    def __call__(self, epoch):
        e = min(epoch, self.n_epochs)
        return 0.5 * (1 + math.cos(math.pi * e / self.n_epochs))


class RestoreBestEpoch(Callback):
    """Keep, in memory, the weights of every network of the ensemble at the epoch
    whose ``monitor`` history entry is True, and load them when training ends."""

    def __init__(self, monitor="valid_f1_best"):
        self.monitor = monitor

    def initialize(self):
        self.best_state_, self.best_epoch_ = None, None
        return self

    def on_train_begin(self, net, **kwargs):
        self.initialize()

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1].get(self.monitor):
            self.best_epoch_ = len(net.history) - 1
            self.best_state_ = [
                {k: v.detach().clone() for k, v in m.state_dict().items()}
                for m in net.ensemble()
            ]

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            for m, state in zip(net.ensemble(), self.best_state_):
                m.load_state_dict(state)
        self.best_state_ = None


class PlainPrintLog(PrintLog):
    """skorch's epoch table, without ANSI colour codes unless stdout is a
    terminal (log files and notebooks get plain text)."""

    def table(self, row):
        text = super().table(row)
        stream = sys.stdout
        return (
            text if getattr(stream, "isatty", lambda: False)() else _ANSI.sub("", text)
        )


def macro_f1(net, X, y):
    pred = net.predict_proba(X).argmax(1)
    return f1_score(y, pred, average="macro", zero_division=0)


class EpochProgress(Callback):
    """Epochs of a fit as :class:`Progress` (on stderr, next to skorch's epoch
    table on stdout)."""

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        total = getattr(net, "epochs_planned_", None) or net.max_epochs
        self.progress_ = Progress(total, self.desc, unit="epoch", enabled=net.verbose)

    def on_epoch_end(self, net, **kwargs):
        self.progress_.update()

    def on_train_end(self, net, **kwargs):
        self.progress_.close()
        self.progress_ = None  # holds a stream: keep the net picklable


class SlowFitWarning(Callback):
    """On a CPU, estimate the fit's time from the first training batches and
    warn once when it will take longer than ``limit_s``.

    The first batch is left out of the estimate (one-off allocations); the next
    ``n_batches`` are timed. The warning gives the estimate and ``hint``, the
    settings that make such a fit quick.
    """

    def __init__(self, limit_s=600.0, n_batches=3, hint=""):
        self.limit_s, self.n_batches, self.hint = limit_s, n_batches, hint

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.active_ = torch.device(net.device).type == "cpu" and X is not None
        self.seen_, self.timed_s_ = 0, 0.0
        if self.active_:
            per_epoch = math.ceil(len(X) / max(1, net.batch_size))
            epochs = getattr(net, "epochs_planned_", None) or net.max_epochs
            self.total_batches_ = per_epoch * epochs
            self.active_ = self.total_batches_ > self.n_batches + 1

    def on_batch_begin(self, net, training=False, **kwargs):
        if self.active_ and training:
            self.t0_ = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        if not (self.active_ and training):
            return
        self.seen_ += 1
        if self.seen_ == 1:
            return
        self.timed_s_ += time.perf_counter() - self.t0_
        if self.seen_ <= self.n_batches:
            return
        self.active_ = False  # once
        estimate = self.timed_s_ / self.n_batches * self.total_batches_
        if estimate > self.limit_s:
            warnings.warn(
                f"This fit will take about {estimate / 60:.0f} min on the CPU "
                f"({self.total_batches_} batches at "
                f"{self.timed_s_ / self.n_batches:.2f} s). {self.hint}",
                UserWarning,
                stacklevel=2,
            )
