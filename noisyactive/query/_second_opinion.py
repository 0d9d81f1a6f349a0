"""Second opinions: a new label, or one more label on an answered sample?

ActiveLab-style (Goh & Mueller, 2023): every candidate gets a quality score,
the estimated probability that its current label (its consensus) is right,
and the lowest quality is asked first. A sample with answers weighs the
model's probability of its consensus against its annotators' agreement, each
answer counting as much as an average annotator's accuracy; a sample without
answers weighs the model's confidence against a guess (``1 / n_classes``).
So a sample on which the annotators disagree, or whose consensus the model
doubts, can win over a new sample, and one more answer raises its quality.
"""

import numpy as np

from noisyactive.query._base import (
    BaseQueryStrategy,
    _predict_candidate_proba,
    _top_n,
)

__all__ = ["SecondOpinionSampling", "second_opinion_scores"]


def second_opinion_scores(
    proba, n_answers, agreement, consensus, *, annotator_weight=1.0, model_weight=1.0
):
    """``1 - quality`` of each candidate (higher: asked first).

    Parameters
    ----------
    proba : ndarray of shape (n, n_classes)
        The model's probabilities of the candidates.
    n_answers : ndarray of int of shape (n,)
    agreement : ndarray of shape (n,)
        Share of the answers agreeing with the consensus (NaN: no answer).
    consensus : ndarray of int of shape (n,)
        Consensus positions (-1: open; then the model's class is used).

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.query import second_opinion_scores
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4]])
    >>> second_opinion_scores(proba, np.array([2, 1, 0]),
    ...                       np.array([0.5, 1.0, np.nan]), np.array([1, 0, -1]))
    array([0.63333333, 0.05      , 0.45      ])
    """
    proba = np.asarray(proba, dtype=float)
    n, k = proba.shape
    n_answers = np.asarray(n_answers, dtype=float)
    consensus = np.asarray(consensus, dtype=np.intp)
    target = np.where(consensus >= 0, consensus, proba.argmax(axis=1))
    p_model = proba[np.arange(n), target]
    wa, wm = float(annotator_weight), float(model_weight)
    agree = np.nan_to_num(np.asarray(agreement, dtype=float))
    answered = (wm * p_model + wa * n_answers * agree) / (wm + wa * n_answers)
    fresh = (wm * proba.max(axis=1) + wa / k) / (wm + wa)
    return 1.0 - np.where(n_answers > 0, answered, fresh)


class SecondOpinionSampling(BaseQueryStrategy):
    """Ask for a new label or a second opinion, whichever is worth more.

    With several annotators (``ActiveLabelCleaner(oracle={...})`` or
    ``max_answers_per_sample``) the cleaner offers answered samples too and
    calls :meth:`rank_with_answers`; plain :meth:`rank` treats every
    candidate as unanswered. Scores: :func:`second_opinion_scores`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.query import SecondOpinionSampling
    >>> X = np.array([[-3.0], [-2.0], [0.5], [3.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> SecondOpinionSampling().rank_with_answers(
    ...     clf, X, np.arange(4), 1, n_answers=np.array([0, 2, 0, 0]),
    ...     agreement=np.array([np.nan, 0.5, np.nan, np.nan]),
    ...     consensus=np.array([-1, 1, -1, -1]))[0]
    array([1])
    """

    second_opinion = True  # the cleaner offers answered samples too
    _parameter_constraints: dict = {}

    def rank_with_answers(
        self,
        estimator,
        X,
        candidates,
        n,
        *,
        n_answers,
        agreement,
        consensus,
        annotator_weight=1.0,
        **kwargs,
    ):
        """:meth:`rank` with the answers so far (arrays over all of ``X``)."""
        self._answers = (n_answers, agreement, consensus, annotator_weight)
        try:
            return self.rank(estimator, X, candidates, n, **kwargs)
        finally:
            del self._answers

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        proba = _predict_candidate_proba(estimator, X, candidates)
        size = candidates.size
        n_answers, agreement, consensus, weight = getattr(
            self,
            "_answers",
            (np.zeros(size, int), np.full(size, np.nan), np.full(size, -1), 1.0),
        )
        if getattr(self, "_answers", None) is not None:
            n_answers, agreement = n_answers[candidates], agreement[candidates]
            consensus = consensus[candidates]
        scores = second_opinion_scores(
            proba, n_answers, agreement, consensus, annotator_weight=weight
        )
        return _top_n(candidates, scores, n)
