"""Checks of what a checkpoint folder holds, before the campaign uses it.

A received folder is data, written by someone else: its checksum shows it was
not damaged, not that its author meant well. :func:`validate_state` checks
that the arrays and the header of ``state.npz`` have the types, shapes and
ranges a campaign writes (labels shorter than the data, indices beyond it or
``n_rounds: "three"`` are refused with a message naming the field), so that
nothing further down indexes out of range or hands out a crafted index.
"""

import numbers

import numpy as np

from noisyactive.active._errors import CheckpointCorruptedError

__all__ = ["validate_state"]

_PER_SAMPLE = (
    "labels",
    "initial_clean",
    "clean",
    "relabeled",
    "abstained",
    "answer_round",
    "input_paths",
)
_MASKS = ("initial_clean", "clean", "relabeled", "abstained")
_COUNTS = (
    "seed",
    "n_rounds",
    "budget_used",
    "classifier_version",
    "journal_seq",
    "proba_version",
)


class _Refusal(Exception):
    pass


def _count(value, key):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise _Refusal(f"{key} is {value!r}, not a count (a non-negative integer)")
    return int(value)


def _vector(arrays, key, kinds, length=None):
    arr = arrays[key]
    if arr.ndim != 1 or arr.dtype.kind not in kinds:
        raise _Refusal(
            f"{key} is an array of shape {arr.shape} and dtype {arr.dtype}, not a "
            f"vector of {'/'.join(_KIND_NAMES[k] for k in kinds)}"
        )
    if length is not None and arr.shape[0] != length:
        raise _Refusal(f"{key} has {arr.shape[0]} entries for {length} samples")
    return arr


_KIND_NAMES = {
    "i": "integers",
    "u": "integers",
    "b": "booleans",
    "f": "floats",
    "U": "strings",
    "S": "strings",
}


def _within(arrays, key, low, high, what):
    arr = arrays[key]
    if arr.size and (arr.min() < low or arr.max() >= high):
        raise _Refusal(
            f"{key} holds {arr.min() if arr.min() < low else arr.max()}, outside "
            f"the {what} [{low}, {high})"
        )


def _check(header, arrays):
    for key in _COUNTS:
        if key in header:
            _count(header[key], key)
    n_rounds = _count(header.get("n_rounds", 0), "n_rounds")
    for key, kinds in (
        ("needs_refit", (bool,)),
        ("classes_object", (bool,)),
        ("input_is_paths", (bool,)),
        ("history", (list,)),
        ("model_files", (dict,)),
        ("fingerprint", (dict,)),
        ("params", (dict,)),
        ("termination", (str, type(None))),
        ("phase1_rates", (list, type(None), float, int)),
        ("n_features_in", (int, type(None))),
    ):
        if key in header and not isinstance(header[key], kinds):
            raise _Refusal(f"{key} is {header[key]!r} ({type(header[key]).__name__})")
    if "history" in header and not all(isinstance(h, dict) for h in header["history"]):
        raise _Refusal("history holds entries that are not rounds (JSON objects)")
    for role, entry in header.get("model_files", {}).items():
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and all(isinstance(v, str) for v in entry)
        ):
            raise _Refusal(
                f"model_files[{role!r}] is {entry!r}, not [name, format, sha256]"
            )
    for name in ("y_noisy", "classes"):
        if name not in arrays:  # every range check below hangs on these two
            raise _Refusal(f"{name} is missing from the arrays")
    n = _vector(arrays, "y_noisy", "iu").shape[0]
    classes = arrays["classes"]
    if classes.ndim != 1 or classes.shape[0] < 1:
        raise _Refusal(f"classes has shape {classes.shape}")
    n_classes = classes.shape[0]
    for key in _PER_SAMPLE:
        if key in arrays:
            kinds = "b" if key in _MASKS else "US" if key == "input_paths" else "iu"
            _vector(arrays, key, kinds, n)
    for key in ("y_noisy", "labels"):
        if key in arrays:
            _within(arrays, key, 0, n_classes, "class positions")
    if "answer_round" in arrays:
        _within(arrays, "answer_round", 0, n_rounds + 2, "rounds")
    for key in ("batch", "queried", "open_round", "log_index"):
        if key in arrays:
            _vector(arrays, key, "iu")
            _within(arrays, key, 0, n, "sample indices")
    if "batch" in arrays:
        batch = arrays["batch"]
        if np.unique(batch).size != batch.size:
            raise _Refusal("batch names a sample twice")
        if "batch_scores" in arrays:
            _vector(arrays, "batch_scores", "f", batch.size)
    if "queried_lengths" in arrays:
        lengths = _vector(arrays, "queried_lengths", "iu")
        if lengths.size != n_rounds:
            raise _Refusal(
                f"queried_lengths has {lengths.size} rounds, n_rounds is {n_rounds}"
            )
        _within(arrays, "queried_lengths", 0, n + 1, "round sizes")
        total = int(lengths.sum())
        if "queried" in arrays and total != arrays["queried"].shape[0]:
            raise _Refusal(
                f"queried_lengths add up to {total}, queried holds "
                f"{arrays['queried'].shape[0]}"
            )
    logs = [k for k in arrays if k.startswith("log_")]
    if logs:
        sizes = {arrays[k].shape for k in logs}
        if len(sizes) != 1 or any(arrays[k].ndim != 1 for k in logs):
            raise _Refusal(f"the relabel log columns differ in shape: {sorted(sizes)}")
        for key in ("log_old", "log_new"):
            if key in arrays:
                _vector(arrays, key, "iu")
                _within(arrays, key, 0, n_classes, "class positions")
        if "log_round" in arrays:
            _vector(arrays, "log_round", "iu")
            _within(arrays, "log_round", 0, n_rounds + 2, "rounds")  # 0: the audit
    _check_answers(header, arrays, n, n_classes, n_rounds)
    if "proba" in arrays:
        _check_proba(arrays["proba"], n, n_classes)


