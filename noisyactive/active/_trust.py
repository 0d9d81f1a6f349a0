"""What a checkpoint may name: the allow-list of modules and classes.

A reference ``"module:qualname"`` is resolved (:func:`_resolve`) only inside
:data:`TRUSTED_MODULES` (noisyactive, scikit-learn, skorch, ``torch.nn``,
``torch.optim`` and torchvision's models) plus the modules a user names in
``trusted``. A module outside the list is never imported; no module named
``__main__`` is ever imported, and no skorch callback class is taken from a
file. :data:`SKOPS_CLASSES` lists the helper classes a ``.skops`` file of
noisyactive may hold besides the types skops trusts itself.
"""

import importlib
import sys
import types

__all__ = ["TRUSTED_MODULES", "SKOPS_CLASSES", "UntrustedCheckpointError"]

TRUSTED_MODULES = (
    "noisyactive",
    "sklearn",
    "skorch",
    "torch.nn",
    "torch.optim",
    "torchvision.models",  # not torchvision.datasets: they read and download
)
# Functions (not classes) named by a checkpoint run when the cleaner calls
# them, with arguments the checkpoint chooses: a module's helpers (one that
# deletes files, one that imports a user's file) must not be reachable. Only
# the functions named here are trusted without the user saying so (trusted=).
_TRUSTED_FUNCTIONS = frozenset()

# Classes a .skops file of noisyactive holds besides the types skops trusts by
# default (scikit-learn's estimators, numpy arrays and dtypes, containers):
# the helper objects of the scikit-learn classifiers it saves. Each is
# resolved and compared by identity before skops may build it; any other
# class or function in a file is refused unless the user trusts it.
SKOPS_CLASSES = frozenset(
    [
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.calibration._TemperatureScaling",
    ]
    + [
        f"sklearn.metrics._dist_metrics.{name}Distance{bits}"
        for bits in (32, 64)
        for name in (
            "BrayCurtis",
            "Canberra",
            "Chebyshev",
            "Dice",
            "Euclidean",
            "Hamming",
            "Haversine",
            "Jaccard",
            "Mahalanobis",
            "Manhattan",
            "Matching",
            "Minkowski",
            "RogersTanimoto",
            "RussellRao",
            "SEuclidean",
            "SokalMichener",
            "SokalSneath",
        )  # not PyFuncDistance: it wraps a function
    ]
)


class UntrustedCheckpointError(ValueError):
    """A checkpoint names code outside the allow-list; nothing was imported."""


def _within(module, prefixes):
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _check_trusted(ref, trusted):
    module, _, qualname = ref.partition(":")
    allowed = TRUSTED_MODULES + tuple(trusted)
    parts = qualname.split(".")
    if any(p in ("__main__", "__mp_main__") for p in module.split(".")):
        raise UntrustedCheckpointError(
            f"The checkpoint refers to {ref!r}: a program's __main__ module runs "
            "that program when imported, so it is never imported from a "
            "checkpoint, trusted or not; nothing was imported."
        )
    if (
        not module
        or not _within(module, allowed)
        or any(not p.isidentifier() or p.startswith("__") for p in parts)
    ):
        raise UntrustedCheckpointError(
            f"The checkpoint refers to {ref!r}, which is outside the modules "
            f"trusted for loading ({', '.join(allowed)}); nothing was imported. "
            "If you trust the folder's author, pass "
            f"trusted=({module.split('.')[0]!r},), or pass the estimators "
            "yourself (load_cleaner(checkpoint, estimator=..., classifier=...))."
        )
    return module, parts


def _resolve(ref, trusted):
    """Import ``"module:qualname"`` after checking it against the allow-list."""
    module, parts = _check_trusted(ref, trusted)
    obj = importlib.import_module(module)
    for part in parts:
        obj = getattr(obj, part)
    # A trusted module may re-export something else (sklearn.x:os.system), and
    # a function runs when the cleaner calls it: check what was found.
    owner = getattr(obj, "__module__", None) or ""
    if _is_callback(obj):
        raise UntrustedCheckpointError(
            f"The checkpoint refers to {ref!r}, a skorch callback class: a "
            "callback runs while the network trains (checkpoint callbacks write "
            "files), so none is taken from a checkpoint; nothing was built. "
            "Pass the estimators yourself to use callbacks."
        )
    if isinstance(obj, type):
        ok = (
            _within(owner, TRUSTED_MODULES + tuple(trusted)) and "__main__" not in owner
        )
    elif isinstance(obj, types.FunctionType):
        name = f"{owner}:{getattr(obj, '__qualname__', '')}"
        ok = name in _TRUSTED_FUNCTIONS or _within(owner, tuple(trusted))
    else:
        ok = False
    if not ok:
        raise UntrustedCheckpointError(
            f"The checkpoint refers to {ref!r}, which resolves to "
            f"{owner}.{getattr(obj, '__qualname__', type(obj).__name__)}: not a "
            "class or function of a trusted module; refusing to use it. Pass "
            "trusted=(...) or the estimators themselves."
        )
    return obj


def _is_callback(obj):
    if not isinstance(obj, type):
        return False
    if "skorch.callbacks" not in sys.modules:
        return False  # no class can derive from a Callback never imported
    try:
        from skorch.callbacks import Callback
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return issubclass(obj, Callback)
