"""Chunked k-center greedy selection (Sener & Savarese 2018 core-set).

The greedy keeps, for every candidate, its distance to the nearest centre and
repeatedly picks the candidate farthest from all centres. Two parts cost time:

- the initial distance of every candidate to every labeled centre, computed
  block by block (memory ``O(n * d + chunk_size**2)``, never an ``n_candidates
  x n_centers`` matrix), with blocks small enough to stay in cache;
- the update after each pick. Updating every candidate reads the whole
  embedding matrix once per pick (memory-bound: 500 picks over 20k x 512
  float32 is 20 GB of reads). A candidate's stored distance is an upper bound
  of its true one (a minimum only shrinks), so only the candidates with the
  largest bounds are updated, lazily, until the best exact value beats every
  bound left: the same pick, lowest index on ties, as a full update, and the
  same arithmetic, so the same distances.

References
----------
.. [1] Sener, O., & Savarese, S. (2018). Active Learning for Convolutional
   Neural Networks: A Core-Set Approach. ICLR.
"""

import contextlib
import numbers

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from noisyactive.utils._validation import check_float_array

__all__ = ["k_center_greedy"]

# Embedding matrices at least this large (elements) run the greedy loop with one
# BLAS thread; below it the matrix-vector products are too cheap to matter.
_SINGLE_THREAD_MIN_SIZE = 2**20
# Entries of one distance block (4 MiB of float32): small enough that adding
# the norms and taking the row minimum run in cache (measured: 20k x 2k
# float32 centres, 1 thread, 0.46 s CPU against 0.51 s at 2**18 and 0.63 s at
# 2**16).
_BLOCK_ELEMENTS = 2**20
# Points brought up to date per lazy step before the block grows.
_LAZY_BLOCK = 32
# Below this many features a full update per pick is cheaper than the lazy one
# (measured, 20k candidates, 1 thread: 64 features 0.18 s full vs 0.24 s lazy;
# 512 features 2.4 s vs 0.7 s for 500 picks).
_LAZY_MIN_FEATURES = 128


def _check_embeddings(values, name):
    return check_float_array(values, name=name)


