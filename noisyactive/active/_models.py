"""The models of a restored campaign, built when first used, and their
saved predictions.

Restoring a campaign does not build its phase-1 estimator or load a network
classifier (both import torch, seconds before a command can start): each is
a :class:`Deferred` attribute of the campaign, built the first time it is
read. The classifier file is read and checked (checksum, declared sizes) at
once, so a damaged folder is refused as before; the network is built from
those very bytes when a refit or a prediction needs it. A scikit-learn
classifier (a ``.skops`` file) is loaded at once, its types checked as before.

What ``query``, ``teach`` and ``export`` need of the classifier is its class
probabilities of the training samples: they are computed once when it is
saved (:func:`remember_proba`) and kept in the state, so
:func:`model_proba` reads them without the model.
"""

import numpy as np

from noisyactive.active._audit import audited_params
from noisyactive.active._checks import training_data
from noisyactive.active._spec import load_model, read_model, user_types
from noisyactive.active._training import classifier_template, make_estimator

__all__ = [
    "Deferred",
    "expand_proba",
    "model_proba",
    "remember_proba",
    "restore_models",
    "saved_proba",
]


class Deferred:
    """An attribute whose value a loader computes the first time it is read
    (:meth:`defer` installs the loader; assigning a value drops it)."""

    def __set_name__(self, owner, name):
        self.name, self.key = name, f"_load_{name}"

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        values = vars(obj)
        loader = values.get(self.key)
        if loader is not None:  # dropped only once it succeeded
            values[self.name] = loader()
            del values[self.key]
        return values.get(self.name)

    def __set__(self, obj, value):
        vars(obj).pop(self.key, None)
        vars(obj)[self.name] = value

    @staticmethod
    def defer(obj, name, loader):
        vars(obj)[f"_load_{name}"] = loader

    @staticmethod
    def pending(obj, name):
        """Whether ``name`` is still to be built."""
        return f"_load_{name}" in vars(obj)


def restore_models(campaign):
    """Install the campaign's estimator and classifier as deferred
    attributes (the classifier file read and checked now)."""
    p, s = campaign.cleaner, campaign.state

    def estimator():
        built = make_estimator(p.estimator, s.seed)
        if s.refit_forget_rate is not None:  # refit after the audit
            built.set_params(**audited_params(s, built, s.refit_forget_rate))
        return built

    Deferred.defer(campaign, "estimator", estimator)
    campaign.classifier = None
    entry = s.model_files.get("classifier")
    if entry is None:
        return
    what = campaign.intact_note()
    blob = read_model(campaign.folder, *entry, what=what)

    def classifier():
        trusted = campaign.trusted + tuple(
            user_types(p.estimator, p.classifier, p.query_strategy)
        )
        template = classifier_template(p.classifier, campaign.estimator, s)
        return load_model(
            campaign.folder, *entry, template, trusted=trusted, what=what, blob=blob
        )

    Deferred.defer(campaign, "classifier", classifier)
    if entry[1] != "torch":  # scikit-learn: light, and its types checked now
        campaign.classifier  # noqa: B018 - builds it


def expand_proba(proba, sub_classes, classes):
    """Put the columns of ``proba`` (over ``sub_classes``) into ``classes``.

    A classifier trained on a clean part that lacks some classes predicts
    only the classes it saw; the missing ones get probability 0.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._models import expand_proba
    >>> expand_proba(np.array([[0.25, 0.75]]), np.array([0, 2]), np.array([0, 1, 2]))
    array([[0.25, 0.  , 0.75]])
    """
    proba = np.asarray(proba)
    sub_classes = np.asarray(sub_classes)
    if sub_classes.shape[0] == classes.shape[0] and np.array_equal(
        sub_classes, classes
    ):
        return proba
    cols = np.searchsorted(classes, sub_classes)
    cols = np.clip(cols, 0, classes.shape[0] - 1)
    if not np.array_equal(classes[cols], sub_classes):
        raise ValueError(
            f"The classifier predicts classes {sub_classes.tolist()} that are not "
            f"all among the cleaner's classes {classes.tolist()}."
        )
    out = np.zeros((proba.shape[0], classes.shape[0]), dtype=proba.dtype)
    out[:, cols] = proba
    return out


def remember_proba(campaign, X):
    """Keep the current classifier's class probabilities of every training
    sample in the state (checkpointed campaigns only: the saved ones are
    what a later session reads without the model)."""
    s, clf = campaign.state, campaign.classifier
    if campaign.folder is None or clf is None or not hasattr(clf, "predict_proba"):
        return
    if s.proba_version == s.classifier_version or X is None:
        return
    s.proba = _expanded(clf, X, s.classes)
    s.proba_version = s.classifier_version
    campaign.save()


def _expanded(clf, X, classes):
    return expand_proba(clf.predict_proba(X), clf.classes_, classes)


def saved_proba(campaign):
    """The saved probabilities when they belong to the current classifier
    (None otherwise: use the model). Loaded or not, the model would give the
    same numbers: they were computed from it on these samples when it was
    saved, so a checkpointed round predicts once, not twice."""
    s = campaign.state
    fresh = s.proba_version == s.classifier_version and s.proba_version > 0
    if not fresh or s.proba.shape != (s.labels.shape[0], s.classes.shape[0]):
        return None
    return s.proba


def model_proba(campaign, X, rows=None):
    """The current classifier's class probabilities (columns in ``classes``
    order) of the training samples ``rows`` (all by default): the saved ones
    while the classifier is not loaded, else its predictions on ``X`` (the
    training data as given: None for file paths). None without a
    classifier with ``predict_proba``, or without the data to predict on."""
    saved = saved_proba(campaign)
    if saved is not None:
        return saved if rows is None else saved[np.asarray(rows, dtype=np.intp)]
    s, clf = campaign.state, campaign.classifier
    if clf is None or not hasattr(clf, "predict_proba"):
        return None
    if X is None and s.input_paths is None:
        return None
    X = training_data(campaign, X)
    return _expanded(clf, X if rows is None else X[rows], s.classes)
