"""Functions of the cleaner that ``ActiveLabelCleaner`` names as its
methods: restoring from a checkpoint (``from_checkpoint``) and prediction with
its classifier (``predict``, ``predict_proba``, ``decision_function``)."""

import os

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from noisyactive.active._campaign import Campaign
from noisyactive.active._checks import (
    check_input,
    cleaner_from_header,
    read_checkpoint,
)
from noisyactive.active._files import disk_mark
from noisyactive.active._ranking import expand_proba

__all__ = [
    "decision_function",
    "fitted_classifier",
    "from_checkpoint",
    "predict",
    "predict_proba",
]


def from_checkpoint(
    cls,
    checkpoint,
    cleaner=None,
    *,
    estimator=None,
    classifier=None,
    trusted=(),
    labels_only=False,
    lazy=False,
):
    """A fitted cleaner restored from its checkpoint folder
    (:func:`load_cleaner` says more); ``cls`` when ``cleaner`` is None
    and the folder names this class.

    With ``lazy=True`` the stored estimators are checked by name and built
    when first used (the command line's ``query``, ``teach`` and ``export``
    then start without importing torch); the model files are checked at once.
    """
    seen = disk_mark(checkpoint)  # before reading: a writer in between is noticed
    state, header = read_checkpoint(checkpoint)
    if cleaner is None:
        cleaner = cleaner_from_header(
            header,
            estimator=estimator,
            classifier=classifier,
            trusted=trusted,
            lazy=lazy,
        )
    else:
        cleaner = clone(cleaner)
    cleaner.checkpoint = os.fspath(checkpoint)  # set_params would build them all
    cleaner.classes_ = state.classes
    if state.n_features_in is not None:
        cleaner.n_features_in_ = state.n_features_in
    cleaner.campaign_ = Campaign.load(
        cleaner, state, trusted=trusted, disk_seen=seen, labels_only=labels_only
    )
    return cleaner


def fitted_classifier(self, X):
    check_is_fitted(self)
    X = check_input(self, X, input_is_paths=self.campaign_.state.input_is_paths)
    if self.classifier_ is None:
        raise NotFittedError(
            "ActiveLabelCleaner has no classifier yet: no clean part with at "
            "least two classes existed so far (start='none' trains nothing "
            "before the first answers). Relabel samples first (an oracle in "
            "fit, or query/teach)."
        )
    return X


def predict(self, X):
    """Predict classes with ``classifier_``."""
    X = fitted_classifier(self, X)
    return self.classifier_.predict(X)


def predict_proba(self, X):
    """Class probabilities, one column per ``classes_`` (0 for classes the
    classifier never saw in the clean part)."""
    X = fitted_classifier(self, X)
    proba = self.classifier_.predict_proba(X)
    return expand_proba(proba, self.classifier_.classes_, self.classes_)


def decision_function(self, X):
    """``classifier_.decision_function`` (when it knows every class)."""
    X = fitted_classifier(self, X)
    if not np.array_equal(self.classifier_.classes_, self.classes_):
        raise ValueError(
            "decision_function is undefined while the classifier has not "
            "seen every class; use predict_proba."
        )
    return self.classifier_.decision_function(X)
