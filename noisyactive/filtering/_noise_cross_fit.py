"""Out-of-sample probabilities by cross-fitting, and the noise estimate on them.

A network fitted on half of the noisy data and asked about the other half has
never seen those labels, so it cannot have memorised their noise (INCV, Chen et
al. 2019, cross-validates for the same reason).
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils import check_random_state

from noisyactive.filtering._noise_rate import estimate_noise

__all__ = ["cross_fit_predict_proba", "estimate_noise_cross_fit"]


def cross_fit_predict_proba(estimator, X, y, *, n_splits=2, random_state=None):
    """Out-of-sample probabilities: every sample predicted by a model that never
    saw it (stratified ``n_splits``-fold cross-fitting).

    Parameters
    ----------
    estimator : unfitted sklearn classifier with ``predict_proba``
        Cloned for every fold. Give it few enough epochs that it does not
        memorise the noisy labels of its half.
    X : array-like
    y : array-like of shape (n,)
        Noisy labels.
    n_splits : int, default=2
        Fewer than the smallest class's count is used when a class is tiny
        (at least 2).
    random_state : int, RandomState or None
        Seeds the folds.

    Returns
    -------
    pred_probs : ndarray of shape (n, k)
        Columns in the order of ``np.unique(y)``.
    """
    y = np.asarray(y)
    smallest = int(np.unique(y, return_counts=True)[1].min())
    n_splits = max(2, min(int(n_splits), smallest))
    cv = StratifiedKFold(
        n_splits,
        shuffle=True,
        random_state=check_random_state(random_state).randint(2**31 - 1),
    )
    with warnings.catch_warnings():
        # A class with fewer members than folds is warned about by sklearn;
        # its members are still predicted out of sample.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return cross_val_predict(clone(estimator), X, y, cv=cv, method="predict_proba")


def estimate_noise_cross_fit(
    estimator, X, y, *, n_repeats=3, n_splits=2, random_state=None, **kwargs
):
    """:func:`estimate_noise` on ``n_repeats`` independent cross-fits of
    ``estimator`` (different folds and seeds), with ``y`` in any label type.

    Parameters
    ----------
    estimator : unfitted sklearn classifier
        Cloned per fit; if it has a ``random_state`` parameter, every repeat
        gets its own seed.
    X, y : training data, ``y`` the noisy labels
    n_repeats : int, default=3
        Cross-fits; 2 or more enable the agreement correction.
    n_splits : int, default=2
    random_state : int, RandomState or None
    **kwargs
        Passed to :func:`estimate_noise`.

    Returns
    -------
    result : Bunch
        As :func:`estimate_noise`, plus ``classes`` (order of the per-class
        arrays) and ``pred_probs`` (shape ``(n_repeats, n, k)``).
    """
    rng = check_random_state(random_state)
    classes, y_enc = np.unique(np.asarray(y), return_inverse=True)
    probs = []
    for _ in range(int(n_repeats)):
        seed = int(rng.randint(2**31 - 1))
        est = clone(estimator)
        if "random_state" in est.get_params(deep=False):
            est.set_params(random_state=seed)
        probs.append(
            cross_fit_predict_proba(est, X, y_enc, n_splits=n_splits, random_state=seed)
        )
    kwargs.setdefault("random_state", int(rng.randint(2**31 - 1)))
    kwargs.setdefault("warn", True)
    warn = kwargs.pop("warn")
    result = estimate_noise(y_enc, np.stack(probs), warn=False, **kwargs)
    result.classes = classes
    result.pred_probs = np.stack(probs)
    if warn:
        for message in result.warnings:
            warnings.warn(message, UserWarning, stacklevel=2)
    return result
