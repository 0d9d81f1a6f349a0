"""Active label cleaning ranking of Bernhardt et al. (2022)."""

import numpy as np

from noisyactive.query._base import (
    BaseQueryStrategy,
    _predict_candidate_proba,
    _top_n,
)
from noisyactive.query._scores import (
    AMBIGUITY_THRESHOLD,
    label_cleaning_ambiguity_scores,
    label_cleaning_scores,
)
from noisyactive.utils._param_validation import Interval, Real

__all__ = ["LabelCleaningSampling"]


def _encode_labels(classes, labels):
    """Column index of every label in ``classes`` (clear error if unknown)."""
    classes = np.asarray(classes)
    # classes_ is sorted for sklearn classifiers; the sorter keeps this correct
    # for any estimator whose classes_ is not.
    sorter = np.argsort(classes, kind="stable")
    try:
        pos = np.searchsorted(classes, labels, sorter=sorter)
    except TypeError as exc:
        raise TypeError(
            f"labels of dtype {np.asarray(labels).dtype} cannot be compared with "
            f"estimator.classes_ {classes.tolist()!r} ({exc})."
        ) from exc
    pos = np.minimum(pos, classes.shape[0] - 1)
    encoded = sorter[pos]
    unknown = classes[encoded] != labels
    if np.any(unknown):
        bad = np.unique(np.asarray(labels)[unknown])
        raise ValueError(
            f"labels contain value(s) {bad.tolist()[:10]!r} that are not in "
            f"estimator.classes_ {classes.tolist()!r}; the current labels of the "
            "candidates must be classes the estimator was fitted on."
        )
    return encoded


class LabelCleaningSampling(BaseQueryStrategy):
    """Query the candidates whose current label the model finds least plausible.

    With ``ambiguity=False`` the score is
    :func:`~noisyactive.query.label_cleaning_scores`, the cross-entropy
    ``-log p(y_current | x)`` between the posterior and the candidate's current
    label (nats). With ``ambiguity=True`` (the registry name
    ``"label_cleaning_ambiguity"``) it is Bernhardt et al.'s ranking,
    :func:`~noisyactive.query.label_cleaning_ambiguity_scores`:
    ``CE / log K - max(H(p) / log K - ambiguity_threshold, 0)``, which defers
    ambiguous samples (several annotators would be needed to settle them) in
    favour of samples that are confidently predicted as another class. Highest
    score first. Needs ``labels`` in :meth:`rank`; only the candidates' labels
    are used (and must be in ``estimator.classes_``).

    Parameters
    ----------
    ambiguity : bool, default=False
        Use Bernhardt et al.'s score with the ambiguity term.
    ambiguity_threshold : float in [0, 1], default=0.3
        Normalised posterior entropy below which the ambiguity term is 0 (the
        authors' value); used only with ``ambiguity=True``.

    See Also
    --------
    label_cleaning_scores, label_cleaning_ambiguity_scores, EntropySampling

    References
    ----------
    .. [1] Bernhardt, M., Castro, D. C., Tanno, R., et al. (2022). Active label
       cleaning for improved dataset quality under resource constraints.
       Nature Communications, 13, 1161.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.query import LabelCleaningSampling
    >>> X = np.array([[-3.0], [-2.0], [2.0], [3.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> noisy = np.array([0, 1, 1, 0])  # samples 1 and 3 carry a flipped label
    >>> LabelCleaningSampling().query(clf, X, np.arange(4), 2, labels=noisy)
    array([3, 1])
    >>> LabelCleaningSampling(ambiguity=True).query(
    ...     clf, X, np.arange(4), 2, labels=noisy)
    array([3, 1])
    """

    _parameter_constraints: dict = {
        "ambiguity": ["boolean"],
        "ambiguity_threshold": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, ambiguity=False, ambiguity_threshold=AMBIGUITY_THRESHOLD):
        self.ambiguity = ambiguity
        self.ambiguity_threshold = ambiguity_threshold

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        if labels is None:
            raise ValueError(
                "LabelCleaningSampling ranks samples by how implausible their "
                "current label is, so it needs labels=<current label vector of X>."
            )
        if not hasattr(estimator, "classes_"):
            raise TypeError(
                "LabelCleaningSampling needs a fitted classifier with classes_ to "
                f"map labels to predict_proba columns; {type(estimator).__name__} "
                "has none."
            )
        encoded = _encode_labels(estimator.classes_, labels[candidates])
        proba = _predict_candidate_proba(estimator, X, candidates)
        if proba.shape[1] != len(estimator.classes_):
            raise ValueError(
                f"estimator.predict_proba returned {proba.shape[1]} columns but "
                f"estimator.classes_ has {len(estimator.classes_)} classes."
            )
        if self.ambiguity:
            scores = label_cleaning_ambiguity_scores(
                proba, encoded, threshold=self.ambiguity_threshold
            )
        else:
            scores = label_cleaning_scores(proba, encoded)
        return _top_n(candidates, scores, n)
