"""Pure scoring functions of the probability-based query strategies.

Every function maps an ``(n_samples, n_classes)`` matrix of predicted class
probabilities to one float per sample, oriented so that **higher means
"query earlier"**. The strategies in this package only sort these scores; the
arithmetic lives here so that it can be tested on tiny exact arrays.

References
----------
.. [1] Settles, B. (2009). Active Learning Literature Survey. University of
   Wisconsin-Madison, Computer Sciences Technical Report 1648.
.. [2] Bernhardt, M., Castro, D. C., Tanno, R., et al. (2022). Active label
   cleaning for improved dataset quality under resource constraints. Nature
   Communications, 13, 1161.
"""

import numpy as np
from scipy.special import entr

from noisyactive.utils._validation import check_float_array

__all__ = [
    "entropy_scores",
    "margin_scores",
    "least_confidence_scores",
    "label_cleaning_scores",
    "label_cleaning_ambiguity_scores",
]
# Bernhardt et al.'s ambiguity threshold: posteriors whose normalised entropy is
# below it count as unambiguous (InnerEye-DataQuality, decision rule JOINT).
AMBIGUITY_THRESHOLD = 0.3

# Probabilities are allowed to overshoot 1 by rounding (float32 softmax outputs).
_PROBA_TOLERANCE = 1e-6
# -log(0) is infinite; the smallest positive float keeps the score finite
# (about 708.4) while still ranking an impossible label above every possible one.
_TINY = np.finfo(np.float64).tiny


def _check_proba(proba, name="proba"):
    """Return ``proba`` as a validated 2-D float64 array of probabilities."""
    arr = check_float_array(
        proba,
        name=name,
        min_columns=1,
        keep_float32=False,
        shape_hint="(n_samples, n_classes)",
    )
    if arr.size and (arr.min() < 0 or arr.max() > 1 + _PROBA_TOLERANCE):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; got values in "
            f"[{arr.min():.4g}, {arr.max():.4g}]. Pass predict_proba output, "
            "not logits or decision_function scores."
        )
    return arr


def entropy_scores(proba):
    """Shannon entropy of each row, in nats (higher = more uncertain).

    ``H(p) = -sum_k p_k log p_k`` with ``0 log 0 = 0``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Entropy per sample; 0 for a one-hot row, ``log(n_classes)`` for a
        uniform row.

    Examples
    --------
    >>> from noisyactive.query import entropy_scores
    >>> entropy_scores([[1.0, 0.0], [0.5, 0.5]]).round(4)
    array([0.    , 0.6931])
    """
    proba = _check_proba(proba)
    # scipy's entr defines 0*log(0) = 0 without a warning.
    return entr(proba).sum(axis=1)


