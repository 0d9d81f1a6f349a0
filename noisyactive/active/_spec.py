"""Estimators as plain data, and fitted models as safe files.

:func:`params_to_json` describes an estimator's constructor call as JSON;
:func:`params_from_json` rebuilds it, importing only classes (and, for
functions, only a short named list) from an allow-list: noisyactive, scikit-learn,
skorch, ``torch.nn``, ``torch.optim`` and torchvision, plus the modules a user
names in ``trusted``. A module outside the list is never imported, so a
received checkpoint cannot run its code. Fitted scikit-learn objects go
through :mod:`skops.io` (its own trusted-types check, against the same list),
networks through ``torch.save`` / ``torch.load(weights_only=True)``.
"""

import importlib
import inspect
import io
import os
import re
import types

import numpy as np

from noisyactive.active._files import (
    CheckpointCorruptedError,
    atomic_write,
    file_digest,
    inside,
)

__all__ = [
    "TRUSTED_MODULES",
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
    if isinstance(obj, type):
        ok = _within(owner, TRUSTED_MODULES + tuple(trusted))
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

    cls = _resolve(spec["class"], trusted)
    if not issubclass(cls, BaseEstimator):
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
    return name, fmt, file_digest(path)


def _check_skops_types(untrusted, trusted, name):
    allowed = TRUSTED_MODULES + tuple(trusted)
    bad = [
        t
        for t in untrusted
        if t not in trusted and not _within(t.rpartition(".")[0], allowed)
    ]
    if bad:
        raise UntrustedCheckpointError(
            f"{name} contains types outside the trusted modules: {bad}. Nothing "
            "was loaded. If you trust the folder's author, pass "
            "trusted=(<their modules>,), or pass the estimators yourself."
        )


def load_model(directory, name, fmt, sha256, template, *, trusted=(), what=""):
    """Load a model saved by :func:`save_model` after checking its checksum.

    ``template`` (an unfitted clone) receives torch state; skops files are
    checked against the trusted modules first.
    """
    path = inside(directory, name)
    if fmt not in ("torch", "skops"):
        raise CheckpointCorruptedError(
            f"The checkpoint gives {name!r} the format {fmt!r}; only 'torch' "
            "(weights only) and 'skops' files are read."
        )
    if not os.path.isfile(path) or file_digest(path) != sha256:
        state = "missing" if not os.path.isfile(path) else "damaged (checksum)"
        raise CheckpointCorruptedError(f"{path} is {state}.{what}")
    if fmt == "torch":
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        template.set_torch_state(state)
        net = getattr(template, "net_", None)
        for gen_name, gen_state in state.get("generators", {}).items():
            getattr(net, gen_name).set_state(gen_state)
        return template
    import skops.io as sio

    with open(path, "rb") as fh:
        blob = fh.read()
    untrusted = sio.get_untrusted_types(data=blob)
    _check_skops_types(untrusted, trusted, name)
    return sio.loads(blob, trusted=untrusted)
