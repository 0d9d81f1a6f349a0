"""noisyactive: noisy-label filtering and budgeted active label cleaning.

Implements Khanal et al. (MICCAI 2024): Co-teaching with a Variance-of-Gradients
mix (:class:`NoisyLabelFilter`) followed by budgeted expert relabeling
(:class:`ActiveLabelCleaner`), as scikit-learn estimators with a skorch/torch core.
"""

import importlib

from noisyactive._version import __version__

_LAZY = {
    "NoisyLabelFilter": "noisyactive.filtering",
    "NetClassifier": "noisyactive.classifiers",
    "ActiveLabelCleaner": "noisyactive.active",
    "SimulatedOracle": "noisyactive.active",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    # Lazy so that `import noisyactive.datasets` does not pay for torch.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'noisyactive' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