def margin_scores(proba):
    """One minus the margin between the two most probable classes.

    ``1 - (p_(1) - p_(2))`` where ``p_(1) >= p_(2)`` are the two largest
    probabilities of the row, so that a small margin (an uncertain sample)
    gets a high score. With a single class ``p_(2) = 0``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Scores in [0, 1]; 1 when the two top classes tie.

    Examples
    --------
    >>> from noisyactive.query import margin_scores
    >>> margin_scores([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]])
    array([0.5, 1. ])
    """
    proba = _check_proba(proba)
    if proba.shape[1] == 1:
        return 1.0 - proba[:, 0]
    # A partial sort is O(n_classes) per row instead of a full sort.
    top2 = np.partition(proba, -2, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def least_confidence_scores(proba):
    """One minus the largest class probability (higher = less confident).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        ``1 - max_k p_k`` per sample.

    Examples
    --------
    >>> from noisyactive.query import least_confidence_scores
    >>> least_confidence_scores([[0.9, 0.1], [0.6, 0.4]])
    array([0.1, 0.4])
    """
    proba = _check_proba(proba)
    return 1.0 - proba.max(axis=1)


def _encoded_label_proba(proba, labels_encoded):
    """``proba[i, labels_encoded[i]]`` with the label vector checked."""
    labels = np.asarray(labels_encoded)
    if labels.ndim != 1 or labels.shape[0] != proba.shape[0]:
        raise ValueError(
            "labels_encoded must be 1-D with one label per row of proba; got "
            f"shape {labels.shape} for proba of shape {proba.shape}."
        )
    if labels.size and labels.dtype.kind not in "iu":
        raise TypeError(
            "labels_encoded must hold integer column indices into proba; got "
            f"dtype {labels.dtype}. Encode labels with "
            "np.searchsorted(estimator.classes_, labels) first."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= proba.shape[1]):
        raise ValueError(
            f"labels_encoded must be in [0, {proba.shape[1]}) (one column per "
            f"class); got values in [{labels.min()}, {labels.max()}]."
        )
    return proba[np.arange(proba.shape[0]), labels]


def label_cleaning_scores(proba, labels_encoded):
    """Cross-entropy of the current label, ``-log p(y_current | x)``, in nats.

    A label the model finds implausible is likely wrong and is queried first
    (the "label correctness" term of Bernhardt et al. 2022).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.
    labels_encoded : array-like of int of shape (n_samples,)
        Current label of each sample as a column index into ``proba``.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        ``-log p(y|x)``. A probability of exactly 0 is clipped to the smallest
        positive float64, so the score stays finite (about 708.4).

    See Also
    --------
    label_cleaning_ambiguity_scores : the same with Bernhardt et al.'s
        ambiguity term.

    References
    ----------
    .. [1] Bernhardt, M., Castro, D. C., Tanno, R., et al. (2022). Active label
       cleaning for improved dataset quality under resource constraints.
       Nature Communications, 13, 1161.

    Examples
    --------
    >>> from noisyactive.query import label_cleaning_scores
    >>> label_cleaning_scores([[0.9, 0.1], [0.5, 0.5]], [1, 1]).round(4)
    array([2.3026, 0.6931])
    """
    proba = _check_proba(proba)
    p_label = _encoded_label_proba(proba, labels_encoded)
    return -np.log(np.maximum(p_label, _TINY))


def label_cleaning_ambiguity_scores(
    proba, labels_encoded, *, threshold=AMBIGUITY_THRESHOLD
):
    """Bernhardt et al.'s relabeling priority with the ambiguity term.

    ``CE(p, y) / log K - max(H(p) / log K - threshold, 0)``, where ``CE(p, y) =
    -log p(y_current | x)`` (label correctness), ``H(p)`` the entropy of the
    posterior (labelling difficulty) and ``K`` the number of classes, both
    terms divided by ``log K`` so they lie in [0, 1] (CE up to its clip).
    Among samples whose label looks equally wrong, one whose posterior is
    confident about another class is cheap to fix with one annotation, while
    an ambiguous one would need several annotators, so it is deferred; below
    the threshold the entropy does not count. This is the decision rule
    ``JOINT`` of the authors' ``PosteriorBasedSelector`` (InnerEye-DataQuality),
    which uses ``threshold = 0.3``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.
    labels_encoded : array-like of int of shape (n_samples,)
        Current label of each sample as a column index into ``proba``.
    threshold : float, default=0.3
        Normalised entropy below which a posterior counts as unambiguous.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Higher = query earlier. With one class (``log K = 0``) every score is
        0: there is nothing to relabel. A probability of exactly 0 is clipped
        to the smallest positive float64 (the authors add 1e-12 instead; only
        labels the model gives below about 1e-12 rank differently).

    See Also
    --------
    label_cleaning_scores : the cross-entropy term alone, in nats.

    References
    ----------
    .. [1] Bernhardt, M., Castro, D. C., Tanno, R., et al. (2022). Active label
       cleaning for improved dataset quality under resource constraints.
       Nature Communications, 13, 1161.

    Examples
    --------
    A confidently wrong label (first row) outranks an ambiguous one (second):

    >>> from noisyactive.query import label_cleaning_ambiguity_scores
    >>> proba = [[0.9, 0.1], [0.5, 0.5]]
    >>> label_cleaning_ambiguity_scores(proba, [1, 1]).round(4)
    array([3.1529, 0.3   ])
    """
    proba = _check_proba(proba)
    p_label = _encoded_label_proba(proba, labels_encoded)
    if proba.shape[1] < 2:
        return np.zeros(proba.shape[0])
    log_k = np.log(proba.shape[1])
    correctness = -np.log(np.maximum(p_label, _TINY)) / log_k
    ambiguity = entr(proba).sum(axis=1) / log_k
    return correctness - np.maximum(ambiguity - threshold, 0.0)