def _check_count(value, name, *, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def _min_sq_distances(points, points_sq, centers, chunk_size):
    """Squared distance of every point to its nearest centre, block by block.

    Uses ``||a||^2 + ||b||^2 - 2 a.b``; the per-point ``||a||^2`` is constant
    across centres, so it is added once after the minimum over centres. The
    ``-2`` is folded into the centres once (a power of two scales exactly), and
    blocks have at most ``_BLOCK_ELEMENTS`` entries, so the additions and the
    row minimum run on a block that is still in cache.
    """
    best = np.full(points.shape[0], np.inf, dtype=points.dtype)
    centers_sq = np.einsum("ij,ij->i", centers, centers)
    n_cols = min(chunk_size, centers.shape[0])
    n_rows = max(1, min(chunk_size, _BLOCK_ELEMENTS // n_cols))
    for c_start in range(0, centers.shape[0], n_cols):
        cols = slice(c_start, c_start + n_cols)
        scaled_t = np.ascontiguousarray(-2.0 * centers[cols].T)
        for start in range(0, points.shape[0], n_rows):
            rows = slice(start, start + n_rows)
            block = points[rows] @ scaled_t
            block += centers_sq[cols]
            np.minimum(best[rows], block.min(axis=1), out=best[rows])
    best += points_sq
    # Cancellation can leave tiny negatives for (near-)duplicate points.
    np.maximum(best, 0.0, out=best)
    return best


def _sq_distances_to_picks(state, points, points_sq, first):
    """Squared distances of ``points`` to picks ``first..n_picked``.

    Same arithmetic as the initial distances, ``((-2 a.c) + ||a||^2) +
    ||c||^2``, so a value does not depend on when a point is brought up to
    date.
    """
    picked = state.picked[first : state.n_picked]
    block = points @ (-2.0 * state.points[picked].T)
    block += points_sq[:, None]
    block += state.points_sq[picked]
    return block.min(axis=1)


def _update_rows(state, rows):
    """Bring ``state.min_sq[rows]`` up to date with every pick so far."""
    stale = rows[state.n_seen[rows] < state.n_picked]
    if stale.size == 0:
        return
    # Points seen later than ``first`` recompute a few picks; min() makes
    # that harmless.
    first = int(state.n_seen[stale].min())
    new = _sq_distances_to_picks(
        state, state.points[stale], state.points_sq[stale], first
    )
    state.min_sq[stale] = np.minimum(state.min_sq[stale], new)
    state.n_seen[stale] = state.n_picked


def _update_all(state):
    """Bring every point up to date (no copy of the embedding matrix)."""
    first = int(state.n_seen.min())
    if first < state.n_picked:
        new = _sq_distances_to_picks(state, state.points, state.points_sq, first)
        np.minimum(state.min_sq, new, out=state.min_sq)
        state.n_seen[state.n_seen < state.n_picked] = state.n_picked


def _next_pick(state):
    """Index of the farthest point (lowest index on ties), as after a full update.

    ``min_sq`` of a point that missed the last picks is an upper bound of its
    true value (a minimum only shrinks). So only the points with the largest
    bounds are brought up to date; when the best exact value among them beats
    every bound outside, it is the argmax over all points. Otherwise the block
    grows; past a quarter of the points, or on a tie with a bound outside
    (duplicates), all points are updated. With
    few features a full update costs less than finding the top block, and
    before any point has a finite distance there is no bound to use.
    """
    n, d = state.points.shape
    size = _LAZY_BLOCK
    if d < _LAZY_MIN_FEATURES or not np.isfinite(state.min_sq.max()):
        size = n
    while size < n // 4:
        order = np.argpartition(state.min_sq, n - size - 1)
        top = order[n - size :]
        _update_rows(state, top)
        values = state.min_sq[top]
        best = values.max()
        bound = state.min_sq[order[n - size - 1]]
        if best > bound:
            return int(top[values == best].min())
        if best == bound:
            break  # a tie across the block's edge: settle it with a full update
        size *= 4
    _update_all(state)
    return int(np.argmax(state.min_sq))


class _GreedyState:
    """Distances of the greedy: ``min_sq[i]`` is exact against the centres and
    the first ``n_seen[i]`` picks."""

    def __init__(self, points, points_sq, min_sq, k):
        self.points = points
        self.points_sq = points_sq
        self.min_sq = min_sq
        self.n_seen = np.zeros(points.shape[0], dtype=np.intp)
        self.picked = np.empty(k, dtype=np.intp)
        self.n_picked = 0


def _greedy_loop(points, points_sq, min_sq, first, indices, distances):
    """Fill ``indices``/``distances`` in place, updating ``min_sq`` per pick."""
    state = _GreedyState(points, points_sq, min_sq, indices.shape[0])
    for step in range(indices.shape[0]):
        if step == 0 and first is not None:
            pick = first
        else:
            pick = _next_pick(state)
        indices[step] = pick
        distances[step] = np.sqrt(max(float(min_sq[pick]), 0.0))
        state.picked[step] = pick
        state.n_picked = step + 1
        # -inf, not 0: a selected point must never win again, even when every
        # remaining candidate duplicates a centre (all distances 0).
        min_sq[pick] = -np.inf
        state.n_seen[pick] = indices.shape[0]


def k_center_greedy(embeddings, centers, n, *, chunk_size=4096, random_state=None):
    """Greedy k-center selection of ``n`` rows of ``embeddings``.

    Every candidate keeps its Euclidean distance to the nearest centre. At each
    step the candidate with the largest such distance is selected and becomes a
    centre itself (the distances are updated against that one point). When
    ``centers`` is empty the first pick is a candidate drawn uniformly with
    ``random_state``; its distance at selection time is ``inf``.

    Parameters
    ----------
    embeddings : array-like of shape (n_candidates, d)
        Candidate points (e.g. penultimate-layer embeddings). float32 input is
        kept as float32 (half the memory and time); anything else is converted
        to float64.
    centers : array-like of shape (n_centers, d) or None
        Initial centres (e.g. the labeled part's embeddings). ``None`` or an
        array with no rows means "no centres".
    n : int
        Number of points to select; at most ``n_candidates`` are returned.
    chunk_size : int, default=4096
        Rows (and centres) per block of the initial distance computation: the
        largest temporary is a ``chunk_size x chunk_size`` matrix.
    random_state : int, RandomState instance or None, default=None
        Seeds the first pick when there are no centres (only used then).

    Returns
    -------
    indices : ndarray of int of shape (min(n, n_candidates),)
        Selected row indices into ``embeddings``, in selection order.
    min_distances : ndarray of float64 of shape (min(n, n_candidates),)
        Distance of each selected point to its nearest centre at the time it
        was selected; a non-increasing sequence.

    Notes
    -----
    Ties are broken towards the lowest row index (``argmax``). Distances use
    the expansion ``||a||^2 + ||b||^2 - 2 a.b`` clipped at 0, so points closer
    than about ``1e-3 * ||a||`` (float32) or ``1e-7 * ||a||`` (float64) may
    read as distance 0. Time is ``O(n_candidates * (n_centers + n) * d)`` at
    worst (every pick moves every candidate's nearest centre); the lazy update
    usually touches a few dozen candidates per pick.

    References
    ----------
    .. [1] Sener, O., & Savarese, S. (2018). Active Learning for Convolutional
       Neural Networks: A Core-Set Approach. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.query import k_center_greedy
    >>> points = np.array([[0.0], [1.0], [5.0], [10.0]])
    >>> idx, dist = k_center_greedy(points, np.array([[0.0]]), 2)
    >>> idx, dist
    (array([3, 2]), array([10.,  5.]))
    """
    points = _check_embeddings(embeddings, "embeddings")
    n = _check_count(n, "n", minimum=0)
    chunk_size = _check_count(chunk_size, "chunk_size", minimum=1)
    if centers is None or np.size(centers) == 0:
        centers = np.empty((0, points.shape[1]), dtype=points.dtype)
    centers = _check_embeddings(centers, "centers")
    if centers.shape[1] != points.shape[1]:
        raise ValueError(
            f"centers have {centers.shape[1]} features but embeddings have "
            f"{points.shape[1]}; both must come from the same embedding space."
        )
    dtype = np.result_type(points.dtype, centers.dtype)
    points = points.astype(dtype, copy=False)
    centers = centers.astype(dtype, copy=False)

    n_candidates = points.shape[0]
    k = min(n, n_candidates)
    indices = np.empty(k, dtype=np.intp)
    distances = np.empty(k, dtype=np.float64)
    if k == 0:
        return indices, distances

    points_sq = np.einsum("ij,ij->i", points, points)
    if centers.shape[0]:
        min_sq = _min_sq_distances(points, points_sq, centers, chunk_size)
        first = None
    else:
        min_sq = np.full(n_candidates, np.inf, dtype=dtype)
        first = int(check_random_state(random_state).randint(n_candidates))

    # The loop is one matrix-vector product per pick, which is memory-bound:
    # a second BLAS thread gains little on an idle machine and, measured on a
    # busy 2-core one, made the loop 2-3x slower (threads waiting on each
    # other 500 times). The blocked matrix products above keep all threads.
    # Setting the limit costs a few ms, so small problems skip it.
    limit = (
        threadpool_limits(limits=1, user_api="blas")
        if points.size >= _SINGLE_THREAD_MIN_SIZE and k > 1
        else contextlib.nullcontext()
    )
    with limit:
        _greedy_loop(points, points_sq, min_sq, first, indices, distances)
    return indices, distances
