"""Chunked k-center greedy selection (Sener & Savarese 2018 core-set).

The greedy keeps, for every candidate, its distance to the nearest centre and
repeatedly picks the candidate farthest from all centres. The only expensive
part is the initial distance of every candidate to every labeled centre; it is
computed block by block so that memory stays ``O(n * d + chunk_size**2)``
instead of materialising an ``n_candidates x n_centers`` matrix.

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

__all__ = ["k_center_greedy"]

# Embedding matrices at least this large (elements) run the greedy loop with one
# BLAS thread; below it the matrix-vector products are too cheap to matter.
_SINGLE_THREAD_MIN_SIZE = 2**20


def _check_embeddings(values, name, *, allow_empty_rows):
    try:
        arr = np.asarray(values)
        if arr.dtype != np.float32:
            arr = arr.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a numeric array of shape (n, d); could not convert "
            f"it ({exc})."
        ) from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n, d); got shape {arr.shape}.")
    if not allow_empty_rows and arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 features; expected d >= 1.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def _check_positive_int(value, name, *, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def _min_sq_distances(points, points_sq, centers, chunk_size):
    """Squared distance of every point to its nearest centre, block by block.

    Uses ``||a||^2 + ||b||^2 - 2 a.b``; the per-point ``||a||^2`` is constant
    across centres, so it is added once after the minimum over centres.
    """
    best = np.full(points.shape[0], np.inf, dtype=points.dtype)
    centers_sq = np.einsum("ij,ij->i", centers, centers)
    for start in range(0, points.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        block_best = best[rows]  # a view: updated in place
        for c_start in range(0, centers.shape[0], chunk_size):
            cols = slice(c_start, c_start + chunk_size)
            block = points[rows] @ centers[cols].T
            block *= -2.0
            block += centers_sq[cols]
            np.minimum(block_best, block.min(axis=1), out=block_best)
            # Free the block before the next matmul allocates its successor;
            # otherwise two blocks are alive at once and the peak doubles.
            del block
        block_best += points_sq[rows]
    # Cancellation can leave tiny negatives for (near-)duplicate points.
    np.maximum(best, 0.0, out=best)
    return best


def _greedy_loop(points, points_sq, min_sq, first, indices, distances):
    """Fill ``indices``/``distances`` in place, updating ``min_sq`` per pick."""
    k = indices.shape[0]
    for step in range(k):
        pick = first if (step == 0 and first is not None) else int(np.argmax(min_sq))
        indices[step] = pick
        distances[step] = np.sqrt(max(float(min_sq[pick]), 0.0))
        if step == k - 1:
            break  # the last pick needs no update
        # One matrix-vector product per pick: O(n_candidates * d), no copies
        # of the embedding matrix.
        new_sq = points @ points[pick]
        new_sq *= -2.0
        new_sq += points_sq
        new_sq += points_sq[pick]
        np.minimum(min_sq, new_sq, out=min_sq)
        # -inf, not 0: a selected point must never win argmax again, even when
        # every remaining candidate duplicates a centre (all distances 0).
        min_sq[pick] = -np.inf


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
    read as distance 0. Time is ``O(n_candidates * (n_centers + n) * d)``.

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
    points = _check_embeddings(embeddings, "embeddings", allow_empty_rows=True)
    n = _check_positive_int(n, "n", minimum=0)
    chunk_size = _check_positive_int(chunk_size, "chunk_size", minimum=1)
    if centers is None or np.size(centers) == 0:
        centers = np.empty((0, points.shape[1]), dtype=points.dtype)
    centers = _check_embeddings(centers, "centers", allow_empty_rows=True)
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
