"""Plain cross-entropy network classifiers."""

import importlib

_LAZY = {"NetClassifier": "noisyactive.classifiers._net_classifier"}

__all__ = list(_LAZY)


def __getattr__(name):
    # Lazy, so that noisyactive.base can import classifiers._inputs and
    # classifiers._net without importing the estimators built on it.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
