"""Choosing whom to ask: the strategy's ranking, audits of kept samples.

Pure functions of a fitted classifier and arrays, tested on tiny inputs.
"""

import numpy as np

from noisyactive.active._annotators import (
    askable,
    consensus_fit,
    record_model_votes,
    several,
)
from noisyactive.active._audit_state import audit_batch
from noisyactive.active._models import (  # noqa: F401 - expand_proba re-exported
    expand_proba,
    saved_proba,
)
from noisyactive.active._state import derived_seed
from noisyactive.query import (
    EntropySampling,
    LabelCleaningSampling,
    LeastConfidenceSampling,
    MarginSampling,
    RandomSampling,
    get_query_strategy,
)
from noisyactive.query._base import check_ranking

# Strategies that read nothing of the classifier but ``classes_`` and
# ``predict_proba`` of training rows: they rank from the saved probabilities.
_PROBA_ONLY = (
    EntropySampling,
    MarginSampling,
    LeastConfidenceSampling,
    LabelCleaningSampling,
    RandomSampling,
)

__all__ = [
    "expand_proba",
    "FullClassView",
    "random_ranking",
    "suspicion_ranking",
    "next_batch",
]


class FullClassView:
    """A fitted classifier seen through the cleaner's full ``classes_``.

    Query strategies read ``classes_`` and ``predict_proba``; everything else
    (``embed``, ``predict``...) is the classifier's own.
    """

    def __init__(self, classifier, classes):
        self.classifier = classifier
        self.classes_ = classes

    def predict_proba(self, X):
        proba = self.classifier.predict_proba(X)
        return expand_proba(proba, self.classifier.classes_, self.classes_)

    def __getattr__(self, name):
        if name == "classifier":  # not set yet (unpickling); avoid recursion
            raise AttributeError(name)
        return getattr(self.classifier, name)


class SavedProba:
    """The classifier as its saved probabilities of the training samples:
    ``predict_proba(rows)`` takes sample indices (the ``X`` it is used with
    is ``np.arange(n_samples)``)."""

    def __init__(self, proba, classes):
        self.proba, self.classes_ = proba, classes

    def predict_proba(self, rows):
        return self.proba[np.asarray(rows, dtype=np.intp)]


def _scoring_model(campaign, X, strategy):
    """``(model, X)`` for ranking: the saved probabilities when the strategy
    needs no more and the classifier is not loaded, else the classifier."""
    s = campaign.state
    saved = saved_proba(campaign)
    if saved is not None and type(strategy) in _PROBA_ONLY:
        return SavedProba(saved, s.classes), np.arange(s.labels.shape[0])
    model = campaign.classifier
    if model is not None and not np.array_equal(model.classes_, s.classes):
        model = FullClassView(model, s.classes)
    return model, X


def random_ranking(candidates, n, seed):
    """``n`` candidates drawn uniformly without replacement, scores NaN."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.asarray(candidates), size=n, replace=False)
    return chosen.astype(np.intp), np.full(n, np.nan)


def suspicion_ranking(proba, labels, candidates, n):
    """The ``n`` candidates whose current label is least probable, first.

    ``proba`` are the classifier's probabilities over all classes for the
    candidates, ``labels`` their current labels (encoded). The score is
    ``1 - p(label)``.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._ranking import suspicion_ranking
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> suspicion_ranking(proba, np.array([0, 0, 0]), np.array([5, 6, 7]), 2)
    (array([6, 7]), array([0.8, 0.4]))
    """
    candidates = np.asarray(candidates, dtype=np.intp)
    p_label = np.asarray(proba)[np.arange(candidates.size), np.asarray(labels)]
    order = np.argsort(p_label, kind="stable")[:n]
    return candidates[order], 1.0 - p_label[order]


def next_batch(campaign, X, n):
    """Indices (and scores) of the campaign's next ``n`` questions: the
    strategy's ranking of the candidates plus ``audit_share`` of kept samples
    (at random while no classifier exists); while the audit is open, its
    unanswered samples, all of them."""
    s, params = campaign.state, campaign.cleaner
    if s.audit_open:  # the audit first, whole
        return audit_batch(s)
    round_ = s.n_rounds + 1
    seed = derived_seed(s.seed, round_)
    audit = s.audit_candidates()
    n_audit = min(int(round(params.audit_share * n)), audit.size)
    strategy = get_query_strategy(params.query_strategy)
    second = bool(getattr(strategy, "second_opinion", False))
    candidates = s.candidates()
    if several(params, s):  # answered samples may want more answers
        candidates = askable(s, params, second_opinion=second)
    n_main = min(n - n_audit, candidates.size)
    model, X = _scoring_model(campaign, X, strategy)
    parts = []
    if n_main > 0 and model is None:
        parts.append(random_ranking(candidates, n_main, seed))
    elif n_main > 0:
        rank, extra = strategy.rank, {}
        if second:  # ActiveLab-style: the answers so far weigh in
            rank, extra = strategy.rank_with_answers, answer_summary(s)
        indices, scores = rank(
            model,
            X,
            candidates,
            n_main,
            labels=s.classes[s.labels],
            labeled_mask=s.clean,
            random_state=seed,
            **extra,
        )
        who = f"query strategy {type(strategy).__name__} (round {round_})"
        checked = check_ranking(
            indices, scores, candidates, n_main, who=who, min_count=1
        )
        parts.append(checked)
    if n_audit > 0 and model is None:
        parts.append(random_ranking(audit, n_audit, derived_seed(seed, 1)))
    elif n_audit > 0:
        proba = model.predict_proba(X[audit])
        parts.append(suspicion_ranking(proba, s.labels[audit], audit, n_audit))
    if not parts:
        return np.zeros(0, np.intp), np.zeros(0)
    indices = np.concatenate([p[0] for p in parts]).astype(np.intp)
    if getattr(params, "consensus", None) == "crowdlab" and model is not None:
        # the classifier votes as it sees the samples before their answers
        record_model_votes(s, indices, model.predict_proba(X[indices]))
    return indices, np.concatenate([p[1] for p in parts]).astype(float)


def answer_summary(state):
    """What a second-opinion strategy reads of the answers: each sample's
    number of answers, agreement and consensus (positions in ``classes``,
    -1 where open) and the annotators' mean estimated accuracy."""
    fit = consensus_fit(state)
    counts = np.bincount(
        np.asarray(state.answers["index"], dtype=np.intp)[
            np.asarray(state.answers["label"], dtype=np.intp) >= 0
        ],
        minlength=state.labels.shape[0],
    )
    accuracy = fit["accuracy"]
    return {
        "n_answers": counts,
        "agreement": fit["agreement"],
        "consensus": fit["consensus"],
        "annotator_weight": float(np.nanmean(accuracy))
        if np.isfinite(accuracy).any()
        else 1.0,
    }
