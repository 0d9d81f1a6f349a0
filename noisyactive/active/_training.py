"""Training in a campaign: the phase-1 estimator, the classifier and its
refits, seeding, fitting with validation data, the phase-1 noise rates and
the validation macro-F1."""

import contextlib
import copy
import inspect
import sys

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score

from noisyactive.active._state import derived_seed

__all__ = [
    "classifier_template",
    "fit_maybe_with_validation",
    "macro_f1",
    "make_estimator",
    "phase1_mask",
    "phase1_rates",
    "seed_if_unset",
    "torch_seeded",
    "train_classifier",
]


def seed_if_unset(estimator, seed):
    # A sub-estimator left at random_state=None would make two runs (or a run
    # and its resumption) differ; the cleaner's seed decides instead.
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=seed)
    return estimator


def fit_maybe_with_validation(estimator, X, y, validation):
    accepts = "X_val" in inspect.signature(estimator.fit).parameters
    if validation is not None and accepts:
        return estimator.fit(X, y, X_val=validation[0], y_val=validation[1])
    return estimator.fit(X, y)


@contextlib.contextmanager
def torch_seeded(seed):
    """Global torch RNG (dropout) seeded per training, then put back."""
    if "torch" not in sys.modules:
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def phase1_rates(estimator, classes):
    rates = getattr(estimator, "class_noise_rates_", None)
    if rates is not None and len(rates) == len(classes):
        return [float(r) for r in rates]
    rate = getattr(estimator, "forget_rate_", None)
    return None if rate is None else [float(rate)] * len(classes)


def macro_f1(classifier, validation):
    pred = classifier.predict(validation[0])
    return float(f1_score(validation[1], pred, average="macro", zero_division=0))


def make_estimator(estimator, seed):
    """The phase-1 estimator: a clone of ``estimator`` (None:
    ``NoisyLabelFilter()``), seeded from the campaign's ``seed``."""
    if estimator is None:
        from noisyactive.filtering import NoisyLabelFilter

        estimator = NoisyLabelFilter()
    else:
        estimator = clone(estimator)
    return seed_if_unset(estimator, derived_seed(seed, 0, 1))


def classifier_template(classifier, estimator, state):
    """An unfitted classifier: a clone of ``classifier``, else the phase-1
    network family (``estimator._make_classifier()``), else ``NetClassifier``."""
    if classifier is not None:
        template = clone(classifier)
    elif hasattr(estimator, "_make_classifier"):
        template = estimator._make_classifier()
    else:
        from noisyactive.classifiers import NetClassifier

        template = NetClassifier()
    return seed_if_unset(template, derived_seed(state.seed, 0, 2))


def phase1_mask(estimator, n_samples):
    """The fitted phase-1 estimator's ``clean_mask_``, checked."""
    mask = getattr(estimator, "clean_mask_", None)
    if mask is None:
        raise ValueError(
            f"start='filter' needs a phase-1 estimator that sets clean_mask_ "
            f"in fit (such as NoisyLabelFilter); {type(estimator).__name__} does "
            "not. Use start='noisy' (train on all noisy labels first) or "
            "start='none' (start from nothing)."
        )
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (n_samples,):
        raise ValueError(
            f"The phase-1 estimator's clean_mask_ must be a boolean array of "
            f"shape ({n_samples},); got {mask.dtype} of shape {mask.shape}."
        )
    return mask.copy()


def train_classifier(campaign, X, validation, *, scratch):
    """The campaign's classifier fitted (or fine-tuned) on its training part;
    the current one (possibly None) when it cannot be fit.

    The training part is the clean part, or every sample with its current
    label for ``start="noisy"`` (CE + AL, the paper's baseline: training on
    the relabeled few alone forgets the noisy training).
    """
    s, p, clf = campaign.state, campaign.cleaner, campaign.classifier
    mask = np.ones_like(s.clean) if p.start == "noisy" else s.clean
    idx = np.flatnonzero(mask)
    y_train = s.classes[s.labels[idx]]
    present = np.unique(y_train)
    seed = derived_seed(s.seed, s.classifier_version, 3)
    if idx.size == 0:
        return clf
    if (
        not scratch
        and clf is not None
        and hasattr(clf, "partial_fit")
        and np.isin(present, clf.classes_).all()
    ):
        best = -np.inf
        with torch_seeded(seed):
            for _ in range(p.refit_epochs):
                clf.partial_fit(X[idx], y_train)
                if validation is not None:  # keep the best-validation epoch
                    score = macro_f1(clf, validation)
                    if score > best:
                        best, kept = score, copy.deepcopy(clf)
        if validation is not None:
            clf = kept
    elif present.size < 2:
        return clf  # a classifier cannot be fit on one class; keep the old
    else:
        clf = classifier_template(p.classifier, campaign.estimator, s)
        with torch_seeded(seed):
            fit_maybe_with_validation(clf, X[idx], y_train, validation)
    s.classifier_version += 1
    return clf
