"""skorch callbacks and schedule factors of the nets."""

import math
import re
import sys

from skorch.callbacks import Callback, PrintLog

from noisyactive.classifiers._progress import Progress

__all__ = [
    "CosineDecay",
    "EpochProgress",
    "PlainPrintLog",
    "RestoreBestEpoch",
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
    from sklearn.metrics import f1_score

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
