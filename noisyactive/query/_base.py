"""Base class of the query strategies and the argument checks they share.

A query strategy ranks candidate samples for annotation. The public method
``rank`` validates its arguments once, here, so that every subclass only writes
``_rank`` (its algorithm) and gets the same behaviour for empty candidate sets,
``n`` larger than the pool and bad input.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import _safe_indexing

from noisyactive.utils._validation import check_indices

__all__ = ["BaseQueryStrategy", "check_n", "check_ranking"]


def _n_samples(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(X)
    except TypeError as exc:
        raise TypeError(
            "X must be an array-like with one entry per sample (numpy array, "
            f"list, ...); got {type(X).__name__}."
        ) from exc


def check_n(n, *, minimum=0):
    """``n``, how many samples to query, as an int of at least ``minimum``.

    The one check of ``n``: :meth:`BaseQueryStrategy.rank` (``minimum=0``)
    and :meth:`~noisyactive.ActiveLabelCleaner.query` (``minimum=1``).

    Examples
    --------
    >>> from noisyactive.query._base import check_n
    >>> check_n(3), check_n(0)
    (3, 0)
    >>> try:
    ...     check_n(0, minimum=1)
    ... except ValueError as exc:
    ...     print(exc)
    n (how many samples to query) must be >= 1; got 0.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n (how many samples to query) must be an integer; got {n!r}.")
    if n < minimum:
        raise ValueError(
            f"n (how many samples to query) must be >= {minimum}; got {n}."
        )
    return int(n)


def check_ranking(indices, scores, candidates, n, *, who, min_count=0):
    """What a strategy returned, checked: unique ``candidates``, at most ``n``
    (at least ``min_count``), one float score per index (None: NaN scores).

    The one check of a strategy's output, for :meth:`BaseQueryStrategy.rank`
    and for strategy objects of any kind in
    :class:`~noisyactive.ActiveLabelCleaner`. ``who`` names the strategy in
    the messages.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.query._base import check_ranking
    >>> check_ranking([4, 1], None, np.arange(5), 2, who="f")
    (array([4, 1]), array([nan, nan]))
    >>> try:
    ...     check_ranking([3, 3], None, np.arange(5), 2, who="f")
    ... except ValueError as exc:
    ...     print(str(exc)[:48])
    the indices f returned contain duplicate indices
    """
    indices = check_indices(
        indices,
        within=candidates,
        within_name="the candidates",
        max_count=n,
        min_count=min_count,
        name=f"the indices {who} returned",
    )
    if scores is None:
        return indices, np.full(indices.shape[0], np.nan)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.shape != indices.shape:
        raise ValueError(
            f"{who} returned {scores.shape[0]} scores for {indices.shape[0]} "
            "indices; expected one score per index."
        )
    return indices, scores


def _check_labels(labels, n_samples):
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(
            "labels must be the current label vector of the whole X, one label "
            f"per sample ({n_samples}); got shape {arr.shape}."
        )
    return arr


def _check_labeled_mask(labeled_mask, n_samples):
    if labeled_mask is None:
        return None
    arr = np.asarray(labeled_mask)
    if arr.dtype != bool:
        raise TypeError(
            "labeled_mask must be a boolean mask over X (True = labeled/clean); "
            f"got dtype {arr.dtype}. For indices use np.isin(np.arange(len(X)), idx)."
        )
    if arr.shape != (n_samples,):
        raise ValueError(
            f"labeled_mask must have one entry per sample ({n_samples}); got shape "
            f"{arr.shape}."
        )
    return arr


def _take(X, indices):
    """Rows of X at ``indices`` for arrays, lists (e.g. of paths) and frames."""
    return _safe_indexing(X, indices)


