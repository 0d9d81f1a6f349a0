"""Out-of-sample probabilities by cross-fitting, and the noise estimate on them.

A network fitted on half of the noisy data and asked about the other half has
never seen those labels, so it cannot have memorised their noise (INCV, Chen et
al. 2019, cross-validates for the same reason).
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils import check_random_state

from noisyactive.filtering._noise_rate import estimate_noise
from noisyactive.utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    validate_params,
)

__all__ = [
    "CrossFitNoiseEstimator",
    "cross_fit_predict_proba",
    "estimate_noise_cross_fit",
]

#: The fewest samples of a class that a stratified cross-fit can predict out of
#: sample (one in each of two folds).
MIN_CLASS_COUNT = 2


def classes_too_small_to_cross_fit(y):
    """The labels with fewer than 2 samples, and their counts.

    A stratified cross-fit needs every class in at least two folds.

    Examples
    --------
    >>> labels, counts = classes_too_small_to_cross_fit(["a", "a", "b", "c", "c"])
    >>> labels.tolist(), counts.tolist()
    (['b'], [1])
    """
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    small = counts < MIN_CLASS_COUNT
    return labels[small], counts[small]


def _check_class_counts(y):
    labels, counts = classes_too_small_to_cross_fit(y)
    if labels.size:
        pairs = ", ".join(
            f"{c!r} ({n})" for c, n in zip(labels[:10].tolist(), counts[:10].tolist())
        )
        raise ValueError(
            f"A cross-fit needs at least {MIN_CLASS_COUNT} samples of every class; "
            f"these classes have fewer: {pairs}."
        )


_CROSS_FIT_PARAMS = {
    "estimator": [HasMethods(["fit", "predict_proba"])],
    "X": ["array-like"],
    "y": ["array-like"],
    "n_splits": [Interval(Integral, 2, None, closed="left")],
    "random_state": ["random_state"],
}


@validate_params(_CROSS_FIT_PARAMS, prefer_skip_nested_validation=True)
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

    Raises
    ------
    ValueError
        Naming every class with fewer than 2 samples.
    """
    y = np.asarray(y)
    _check_class_counts(y)
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


@validate_params(
    {**_CROSS_FIT_PARAMS, "n_repeats": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
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
    _check_class_counts(y)
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


class CrossFitNoiseEstimator(BaseEstimator):
    """The noise estimate of ``forget_rate="auto"`` as an object: pass it (or your
    own object with an ``estimate(X, y)`` method) as
    :class:`~noisyactive.NoisyLabelFilter`'s ``noise_estimator``.

    ``noise_estimator="cross_fit"`` is this estimator with the filter's own
    network (a :class:`~noisyactive.NetClassifier` at half of ``max_epochs``);
    this class lets another classifier do the cross-fits, e.g. a
    ``LogisticRegression`` on features.

    Parameters
    ----------
    estimator : unfitted sklearn classifier with ``predict_proba``
    n_repeats : int, default=3
    n_splits : int, default=2
    random_state : int, RandomState or None, default=None

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.datasets import inject_label_noise
    >>> X, y = make_classification(400, 8, n_informative=6, random_state=0)
    >>> y_noisy = inject_label_noise(y, 0.2, random_state=0)
    >>> est = CrossFitNoiseEstimator(LogisticRegression(), random_state=0)
    >>> result = est.estimate(X, y_noisy)
    >>> sorted(k for k in ("rate", "rate_std", "transition", "warnings") if k in result)
    ['rate', 'rate_std', 'transition', 'warnings']
    """

    def __init__(self, estimator, *, n_repeats=3, n_splits=2, random_state=None):
        self.estimator = estimator
        self.n_repeats = n_repeats
        self.n_splits = n_splits
        self.random_state = random_state

    def estimate(self, X, y):
        """:func:`estimate_noise_cross_fit` of ``estimator`` on (X, noisy y);
        its warnings are listed in the result, not emitted."""
        return estimate_noise_cross_fit(
            self.estimator,
            X,
            y,
            n_repeats=self.n_repeats,
            n_splits=self.n_splits,
            random_state=self.random_state,
            warn=False,
        )
