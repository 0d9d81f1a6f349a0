"""Save and restore the state of an :class:`ActiveLabelCleaner` campaign.

The file layout and its guarantees are described in
:mod:`noisyactive.active._checkpoint`; this module maps the cleaner's fitted
attributes to those files and back, and implements :func:`load_cleaner`.
"""

import os
import pickle
import warnings

import numpy as np
from sklearn.base import clone

from noisyactive.active._checkpoint import (
    CHECKPOINT_VERSION,
    STATE_FILE,
    load_model,
    load_pickle,
    params_from_json,
    params_to_json,
    read_state,
    remove_stale,
    save_model,
    save_pickle,
    write_state,
)

__all__ = ["save_campaign", "restore_campaign", "check_fingerprint", "load_cleaner"]

_ESTIMATOR_FILE = "estimator.joblib"
_LOG_FIELDS = ("round", "index", "old", "new", "score")


def _classes_to_arrays(classes):
    if classes.dtype == object:  # np.unique of str objects; store as unicode
        return np.asarray(classes.tolist(), dtype=str), True
    return classes, False


def save_campaign(cleaner, directory, *, save_estimator=False):
    """Write the cleaner's campaign state into ``directory`` (atomically)."""
    os.makedirs(directory, exist_ok=True)
    if cleaner.classifier_ is not None and (
        cleaner._classifier_saved != cleaner._classifier_version
    ):
        stem = f"classifier-{cleaner._classifier_version:05d}"
        cleaner._classifier_file = save_model(directory, stem, cleaner.classifier_)
        cleaner._classifier_saved = cleaner._classifier_version
    if save_estimator and cleaner.start == "filter":
        try:
            cleaner._estimator_file = save_pickle(
                directory, _ESTIMATOR_FILE, cleaner.estimator_
            )
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            warnings.warn(
                f"The phase-1 estimator could not be pickled into the checkpoint "
                f"({exc}); a resumed cleaner holds an unfitted clone in "
                "estimator_ (its clean mask is saved and used).",
                UserWarning,
                stacklevel=4,
            )
    classes, classes_object = _classes_to_arrays(cleaner.classes_)
    queried = cleaner.queried_indices_
    file, fmt = cleaner._classifier_file or (None, None)
    header = {
        "format_version": CHECKPOINT_VERSION,
        "fingerprint": cleaner._fingerprint,
        "seed": int(cleaner._seed),
        "n_rounds_done": int(cleaner.n_rounds_),
        "budget_used": int(cleaner.budget_used_),
        "termination_condition": cleaner.termination_condition_,
        "needs_refit": bool(cleaner._needs_refit),
        "history": cleaner.history_,
        "classes_object": classes_object,
        "input_is_paths": bool(cleaner._input_is_paths),
        "n_features_in": getattr(cleaner, "n_features_in_", None),
        "classifier_file": file,
        "classifier_format": fmt,
        "classifier_version": int(cleaner._classifier_version),
        "estimator_file": cleaner._estimator_file,
        "params": params_to_json(cleaner),
    }
    arrays = {
        "classes": classes,
        "y_noisy": cleaner._y_noisy,
        "labels": cleaner._labels,
        "initial_clean": cleaner.initial_clean_mask_,
        "clean": cleaner.clean_mask_,
        "relabeled": cleaner.relabeled_mask_,
        "abstained": cleaner.abstained_mask_,
        "queried": np.concatenate(queried) if queried else np.zeros(0, np.intp),
        "queried_lengths": np.array([q.size for q in queried], dtype=np.int64),
        "pending_indices": cleaner.pending_indices_,
        "pending_scores": cleaner._pending_scores,
    }
    for field in _LOG_FIELDS:
        kind = np.float64 if field == "score" else np.int64
        arrays[f"log_{field}"] = np.asarray(cleaner._log[field], dtype=kind)
    write_state(directory, header, arrays)
    # Only after the state naming the new classifier file is in place.
    if file is not None:
        remove_stale(directory, "classifier-", keep=file)


def check_fingerprint(header, fingerprint, directory, start):
    """Refuse a checkpoint written for other data or another ``start``."""
    saved = header["fingerprint"]
    if saved["x"] != fingerprint["x"] or saved["y"] != fingerprint["y"]:
        what = "X" if saved["x"] != fingerprint["x"] else "the noisy labels y"
        raise ValueError(
            f"The checkpoint in {os.fspath(directory)!r} belongs to other data: "
            f"{what} differ from the data it was written for (X of shape "
            f"{tuple(saved['x_shape'])}, dtype {saved['x_dtype']}; got shape "
            f"{tuple(fingerprint['x_shape'])}, dtype {fingerprint['x_dtype']}). "
            "Use a new checkpoint directory, or delete this one to start over."
        )
    saved_start = header["params"]["params"].get("start")
    if saved_start is not None and saved_start != start:
        raise ValueError(
            f"The checkpoint in {os.fspath(directory)!r} was written with "
            f"start={saved_start!r}; this cleaner has start={start!r}. Resume "
            "with the same start, or use a new checkpoint directory."
        )