def _predict_candidate_proba(estimator, X, candidates):
    """``predict_proba`` on ``X[candidates]`` only, with a checked shape."""
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(
            "this query strategy needs a fitted classifier with predict_proba; "
            f"got {type(estimator).__name__}, which has none."
        )
    proba = np.asarray(estimator.predict_proba(_take(X, candidates)))
    if proba.ndim != 2 or proba.shape[0] != candidates.shape[0]:
        raise ValueError(
            f"estimator.predict_proba returned shape {proba.shape} for "
            f"{candidates.shape[0]} candidates; expected "
            "(n_candidates, n_classes)."
        )
    return proba


def _top_n(candidates, scores, n):
    """The ``n`` best candidates by score, best first, ties by candidate order."""
    scores = np.asarray(scores, dtype=np.float64)
    # A stable sort on the negated scores keeps equal scores in the order the
    # candidates were given, which makes the ranking reproducible.
    order = np.argsort(-scores, kind="stable")[:n]
    return candidates[order], scores[order]


def _empty_result():
    return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)


class BaseQueryStrategy(BaseEstimator):
    """Base class of the query strategies of :mod:`noisyactive.query`.

    Subclasses declare their constructor parameters in
    ``_parameter_constraints`` (scikit-learn's declarative validation, checked
    at every :meth:`rank`) and implement ``_rank(estimator, X, candidates, n,
    *, labels, labeled_mask, random_state)``, which receives validated
    arguments (``candidates`` a non-empty unique intp array, ``1 <= n <=
    len(candidates)``) and returns ``(indices, scores)``. What ``_rank``
    returns is checked too: an index that repeats or is not a candidate is an
    error of the strategy, reported as such.
    """

    _parameter_constraints: dict = {}

    def rank(
        self,
        estimator,
        X,
        candidates,
        n,
        *,
        labels=None,
        labeled_mask=None,
        random_state=None,
    ):
        """Rank candidates for annotation and return the best ``n``.

        Parameters
        ----------
        estimator : object
            A fitted classifier with ``predict_proba`` and ``classes_``;
            optionally ``embed(X) -> (n, d)`` penultimate-layer embeddings.
        X : array-like of shape (n_samples, ...)
            The whole training set, indexable by an integer array.
        candidates : array-like of int
            Indices into ``X`` eligible for querying (a boolean mask over X is
            accepted too).
        n : int
            How many samples to pick.
        labels : array-like of shape (n_samples,), default=None
            Current label vector for all of ``X`` (values in
            ``estimator.classes_``).
        labeled_mask : array-like of bool of shape (n_samples,), default=None
            The current clean/labeled part of ``X``.
        random_state : int, RandomState instance or None, default=None
            Overrides the strategy's own ``random_state`` when given.

        Returns
        -------
        indices : ndarray of int of shape (min(n, len(candidates)),)
            Unique indices from ``candidates``, best first.
        scores : ndarray of float of shape (min(n, len(candidates)),)
            The strategy score of each index (higher = queried earlier).
        """
        n_samples = _n_samples(X)
        candidates = check_indices(
            candidates, n_samples=n_samples, allow_mask=True, name="candidates"
        )
        n = check_n(n)
        labels = _check_labels(labels, n_samples)
        labeled_mask = _check_labeled_mask(labeled_mask, n_samples)
        self._validate_params()
        k = min(n, candidates.shape[0])
        if k == 0:
            return _empty_result()
        indices, scores = self._rank(
            estimator,
            X,
            candidates,
            k,
            labels=labels,
            labeled_mask=labeled_mask,
            random_state=random_state,
        )
        return check_ranking(indices, scores, candidates, k, who=self._who())

    def query(self, estimator, X, candidates, n, **kwargs):
        """Indices of the ``n`` best candidates, best first (``rank(...)[0]``).

        Parameters
        ----------
        estimator, X, candidates, n, **kwargs
            As in :meth:`rank`.

        Returns
        -------
        indices : ndarray of int of shape (min(n, len(candidates)),)
            Unique indices from ``candidates``, best first.
        """
        return self.rank(estimator, X, candidates, n, **kwargs)[0]

    def _who(self):
        """How messages about this strategy's output name it."""
        return type(self).__name__

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        raise NotImplementedError  # pragma: no cover
