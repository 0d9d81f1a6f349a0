"""Core-set sampling: k-center greedy on the classifier's embeddings."""

import numpy as np

from noisyactive.query._base import BaseQueryStrategy, _take
from noisyactive.query._k_center import k_center_greedy
from noisyactive.utils._param_validation import Integral, Interval
from noisyactive.utils._validation import check_float_array

__all__ = ["CoreSetSampling"]


def _as_2d_float(values, what):
    """Rows of ``values`` flattened to a finite float (n, d) array."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        raise ValueError(f"{what} must have one row per sample; got a scalar.")
    try:
        return check_float_array(arr.reshape(arr.shape[0], -1), name=what)
    except TypeError as exc:
        raise TypeError(
            f"CoreSetSampling could not use {what} as numbers ({exc}) Give the "
            "estimator an embed(X) method (penultimate-layer features) or pass "
            "numeric X."
        ) from exc


class CoreSetSampling(BaseQueryStrategy):
    """Query the candidates that best cover the embedding space (core-set).

    Runs :func:`~noisyactive.query.k_center_greedy` with the labeled part of
    ``X`` (``labeled_mask``) as the initial centres: every pick is the candidate
    farthest (Euclidean) from all labeled samples and all earlier picks. The
    embeddings are ``estimator.embed(X[idx])`` when the estimator has an
    ``embed`` method (penultimate-layer features), else ``X[idx]`` flattened to
    2-D; they are computed only for the candidates and the labeled part. With no
    labeled sample the first pick is random (seeded by ``random_state``). The
    returned scores are the pick's distance to its nearest centre at selection
    time (``inf`` for a random first pick).

    Parameters
    ----------
    chunk_size : int, default=4096
        Block size of the candidate-to-centre distance computation; the largest
        temporary is ``chunk_size x chunk_size`` floats.
    random_state : int, RandomState instance or None, default=None
        Seeds the first pick when there is no labeled sample. The
        ``random_state`` argument of :meth:`rank` overrides it.

    See Also
    --------
    k_center_greedy, RandomSampling

    References
    ----------
    .. [1] Sener, O., & Savarese, S. (2018). Active Learning for Convolutional
       Neural Networks: A Core-Set Approach. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.query import CoreSetSampling
    >>> X = np.array([[0.0], [0.5], [4.0], [9.0]])
    >>> labeled = np.array([True, False, False, False])
    >>> CoreSetSampling().rank(None, X, [1, 2, 3], 2, labeled_mask=labeled)
    (array([3, 2]), array([9., 4.]))
    """

    _parameter_constraints: dict = {
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, chunk_size=4096, random_state=None):
        self.chunk_size = chunk_size
        self.random_state = random_state

    def _embed(self, estimator, X, indices):
        if indices.shape[0] == 0:
            return None
        if hasattr(estimator, "embed"):
            emb = np.asarray(estimator.embed(_take(X, indices)))
            if emb.ndim != 2 or emb.shape[0] != indices.shape[0]:
                raise ValueError(
                    f"estimator.embed returned shape {emb.shape} for "
                    f"{indices.shape[0]} samples; expected (n_samples, n_features)."
                )
            return _as_2d_float(emb, "estimator.embed(X)")
        return _as_2d_float(_take(X, indices), "X")

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        labeled = (
            np.empty(0, dtype=np.intp)
            if labeled_mask is None
            else np.flatnonzero(labeled_mask)
        )
        # One embed call for candidates and centres: a network pays its
        # per-call overhead (eval mode, data loader) once.
        emb = self._embed(estimator, X, np.concatenate([candidates, labeled]))
        cand_emb = emb[: candidates.shape[0]]
        centers = emb[candidates.shape[0] :]
        seed = self.random_state if random_state is None else random_state
        picked, distances = k_center_greedy(
            cand_emb,
            centers,
            n,
            chunk_size=int(self.chunk_size),
            random_state=seed,
        )
        return candidates[picked], distances
