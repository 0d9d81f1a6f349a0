"""Uncertainty sampling: entropy, margin and least-confidence strategies.

Each strategy calls ``predict_proba`` on the candidates only, scores them with
the pure function of the same name in :mod:`noisyactive.query._scores` and
returns the highest scores first.

References
----------
.. [1] Settles, B. (2009). Active Learning Literature Survey. University of
   Wisconsin-Madison, Computer Sciences Technical Report 1648.
"""

from noisyactive.query._base import (
    BaseQueryStrategy,
    _predict_candidate_proba,
    _top_n,
)
from noisyactive.query._scores import (
    entropy_scores,
    least_confidence_scores,
    margin_scores,
)

__all__ = ["EntropySampling", "MarginSampling", "LeastConfidenceSampling"]


class _ProbaScoreSampling(BaseQueryStrategy):
    """Rank candidates by a score computed from their predicted probabilities."""

    @staticmethod
    def _score(proba):
        raise NotImplementedError  # pragma: no cover

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        proba = _predict_candidate_proba(estimator, X, candidates)
        return _top_n(candidates, self._score(proba), n)


class EntropySampling(_ProbaScoreSampling):
    """Query the candidates whose predicted class distribution has most entropy.

    Scores are :func:`~noisyactive.query.entropy_scores` (nats) of
    ``estimator.predict_proba(X[candidates])``. Ties keep candidate order.

    See Also
    --------
    MarginSampling, LeastConfidenceSampling, entropy_scores

    References
    ----------
    .. [1] Settles, B. (2009). Active Learning Literature Survey. University of
       Wisconsin-Madison, Computer Sciences Technical Report 1648.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.query import EntropySampling
    >>> X = np.array([[-3.0], [-2.0], [0.5], [3.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> EntropySampling().query(clf, X, np.arange(4), 2)
    array([2, 1])
    """

    @staticmethod
    def _score(proba):
        return entropy_scores(proba)


class MarginSampling(_ProbaScoreSampling):
    """Query the candidates with the smallest margin between the top two classes.

    Scores are :func:`~noisyactive.query.margin_scores`, ``1 - (p1 - p2)``, so
    higher means more uncertain. Ties keep candidate order.

    See Also
    --------
    EntropySampling, LeastConfidenceSampling, margin_scores

    References
    ----------
    .. [1] Scheffer, T., Decomain, C., & Wrobel, S. (2001). Active hidden Markov
       models for information extraction. IDA.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.query import MarginSampling
    >>> X = np.array([[-3.0], [-2.0], [0.5], [3.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> MarginSampling().query(clf, X, np.arange(4), 2)
    array([2, 1])
    """

    @staticmethod
    def _score(proba):
        return margin_scores(proba)


class LeastConfidenceSampling(_ProbaScoreSampling):
    """Query the candidates whose most probable class is least probable.

    Scores are :func:`~noisyactive.query.least_confidence_scores`,
    ``1 - max_k p_k``. Ties keep candidate order.

    See Also
    --------
    EntropySampling, MarginSampling, least_confidence_scores

    References
    ----------
    .. [1] Lewis, D. D., & Gale, W. A. (1994). A sequential algorithm for
       training text classifiers. SIGIR.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.query import LeastConfidenceSampling
    >>> X = np.array([[-3.0], [-2.0], [0.5], [3.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> LeastConfidenceSampling().query(clf, X, np.arange(4), 2)
    array([2, 1])
    """

    @staticmethod
    def _score(proba):
        return least_confidence_scores(proba)