def _check_proba(proba, n, n_classes):
    """The saved class probabilities: none, or one row of ``n_classes``
    probabilities per sample."""
    if proba.size == 0 and proba.ndim == 2:
        return
    if proba.dtype.kind != "f" or proba.shape != (n, n_classes):
        raise _Refusal(
            f"proba is an array of shape {proba.shape} and dtype {proba.dtype}, "
            f"not ({n}, {n_classes}) probabilities"
        )
    if not (np.isfinite(proba).all() and proba.min() >= 0 and proba.max() <= 1 + 1e-6):
        raise _Refusal("proba holds values that are not probabilities")


def _check_answers(header, arrays, n, n_classes, n_rounds):
    """The answer table (format 3): equal columns, indices, labels, annotators
    and rounds in range."""
    names = header.get("annotators", [])
    if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
        raise _Refusal(f"annotators is {names!r}, not a list of names")
    if header.get("consensus") not in (None, "majority", "dawid_skene", "crowdlab"):
        raise _Refusal(f"consensus is {header.get('consensus')!r}")
    votes = arrays.get("model_votes")  # checked with or without answers
    if votes is not None and votes.size:
        if votes.shape != (n, n_classes) or votes.dtype.kind != "f":
            raise _Refusal(
                f"model_votes has shape {votes.shape} and dtype {votes.dtype}, not "
                f"({n}, {n_classes}) probabilities"
            )
        if np.any((votes < 0) | (votes > 1)):
            raise _Refusal("model_votes holds values outside [0, 1]")
    columns = [k for k in arrays if k.startswith("answers_")]
    if not columns:
        return
    sizes = {arrays[k].shape for k in columns}
    if len(sizes) != 1 or any(arrays[k].ndim != 1 for k in columns):
        raise _Refusal(f"the answer table columns differ in shape: {sorted(sizes)}")
    for key, low, high, what in (
        ("answers_index", 0, n, "sample indices"),
        ("answers_label", -1, n_classes, "class positions"),
        ("answers_annotator", 0, len(names), "annotators"),
        ("answers_round", 0, n_rounds + 2, "rounds"),
    ):
        if key in arrays:
            _vector(arrays, key, "iu")
            _within(arrays, key, low, high, what)
    if "batch_wanted" in arrays:
        wanted = _vector(arrays, "batch_wanted", "iu")
        if wanted.size and wanted.size != len(arrays.get("batch", [])):
            raise _Refusal("batch_wanted does not have one entry per batch sample")
        _within(arrays, "batch_wanted", 0, len(names) + n + 1, "answer counts")


def validate_state(header, arrays, path="state.npz"):
    """Refuse a state whose fields a campaign could not have written.

    Parameters
    ----------
    header : dict
        The JSON header of ``state.npz`` (checksum already verified).
    arrays : dict of str to ndarray
        Its arrays.
    path : str
        Named in the error.

    Raises
    ------
    CheckpointCorruptedError
        Naming the first field out of place.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._safe_io import validate_state
    >>> arrays = {"y_noisy": np.array([0, 1, 1]), "classes": np.array([3, 7]),
    ...           "labels": np.array([0, 1])}
    >>> try:
    ...     validate_state({"n_rounds": 0}, arrays)
    ... except ValueError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    state.npz does not hold a campaign's state: labels has 2 entries for 3 samples...
    """
    try:
        _check(header, arrays)
    except _Refusal as exc:
        raise CheckpointCorruptedError(
            f"{path} does not hold a campaign's state: {exc}. Refusing to use it "
            "(it was edited or written by something else than noisyactive)."
        ) from None
