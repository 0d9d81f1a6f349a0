"""Estimators as plain data, and fitted models as safe files.

:func:`params_to_json` describes an estimator's constructor call as JSON;
:func:`params_from_json` rebuilds it, importing only classes (and, for
functions, only a short named list) from an allow-list: noisyactive, scikit-learn,
skorch, ``torch.nn``, ``torch.optim`` and torchvision, plus the modules a user
names in ``trusted``. A module outside the list is never imported, so a
received checkpoint cannot run its code; no module named ``__main__`` is ever
imported, and no skorch callback class is taken from a file (a callback
writes files when the network trains). Fitted scikit-learn objects go
through :mod:`skops.io`: besides the types skops trusts itself, a file may
hold only the classes of :data:`SKOPS_CLASSES` (the helper objects inside
the scikit-learn classifiers noisyactive saves), each resolved and checked
to be that very class; a function, or a class outside that list, in any
node (a reduce constructor included) is refused unless the user trusts it.
Networks go through ``torch.save`` / ``torch.load(weights_only=True)``.
"""

import hashlib
import importlib
import inspect
import io
import json
import os
import re
import sys
import types
import zipfile

import numpy as np

from noisyactive.active._files import (
    CheckpointCorruptedError,
    atomic_write,
    check_archive,
    inside,
    read_bytes,
)

__all__ = [
    "TRUSTED_MODULES",
    "SKOPS_CLASSES",
    "UntrustedCheckpointError",
    "params_to_json",
    "params_from_json",
    "user_types",
    "save_model",
    "load_model",
]

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


# Parameters that name a place on disk (sklearn's memory=, a cache_dir, a
# skorch dirname or f_params): an allow-listed class built with a hostile value
# would write there, or with joblib's Memory load pickles from there.
_PATH_PARAM = re.compile(r"^memory$|(^|_)dir(name|ectory)?(_|$)|path|file|^f_")


def _differs(value, default):
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # e.g. an array default: compare as unequal
        return True


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
    try:
        from skorch.callbacks import Callback
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return issubclass(obj, Callback)


# -- parameters as JSON -------------------------------------------------------------


class _NotStorable(Exception):
    pass


def _reference(obj):
    module, qualname = getattr(obj, "__module__", None), obj.__qualname__
    if module is None or "<" in qualname:  # lambdas and local definitions
        raise _NotStorable(repr(obj))
    return {"__ref__": f"{module}:{qualname}"}


def _encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return _reference(value)
    if hasattr(value, "get_params") and not isinstance(value, type):
        return params_to_json(value)
    raise _NotStorable(repr(value))


def params_to_json(estimator):
    """Describe an estimator's constructor call as JSON-compatible data.

    Parameters that cannot be described (a lambda, an arbitrary object) are
    recorded as ``{"__unstorable__": repr}``; :func:`params_from_json` turns
    them into an error, except for ``oracle``, which becomes ``None``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.active._spec import params_from_json, params_to_json
    >>> spec = params_to_json(LogisticRegression(C=0.5))
    >>> spec["class"], spec["params"]["C"]
    ('sklearn.linear_model._logistic:LogisticRegression', 0.5)
    >>> params_from_json(spec)
    LogisticRegression(C=0.5)
    """
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        try:
            params[name] = _encode(value)
        except _NotStorable as exc:
            params[name] = {"__unstorable__": str(exc)}
    cls = type(estimator)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "params": params}


def _decode(value, name, trusted):
    if isinstance(value, list):
        return [_decode(v, name, trusted) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, name, trusted) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, name, trusted) for k, v in value["__dict__"].items()}
    if "__ref__" in value:
        ref = value["__ref__"]
        try:
            return _resolve(ref, trusted)
        except (ImportError, AttributeError) as exc:
            raise ValueError(
                f"Parameter {name!r} refers to {ref}, which cannot be imported "
                f"here ({exc}); pass the cleaner it was made with, "
                "load_cleaner(checkpoint, cleaner=ActiveLabelCleaner(...))."
            ) from exc
    if "__unstorable__" in value:
        if name == "oracle":  # not needed to query/teach; a human answers
            return None
        raise ValueError(
            f"Parameter {name!r} ({value['__unstorable__']}) could not be stored "
            "in the checkpoint; pass the cleaner it was made with, "
            "load_cleaner(checkpoint, cleaner=ActiveLabelCleaner(...))."
        )
    return params_from_json(value, trusted=trusted)


