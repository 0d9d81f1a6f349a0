"""Is this the same campaign? Input checks, data fingerprints, resume checks.

``ActiveLabelCleaner._parameter_constraints`` are here too: every parameter
is checked when ``fit`` starts, before any training.

A checkpoint belongs to one data set (values, or file names, sizes and
modification times) and one ``start``; everything passed to ``fit`` or
``teach`` is checked here before any oracle is asked.
"""

import hashlib
import os
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from noisyactive.active._files import STATE_FILE
from noisyactive.active._oracle import _listed
from noisyactive.active._params import (
    defer_params,
    params_from_json,
    without_cache_dirs,
)
from noisyactive.active._state import CampaignState
from noisyactive.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
)

__all__ = [
    "CLEANER_CONSTRAINTS",
    "check_fit_input",
    "classifier_has",
    "check_input",
    "check_resume",
    "check_validation",
    "cleaner_from_header",
    "data_fingerprint",
    "looks_like_paths",
    "read_checkpoint",
    "training_data",
]

_CHUNK_BYTES = 1 << 24


def _hash_array(arr, digest):
    arr = np.asarray(arr)
    digest.update(f"{arr.shape}|".encode())
    if arr.dtype.kind in "OUS":
        for value in arr.ravel().tolist():
            digest.update(str(value).encode() + b"\x1f")
        return
    if arr.ndim == 0:
        arr = arr.reshape(1)
    rows = max(1, _CHUNK_BYTES // max(1, arr[:1].size * 8))
    for start in range(0, arr.shape[0], rows):
        # Values, not bytes: the same data in float32 and float64 (or uint8 and
        # int64) hash alike when the values are equal.
        chunk = np.ascontiguousarray(arr[start : start + rows], dtype=np.float64)
        digest.update(chunk.tobytes())


def _hash_paths(paths, digest):
    for p in np.asarray(paths, dtype=object).ravel().tolist():
        try:
            st = os.stat(p)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        digest.update(f"{p}\x1e{stamp}\x1f".encode())


def data_fingerprint(X, classes, y_encoded, *, paths=False):
    """Digests that identify the data of a campaign.

    Numeric data are hashed by value (another dtype with equal values is the
    same data); file paths by name, size and modification time (files
    replaced behind the same paths are other data).

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._checks import data_fingerprint
    >>> a = data_fingerprint(np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1]))
    >>> b = data_fingerprint(np.zeros((2, 3), np.float32), [0, 1], [0, 1])
    >>> c = data_fingerprint(np.ones((2, 3)), np.array([0, 1]), np.array([0, 1]))
    >>> a["x"] == b["x"], a["x"] == c["x"], a["y"] == c["y"]
    (True, False, True)
    """
    x_digest = hashlib.blake2b(digest_size=20)
    if paths:
        _hash_paths(X, x_digest)
    else:
        _hash_array(X, x_digest)
    y_digest = hashlib.blake2b(digest_size=20)
    _hash_array(np.asarray(classes).astype(str), y_digest)
    _hash_array(np.asarray(y_encoded, dtype=np.int64), y_digest)
    X = np.asarray(X)
    return {
        "x": x_digest.hexdigest(),
        "y": y_digest.hexdigest(),
        "x_shape": list(X.shape),
        "x_dtype": X.dtype.str,
    }


def looks_like_paths(X):
    """Whether ``X`` is a 1-D sequence of file paths (not an array of values)."""
    if hasattr(X, "shape") and len(X.shape) != 1:
        return False
    if not isinstance(X, list | tuple | np.ndarray) and not hasattr(X, "iloc"):
        return False
    values = list(X)
    return bool(values) and all(isinstance(v, str | os.PathLike) for v in values)


def as_paths(X):
    return np.asarray([os.fspath(p) for p in X], dtype=object)


CLEANER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit"]), None],
    "classifier": [HasMethods(["fit", "predict"]), None],
    "query_strategy": [str, HasMethods(["rank"]), HasMethods(["query"]), callable],
    "oracle": [callable, dict, None],
    "batch_size": [
        Interval(Integral, 1, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="neither"),
    ],
    "n_rounds": [Interval(Integral, 0, None, closed="left")],
    "refit": [StrOptions({"finetune", "scratch"})],
    "refit_epochs": [Interval(Integral, 1, None, closed="left")],
    "start": [StrOptions({"filter", "noisy", "none"})],
    "checkpoint": [str, os.PathLike, None],
    "audit_share": [Interval(Real, 0, 1, closed="both")],
    "audit_size": [Interval(Integral, 0, None, closed="left")],
    "refit_after_audit": [StrOptions({"auto"}), "boolean"],
    "consensus": [StrOptions({"majority", "dawid_skene", "crowdlab"}), None],
    "max_answers_per_sample": [Interval(Integral, 1, None, closed="left"), None],
    "answers_per_query": [Interval(Integral, 1, None, closed="left"), None],
    "on_round_end": [callable, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def classifier_has(attr, *, default):
    """``available_if`` check on the classifier in use, or the one configured;
    ``default`` when neither is set (the network classifier)."""

    def check(cleaner):
        classifier = getattr(cleaner, "classifier_", None) or cleaner.classifier
        return default if classifier is None else hasattr(classifier, attr)

    return check


def check_fit_input(cleaner, X, y):
    """``(X, y, input_is_paths)`` for ``fit``: file paths as an object array,
    anything else validated (which sets ``n_features_in_``)."""
    if looks_like_paths(X):
        vars(cleaner).pop("n_features_in_", None)  # from an earlier fit on arrays
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return as_paths(X), y, True
    X, y = validate_data(cleaner, X, y, allow_nd=True, reset=True)
    return X, y, False


def check_input(cleaner, X, *, input_is_paths):
    """``X`` for a fitted cleaner: of the kind (paths or arrays, and the
    number of features) it was fitted on."""
    if looks_like_paths(X):
        if not input_is_paths:
            raise ValueError("The cleaner was fitted on arrays; got file paths.")
        return as_paths(X)
    if input_is_paths:
        raise ValueError("The cleaner was fitted on file paths; got an array.")
    return validate_data(cleaner, X, allow_nd=True, reset=False)


def check_validation(cleaner, X_val, y_val, *, input_is_paths):
    """``(X_val, y_val)`` checked against the training data, or None."""
    if X_val is None and y_val is None:
        return None
    if X_val is None or y_val is None:
        raise ValueError("Pass both X_val and y_val, or neither.")
    X_val = check_input(cleaner, X_val, input_is_paths=input_is_paths)
    y_val = column_or_1d(y_val, warn=True)
    check_consistent_length(X_val, y_val)
    unknown = ~np.isin(y_val, cleaner.classes_)
    if unknown.any():
        raise ValueError(
            f"y_val holds labels {_listed(np.unique(y_val[unknown]).tolist())} "
            f"that are not among the training classes "
            f"{_listed(cleaner.classes_.tolist())}; nothing was asked."
        )
    return X_val, y_val


def check_resume(state, header, fingerprint, cleaner):
    """Refuse a checkpoint written for other data or another ``start``."""
    saved, where, start = (
        state.fingerprint,
        os.fspath(cleaner.checkpoint),
        cleaner.start,
    )
    if saved["x"] != fingerprint["x"] or saved["y"] != fingerprint["y"]:
        what = "X" if saved["x"] != fingerprint["x"] else "the noisy labels y"
        raise ValueError(
            f"The checkpoint in {where!r} belongs to other data: {what} differ "
            f"from the data it was written for (X of shape "
            f"{tuple(saved['x_shape'])}, dtype {saved['x_dtype']}; got shape "
            f"{tuple(fingerprint['x_shape'])}, dtype {fingerprint['x_dtype']}; "
            "for file paths the files' sizes and modification times count). "
            "Use a new checkpoint directory, or delete this one to start over."
        )
    saved_start = header["params"]["params"].get("start")
    if saved_start is not None and saved_start != start:
        raise ValueError(
            f"The checkpoint in {where!r} was written with start={saved_start!r}; "
            f"this cleaner has start={start!r}. Resume with the same start, or "
            "use a new checkpoint directory."
        )


def read_checkpoint(checkpoint):
    """``(state, header)`` of a checkpoint folder; an error without one."""
    saved = CampaignState.from_files(checkpoint)
    if saved is None:
        raise FileNotFoundError(
            f"No ActiveLabelCleaner checkpoint in {os.fspath(checkpoint)!r} "
            f"(expected a file {STATE_FILE!r} there)."
        )
    return saved


def cleaner_from_header(
    header, *, estimator=None, classifier=None, trusted=(), lazy=False
):
    """The cleaner described by a checkpoint's stored parameters (``oracle``
    None; ``estimator`` / ``classifier`` replacing the stored ones; a stored
    ``cache_dir`` not used, see :func:`without_cache_dirs`).

    With ``lazy`` the stored ``estimator`` and ``classifier`` are checked by
    name now and built when first read (:func:`defer_params`): building a
    network estimator imports torch, which ``teach`` never needs.
    """
    spec = without_cache_dirs(header["params"], trusted)
    stored = spec["params"] if isinstance(spec.get("params"), dict) else {}
    replace = {"oracle": None} if stored.get("oracle") else {}
    deferred = {}
    for name, value in (("estimator", estimator), ("classifier", classifier)):
        if value is not None:
            replace[name] = value
        elif lazy and isinstance(stored.get(name), dict) and "class" in stored[name]:
            # only a class spec waits; a reference or an unstorable value is
            # decoded (or refused) now, when the folder is opened
            deferred[name] = stored[name]
            replace[name] = None
    cleaner = params_from_json(spec, trusted=trusted, replace=replace)
    if deferred:
        defer_params(cleaner, deferred, trusted)
    return cleaner


def training_data(campaign, X):
    """The training data of the campaign: ``X`` checked to be it (the file
    paths of the state when ``X`` is None)."""
    s = campaign.state
    if X is None:
        if s.input_paths is None:
            raise ValueError(
                "X is needed: the cleaner was fitted on arrays (X may be "
                "omitted only when fit received file paths)."
            )
        X = s.input_paths
    X = check_input(campaign.cleaner, X, input_is_paths=s.input_is_paths)
    fp = data_fingerprint(X, s.classes, s.y_noisy, paths=s.input_is_paths)
    if fp["x"] != s.fingerprint["x"]:
        saved = s.fingerprint
        raise ValueError(
            "X is not the data this cleaner was fitted on (fitted on shape "
            f"{tuple(saved['x_shape'])}, dtype {saved['x_dtype']}; got shape "
            f"{tuple(X.shape)}, dtype {X.dtype}, or the same shape with other "
            "values or changed files). query and teach need the training "
            "data, in the same order."
        )
    return X
