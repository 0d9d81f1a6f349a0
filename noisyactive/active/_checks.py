"""Is this the same campaign? Data fingerprints, resume checks, load_cleaner.

A checkpoint belongs to one data set (values, or file names, sizes and
modification times) and one ``start``; everything passed to ``fit`` or
``teach`` is checked here before any oracle is asked.
"""

import hashlib
import os
import warnings

import numpy as np
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from noisyactive.active._oracle import _listed
from noisyactive.active._spec import params_from_json

__all__ = ["CheckMixin", "data_fingerprint", "load_cleaner"]

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
    >>> from noisyactive.active._resume import data_fingerprint
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


def _looks_like_paths(X):
    if hasattr(X, "shape") and len(X.shape) != 1:
        return False
    if not isinstance(X, list | tuple | np.ndarray) and not hasattr(X, "iloc"):
        return False
    values = list(X)
    return bool(values) and all(isinstance(v, str | os.PathLike) for v in values)


class CheckMixin:
    """Input and resume checks of :class:`ActiveLabelCleaner` (private methods)."""

    def _check_data(self, X, y=None, *, reset):
        if _looks_like_paths(X):
            if not reset and not self._input_is_paths:
                raise ValueError("The cleaner was fitted on arrays; got file paths.")
            X = np.asarray([os.fspath(p) for p in X], dtype=object)
            if reset:
                self._input_is_paths = True
                self.__dict__.pop("n_features_in_", None)
            if y is None:
                return X
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            return X, y
        if not reset and self._input_is_paths:
            raise ValueError("The cleaner was fitted on file paths; got an array.")
        if reset:
            self._input_is_paths = False
            return validate_data(self, X, y, allow_nd=True, reset=True)
        return validate_data(self, X, allow_nd=True, reset=False)

    def _check_validation(self, X_val, y_val):
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("Pass both X_val and y_val, or neither.")
        X_val = self._check_data(X_val, reset=False)
        y_val = column_or_1d(y_val, warn=True)
        check_consistent_length(X_val, y_val)
        unknown = ~np.isin(y_val, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y_val holds labels {_listed(np.unique(y_val[unknown]).tolist())} "
                f"that are not among the training classes "
                f"{_listed(self.classes_.tolist())}; nothing was asked."
            )
        return X_val, y_val

    def _check_resume(self, state, header, fingerprint):
        saved, where = state.fingerprint, os.fspath(self.checkpoint)
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
        self._check_start(header)

    def _check_start(self, header):
        saved_start = header["params"]["params"].get("start")
        if saved_start is not None and saved_start != self.start:
            raise ValueError(
                f"The checkpoint in {os.fspath(self.checkpoint)!r} was written with "
                f"start={saved_start!r}; this cleaner has start={self.start!r}. "
                "Resume with the same start, or use a new checkpoint directory."
            )

    def _warn_if_budget_exceeds_pool(self):
        s = self._state
        pool = s.candidates().size
        if self.audit_share > 0:
            pool += s.audit_candidates().size
        left = self.budget_total_ - s.budget_used
        if s.n_rounds < self.n_rounds and left > pool:
            warnings.warn(
                f"The budget batch_size * n_rounds = {self.budget_total_} leaves "
                f"{left} labels to ask but only {pool} samples can be relabeled; "
                f"the budget is clamped to {pool} and the campaign stops when "
                "none are left.",
                UserWarning,
                stacklevel=4,
            )

    def _stop(self, condition):
        self._state.termination = condition
        self._publish()
        self._save()


def load_cleaner(
    checkpoint,
    cleaner=None,
    *,
    estimator=None,
    classifier=None,
    trusted=(),
    labels_only=False,
):
    """Restore a fitted :class:`~noisyactive.ActiveLabelCleaner` from its checkpoint.

    Use it to continue an ask/tell campaign in a new session (``query`` the
    next samples, ``teach`` the answers) or to export its labels. Answers
    journaled after the last state are replayed; nothing is asked again.

    Parameters
    ----------
    checkpoint : str or path-like
        The cleaner's ``checkpoint`` folder.
    cleaner : ActiveLabelCleaner, default=None
        A cleaner with the parameters of the campaign (cloned); its
        estimators are trusted. When None, the cleaner is rebuilt from the
        parameters stored as JSON, importing only classes of the trusted
        modules (noisyactive, scikit-learn, skorch, ``torch.nn``,
        ``torch.optim``, torchvision, and ``trusted``).
    estimator, classifier : estimator, default=None
        Used instead of the stored description of these parameters (for
        estimators from modules you do not want to trust by name).
    trusted : tuple of str, default=()
        Further module names whose classes and functions may be imported and
        whose types may be loaded from the folder's ``.skops`` files. Only
        name modules whose author you trust: importing runs their code.
    labels_only : bool, default=False
        Restore the state only (labels, masks, history), without the
        classifier: for exporting the labels of a folder whose classifier
        file is damaged.

    Returns
    -------
    cleaner : ActiveLabelCleaner
        Fitted; ``checkpoint`` set to the given folder.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.active import ActiveLabelCleaner, load_cleaner
    >>> X, y = make_classification(60, random_state=0)
    >>> folder = tempfile.mkdtemp()
    >>> cleaner = ActiveLabelCleaner(LogisticRegression(), LogisticRegression(),
    ...     start="noisy", batch_size=5, checkpoint=folder, random_state=0)
    >>> cleaner = cleaner.fit(X, y)  # no oracle: nothing relabeled yet
    >>> ask = cleaner.query(X)
    >>> later = load_cleaner(folder)
    >>> bool((later.pending_indices_ == ask).all())
    True
    """
    from sklearn.base import clone

    from noisyactive.active._files import STATE_FILE, disk_mark
    from noisyactive.active._state import CampaignState

    seen = disk_mark(checkpoint)  # before reading: a writer in between is noticed
    saved = CampaignState.from_files(checkpoint)
    if saved is None:
        raise FileNotFoundError(
            f"No ActiveLabelCleaner checkpoint in {os.fspath(checkpoint)!r} "
            f"(expected a file {STATE_FILE!r} there)."
        )
    state, header = saved
    trusted = tuple(trusted)
    if cleaner is None:
        replace = {"oracle": None} if header["params"]["params"].get("oracle") else {}
        replace.update(
            {
                k: v
                for k, v in (("estimator", estimator), ("classifier", classifier))
                if v is not None
            }
        )
        cleaner = params_from_json(header["params"], trusted=trusted, replace=replace)
        cleaner.set_params(oracle=None) if "oracle" in replace else None
    else:
        cleaner = clone(cleaner)
    cleaner.set_params(checkpoint=os.fspath(checkpoint))
    cleaner._load_trusted = trusted
    cleaner.classes_ = state.classes
    cleaner._input_is_paths = header["input_is_paths"]
    if header["n_features_in"] is not None:
        cleaner.n_features_in_ = header["n_features_in"]
    cleaner._disk_seen = seen
    with cleaner._locked():
        if labels_only:
            cleaner._state = state
            cleaner.estimator_ = cleaner.classifier_ = None
            cleaner._publish()
        else:
            cleaner._resume(state, None, None, close=False)
    return cleaner