def params_from_json(spec, *, trusted=(), replace=None):
    """Rebuild an (unfitted) estimator from :func:`params_to_json` output.

    Only classes of :data:`TRUSTED_MODULES` and ``trusted`` are imported
    (estimators must be scikit-learn estimators); ``replace`` maps parameter
    names to objects used instead of their stored description.
    """
    from sklearn.base import BaseEstimator

    if not (isinstance(spec, dict) and isinstance(spec.get("class"), str)):
        raise UntrustedCheckpointError(
            f"The checkpoint describes an estimator as {spec!r}; expected "
            '{"class": "module:Class", "params": {...}}.'
        )
    if not isinstance(spec.get("params", {}), dict):
        raise UntrustedCheckpointError(
            f"The checkpoint gives {spec['class']!r} the parameters "
            f"{spec['params']!r}; expected a JSON object."
        )
    spec = {"class": spec["class"], "params": spec.get("params", {})}
    cls = _resolve(spec["class"], trusted)
    if not isinstance(cls, type) or not issubclass(cls, BaseEstimator):
        raise UntrustedCheckpointError(
            f"The checkpoint names {spec['class']!r} as an estimator; it is not a "
            "scikit-learn estimator class, so it is not called."
        )
    replace = replace or {}
    defaults = {
        p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
    }
    for key, value in spec["params"].items():
        if (
            key not in replace
            and value is not None
            and _differs(value, defaults.get(key, inspect.Parameter.empty))
            and _PATH_PARAM.search(key)
            and not _within(cls.__module__, tuple(trusted))
        ):
            raise UntrustedCheckpointError(
                f"The checkpoint sets {cls.__name__}({key}={value!r}): a location "
                "the estimator would write to or read from (scikit-learn's "
                "memory= even unpickles what it finds there); nothing was built. "
                "If you trust the folder's author, pass "
                f"trusted=({cls.__module__.split('.')[0]!r},), or pass the "
                "estimators yourself."
            )
    params = {
        k: replace[k] if k in replace else _decode(v, k, trusted)
        for k, v in spec["params"].items()
    }
    return cls(**params)