def restore_campaign(cleaner, header, arrays, directory):
    """Set the cleaner's fitted attributes from a checkpoint."""
    classes = arrays["classes"]
    if header["classes_object"]:
        classes = np.asarray(classes.tolist(), dtype=object)
    cleaner.classes_ = classes
    cleaner._seed = header["seed"]
    cleaner._fingerprint = header["fingerprint"]
    cleaner._input_is_paths = header["input_is_paths"]
    cleaner._y_noisy = arrays["y_noisy"].astype(np.intp)
    cleaner._labels = arrays["labels"].astype(np.intp)
    cleaner.initial_clean_mask_ = arrays["initial_clean"].astype(bool)
    cleaner.clean_mask_ = arrays["clean"].astype(bool)
    cleaner.relabeled_mask_ = arrays["relabeled"].astype(bool)
    cleaner.abstained_mask_ = arrays["abstained"].astype(bool)
    bounds = np.cumsum(arrays["queried_lengths"])[:-1]
    cleaner.queried_indices_ = (
        [q.astype(np.intp) for q in np.split(arrays["queried"], bounds)]
        if arrays["queried_lengths"].size
        else []
    )
    cleaner._log = {f: arrays[f"log_{f}"].tolist() for f in _LOG_FIELDS}
    cleaner.pending_indices_ = arrays["pending_indices"].astype(np.intp)
    cleaner._pending_scores = arrays["pending_scores"].astype(float)
    cleaner.history_ = header["history"]
    cleaner.budget_used_ = header["budget_used"]
    cleaner.n_rounds_ = header["n_rounds_done"]
    cleaner.termination_condition_ = header["termination_condition"]
    cleaner._needs_refit = header["needs_refit"]
    cleaner._estimator_file = header["estimator_file"]
    if cleaner._estimator_file is not None:
        cleaner.estimator_ = load_pickle(directory, cleaner._estimator_file)
    else:
        cleaner.estimator_ = cleaner._make_estimator()
    cleaner._classifier_version = cleaner._classifier_saved = header[
        "classifier_version"
    ]
    cleaner.classifier_ = None
    cleaner._classifier_file = None
    if header["classifier_file"] is not None:
        cleaner._classifier_file = (
            header["classifier_file"],
            header["classifier_format"],
        )
        cleaner.classifier_ = load_model(
            directory, *cleaner._classifier_file, cleaner._classifier_template()
        )
    cleaner._publish()


def load_cleaner(checkpoint, cleaner=None):
    """Restore a fitted :class:`~noisyactive.ActiveLabelCleaner` from its checkpoint.

    Use it to continue an ask/tell campaign in a new session: ``query`` the
    next samples, ``teach`` the expert's answers.

    Parameters
    ----------
    checkpoint : str or path-like
        The cleaner's ``checkpoint`` directory.
    cleaner : ActiveLabelCleaner, default=None
        A cleaner with the parameters of the campaign (it is cloned). When
        None, the cleaner is rebuilt from the parameters stored in the
        checkpoint as JSON; this fails with a clear error if a parameter
        (other than ``oracle``, which becomes None) was a lambda or another
        object that JSON cannot describe.

    Returns
    -------
    cleaner : ActiveLabelCleaner
        Fitted, with ``checkpoint`` set to the given directory when it was
        None.

    Notes
    -----
    The classifier's network weights are read with
    ``torch.load(..., weights_only=True)``, but other classifiers and the
    phase-1 estimator are pickles (joblib), and the stored parameters name
    classes to import: only load checkpoints from a source you trust.

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
    saved = read_state(checkpoint)
    if saved is None:
        raise FileNotFoundError(
            f"No ActiveLabelCleaner checkpoint in {os.fspath(checkpoint)!r} "
            f"(expected a file {STATE_FILE!r} there)."
        )
    header, arrays = saved
    if cleaner is None:
        cleaner = params_from_json(header["params"])
    else:
        cleaner = clone(cleaner)
    if cleaner.checkpoint is None:
        cleaner.set_params(checkpoint=os.fspath(checkpoint))
    restore_campaign(cleaner, header, arrays, checkpoint)
    if header["n_features_in"] is not None:
        cleaner.n_features_in_ = header["n_features_in"]
    return cleaner
