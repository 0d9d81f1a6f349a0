"""Estimators as plain data: their constructor call as JSON, and back.

:func:`params_to_json` describes an estimator's constructor call as JSON;
:func:`params_from_json` rebuilds it, importing only what the allow-list of
:mod:`~noisyactive.active._trust` admits, and refuses a parameter naming a
place on disk unless the class's module is trusted.
"""

import inspect
import os
import re
import types

import numpy as np

from noisyactive.active._trust import (
    UntrustedCheckpointError,
    _check_trusted,
    _resolve,
    _within,
)

__all__ = [
    "build_deferred",
    "check_spec_names",
    "defer_params",
    "deferred_params",
    "params_to_json",
    "params_from_json",
    "user_types",
    "without_cache_dirs",
]

_DEFERRED = "_deferred_params"


# Parameters that name a place on disk (sklearn's memory=, a cache_dir, a
# skorch dirname or f_params, a network's weights file): an allow-listed class
# built with a hostile value would write there, read an arbitrary file, or with
# joblib's Memory load pickles from there.
_PATH_PARAM = re.compile(
    r"^memory$|^weights$|(^|_)dir(name|ectory)?(_|$)|path|file|^f_"
)


def _differs(value, default):
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # e.g. an array default: compare as unequal
        return True


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
    >>> from noisyactive.active._params import params_from_json, params_to_json
    >>> spec = params_to_json(LogisticRegression(C=0.5))
    >>> spec["class"], spec["params"]["C"]
    ('sklearn.linear_model._logistic:LogisticRegression', 0.5)
    >>> params_from_json(spec)
    LogisticRegression(C=0.5)
    """
    params, deferred = {}, deferred_params(estimator)
    if deferred:  # written back as they were read, without building them
        names = type(estimator)._get_param_names()
        values = {n: getattr(estimator, n) for n in names if n not in deferred}
        params.update({n: spec for n, (spec, _) in deferred.items()})
    else:
        values = estimator.get_params(deep=False)
    for name, value in values.items():
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


def _specs(value):
    """Every ``{"class": ..., "params": ...}`` inside a stored value."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("class"), str):
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def check_spec_names(spec, trusted=()):
    """Refuse a stored estimator that names a class or reference outside the
    allow-list, by its names alone (nothing is imported): what a deferred
    parameter is checked with before :func:`build_deferred` resolves it."""
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("class", "__ref__"):
                if key in node:
                    if not isinstance(node[key], str):
                        raise UntrustedCheckpointError(
                            f"The checkpoint gives {key} {node[key]!r}; expected "
                            '"module:Class".'
                        )
                    _check_trusted(node[key], trusted)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def without_cache_dirs(spec, trusted=()):
    """``spec`` with no ``cache_dir`` for classes outside ``trusted``.

    A cache folder is where decoded images are kept, not a setting of the
    campaign: the one a header names is not used (a received folder must
    not choose where to write), the estimator's default cache is. A header
    naming one is therefore never refused for it (see :func:`params_from_json`).
    """
    import copy

    spec = copy.deepcopy(spec)
    for node in _specs(spec):
        module = node["class"].partition(":")[0]
        params = node.get("params")
        if isinstance(params, dict) and not _within(module, tuple(trusted)):
            params.pop("cache_dir", None)
    return spec


def defer_params(estimator, specs, trusted=()):
    """Leave the parameters ``specs`` (name: stored description) of
    ``estimator`` unbuilt until first read (:func:`build_deferred`)."""
    for name, spec in specs.items():
        check_spec_names(spec, trusted)
        vars(estimator).pop(name, None)
    vars(estimator)[_DEFERRED] = {
        n: (spec, tuple(trusted)) for n, spec in specs.items()
    }


def deferred_params(estimator):
    """``{name: (spec, trusted)}`` of the parameters not built yet (an
    assigned one no longer counts)."""
    values = getattr(estimator, "__dict__", {})
    return {n: v for n, v in values.get(_DEFERRED, {}).items() if n not in values}


def build_deferred(estimator, name):
    """Build the deferred parameter ``name`` (checked as when loading)."""
    spec, trusted = deferred_params(estimator)[name]
    value = params_from_json(spec, trusted=trusted)
    setattr(estimator, name, value)
    del vars(estimator)[_DEFERRED][name]
    return value