def user_types(*objects):
    """Dotted names of the types and functions inside objects the user passed
    (trusted for loading because the user built them)."""
    names = set()
    stack = list(objects)
    while stack:
        obj = stack.pop()
        if obj is None or isinstance(obj, (str, int, float, bool)):
            continue
        target = obj if isinstance(obj, type | types.FunctionType) else type(obj)
        names.add(f"{target.__module__}.{target.__qualname__}")
        if hasattr(obj, "get_params") and not isinstance(obj, type):
            stack.extend(obj.get_params(deep=False).values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
    return names


# -- fitted models ------------------------------------------------------------------


def _torch_state(model):
    import torch

    state = model.get_torch_state()
    # The nets' shuffle and augmentation generators continue where they were,
    # so a resumed fine-tune draws what an uninterrupted one draws.
    net = getattr(model, "net_", None)
    state["generators"] = {
        name: gen.get_state()
        for name, gen in sorted(vars(net).items() if net is not None else [])
        if isinstance(gen, torch.Generator)
    }
    return state


def save_model(directory, stem, model):
    """Save a fitted model; returns ``(file name, format, sha256)``."""
    if hasattr(model, "get_torch_state"):
        import torch

        name, fmt = f"{stem}.pt", "torch"
        state = _torch_state(model)
        data = io.BytesIO()
        torch.save(state, data)
        blob = data.getvalue()
    else:
        import skops.io as sio

        name, fmt, blob = f"{stem}.skops", "skops", sio.dumps(model)
    path = os.path.join(directory, name)
    atomic_write(path, lambda fh: fh.write(blob))
    return name, fmt, hashlib.sha256(blob).hexdigest()


def _skops_nodes(blob):
    """``(module, name)`` of every node of a skops file's schema (what skops
    would import), read as plain JSON: nothing is imported here."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module, name = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(name, str):
                found.add((module, name))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _skops_allowed(module, name, trusted):
    """Whether a type a skops file names (and skops does not trust by itself)
    may be built: one of :data:`SKOPS_CLASSES`, a type or function of the
    objects the user passed (``trusted`` holds their dotted names; their
    modules are loaded already), or one from a module the user names in
    ``trusted``; each resolved and checked to be what the name says."""
    dotted = f"{module}.{name}"
    if dotted in trusted and module in sys.modules:  # the user's own objects
        obj = getattr(sys.modules[module], name, None)
        real = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        return real == dotted
    if dotted not in SKOPS_CLASSES and not _within(module, tuple(trusted)):
        return False
    try:
        obj = _resolve(f"{module}:{name}", trusted)
    except (UntrustedCheckpointError, ImportError, AttributeError):
        return False
    if not isinstance(obj, type):  # a function: only from a module the user named
        return _within(getattr(obj, "__module__", "") or "", tuple(trusted))
    return f"{obj.__module__}.{obj.__qualname__}" == dotted or _within(
        obj.__module__, tuple(trusted)
    )


def _check_skops_types(blob, trusted, name):
    """Refuse a skops file naming anything but the types skops trusts itself
    and :func:`_skops_allowed` admits; returns the names to pass to skops."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=blob)
        nodes = _skops_nodes(blob)
    except Exception as exc:
        raise CheckpointCorruptedError(
            f"{name} is damaged ({type(exc).__name__}: {exc})."
        ) from exc
    trusted = tuple(trusted)
    bad = []
    for type_name in untrusted:
        pairs = [(m, n) for m, n in nodes if f"{m}.{n}" == type_name]
        if not pairs or not all(_skops_allowed(m, n, trusted) for m, n in pairs):
            bad.append(type_name)
    if bad:
        raise UntrustedCheckpointError(
            f"{name} names {sorted(bad)}: not classes noisyactive saves in a "
            "model file (functions are never loaded from one). Nothing was "
            "loaded or imported from it. If you trust the folder's author, pass "
            "trusted=(<those names or their modules>,), or pass the estimators "
            "yourself."
        )
    return untrusted


def load_model(directory, name, fmt, sha256, template, *, trusted=(), what=""):
    """Load a model saved by :func:`save_model` after checking its checksum.

    The file is read once, without following a link; its checksum and the
    sizes it declares are checked on those bytes before anything is built.
    ``template`` (an unfitted clone) receives torch state; skops files are
    checked against :data:`SKOPS_CLASSES` and ``trusted`` first.
    """
    path = inside(directory, name)
    if fmt not in ("torch", "skops"):
        raise CheckpointCorruptedError(
            f"The checkpoint gives {name!r} the format {fmt!r}; only 'torch' "
            "(weights only) and 'skops' files are read."
        )
    if not os.path.lexists(path):
        raise CheckpointCorruptedError(f"{path} is missing.{what}")
    blob = read_bytes(path)
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise CheckpointCorruptedError(f"{path} is damaged (checksum).{what}")
    check_archive(blob, path)
    if fmt == "torch":
        import torch

        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        template.set_torch_state(state)
        net = getattr(template, "net_", None)
        for gen_name, gen_state in state.get("generators", {}).items():
            getattr(net, gen_name).set_state(gen_state)
        return template
    import skops.io as sio

    untrusted = _check_skops_types(blob, trusted, name)
    return sio.loads(blob, trusted=untrusted)
