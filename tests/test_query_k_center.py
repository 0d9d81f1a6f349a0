"""k-center greedy: properties (hypothesis), brute-force reference, memory."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from noisyactive.query import k_center_greedy


def brute_force_k_center(points, centers, n, first=None):
    """Textbook greedy on the full distance matrix (direct differences)."""
    m = points.shape[0]
    if centers.shape[0]:
        diff = points[:, None, :] - centers[None, :, :]
        min_d = np.sqrt((diff**2).sum(-1)).min(axis=1)
    else:
        min_d = np.full(m, np.inf)
    picks, dists = [], []
    for step in range(min(n, m)):
        masked = min_d.copy()
        masked[picks] = -np.inf
        pick = first if (step == 0 and not centers.shape[0]) else int(np.argmax(masked))
        picks.append(pick)
        dists.append(min_d[pick])
        min_d = np.minimum(min_d, np.sqrt(((points - points[pick]) ** 2).sum(-1)))
    return np.array(picks, dtype=int), np.array(dists)


@st.composite
def integer_problems(draw, max_points=14, max_centers=6):
    """Integer coordinates: the ||a||^2 + ||b||^2 - 2ab expansion is then exact in
    float64, so ties (duplicate points are frequent here) resolve identically."""
    d = draw(st.integers(1, 4))
    m = draw(st.integers(0, max_points))
    c = draw(st.integers(0, max_centers))
    elems = st.integers(-5, 5).map(float)
    points = draw(arrays(np.float64, (m, d), elements=elems))
    centers = draw(arrays(np.float64, (c, d), elements=elems))
    n = draw(st.integers(0, max_points + 3))
    return points, centers, n


@settings(max_examples=150, deadline=None)
@given(problem=integer_problems(), seed=st.integers(0, 2**31 - 1))
def test_equals_brute_force_reference(problem, seed):
    points, centers, n = problem
    idx, dist = k_center_greedy(points, centers, n, random_state=seed)
    first = int(idx[0]) if (idx.size and not centers.shape[0]) else None
    ref_idx, ref_dist = brute_force_k_center(points, centers, n, first=first)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    problem=integer_problems(), chunk_size=st.integers(1, 5), seed=st.integers(0, 99)
)
def test_result_does_not_depend_on_chunk_size(problem, chunk_size, seed):
    points, centers, n = problem
    a = k_center_greedy(points, centers, n, chunk_size=chunk_size, random_state=seed)
    b = k_center_greedy(points, centers, n, random_state=seed)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[1], b[1])


@settings(max_examples=100, deadline=None)
@given(
    m=st.integers(0, 25),
    c=st.integers(0, 8),
    d=st.integers(1, 6),
    n=st.integers(0, 30),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_properties_on_continuous_points(m, c, d, n, dtype, seed):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(m, d)).astype(dtype)
    centers = rng.normal(size=(c, d)).astype(dtype)
    idx, dist = k_center_greedy(points, centers, n, random_state=seed)

    k = min(n, m)
    assert idx.shape == dist.shape == (k,)
    assert idx.dtype.kind == "i" and dist.dtype == np.float64
    assert np.unique(idx).shape == (k,)  # unique
    assert np.all((idx >= 0) & (idx < m))  # within the candidates
    assert np.all(np.diff(dist) <= 0)  # greedy min distance never increases
    if k and c == 0:
        assert dist[0] == np.inf  # random first pick: no centre yet

    # Each reported distance is the true distance to the nearest centre at
    # selection time, and it is (up to rounding) the largest one available.
    tol = 1e-3 if dtype == np.float32 else 1e-9
    pts = points.astype(np.float64)
    current = centers.astype(np.float64)
    for step, pick in enumerate(idx):
        if current.shape[0] == 0:
            current = pts[[pick]]
            continue
        true = np.sqrt(((pts[:, None] - current[None]) ** 2).sum(-1)).min(axis=1)
        assert_allclose(dist[step], true[pick], rtol=tol, atol=tol)
        remaining = np.setdiff1d(np.arange(m), idx[:step])
        assert true[pick] >= true[remaining].max() - 2 * tol
        current = np.vstack([current, pts[[pick]]])


def test_empty_centres_start_is_seeded():
    points = np.random.default_rng(0).normal(size=(50, 3))
    a = k_center_greedy(points, None, 5, random_state=7)
    b = k_center_greedy(points, np.empty((0, 3)), 5, random_state=7)
    assert_array_equal(a[0], b[0])
    firsts = {
        int(k_center_greedy(points, [], 1, random_state=s)[0][0]) for s in range(20)
    }
    assert len(firsts) > 1  # the start really is random across seeds


def test_hand_computed_line():
    points = np.array([[0.0], [1.0], [5.0], [10.0]])
    idx, dist = k_center_greedy(points, np.array([[0.0]]), 4)
    # 10 is farthest from 0; then 5 (5 from both); then 1 (distance 1); then 0.
    assert_array_equal(idx, [3, 2, 1, 0])
    assert_allclose(dist, [10.0, 5.0, 1.0, 0.0])


def test_all_candidates_duplicate_centres_still_unique():
    points = np.zeros((4, 2))
    idx, dist = k_center_greedy(points, np.zeros((3, 2)), 10)
    assert_array_equal(idx, [0, 1, 2, 3])
    assert_array_equal(dist, np.zeros(4))


def test_float32_is_kept_and_close_to_float64():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(300, 16))
    centers = rng.normal(size=(40, 16))
    idx64, d64 = k_center_greedy(points, centers, 20)
    idx32, d32 = k_center_greedy(
        points.astype(np.float32), centers.astype(np.float32), 20
    )
    assert_allclose(d32, d64, rtol=1e-4)


def test_memory_is_chunked_not_quadratic():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2000, 8))
    centers = rng.normal(size=(2000, 8))
    full_matrix_bytes = 2000 * 2000 * 8  # 32 MB
    tracemalloc.start()
    try:
        k_center_greedy(points, centers, 20, chunk_size=128)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Block 128 x 128 float64 = 128 kB plus O(n) vectors; far below the full matrix.
    assert peak < full_matrix_bytes / 20, peak


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"embeddings": np.zeros(3)}, ValueError, "2-D"),
        ({"embeddings": [[np.nan]]}, ValueError, "NaN"),
        ({"embeddings": [["a"]]}, TypeError, "numeric"),
        ({"centers": np.zeros((2, 3))}, ValueError, "same embedding space"),
        ({"n": -1}, ValueError, "n must be >= 0"),
        ({"n": 2.5}, TypeError, "n must be an integer"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"embeddings": np.zeros((4, 2)), "centers": np.ones((2, 2)), "n": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        k_center_greedy(
            args["embeddings"],
            args["centers"],
            args["n"],
            chunk_size=kwargs.get("chunk_size", 4096),
        )


def test_single_blas_thread_path_gives_same_result(monkeypatch):
    from noisyactive.query import _k_center

    rng = np.random.default_rng(3)
    points, centers = rng.normal(size=(200, 5)), rng.normal(size=(10, 5))
    expected = k_center_greedy(points, centers, 15)
    monkeypatch.setattr(_k_center, "_SINGLE_THREAD_MIN_SIZE", 0)
    got = k_center_greedy(points, centers, 15)
    assert_array_equal(got[0], expected[0])
    assert_allclose(got[1], expected[1])


@settings(max_examples=150, deadline=None)
@given(
    problem=integer_problems(max_points=40, max_centers=6),
    seed=st.integers(0, 2**31 - 1),
    block=st.integers(1, 4),
)
def test_lazy_update_equals_brute_force_reference(problem, seed, block):
    """The lazy path (normally only for >= 128 features and >= 128 points) forced
    on tiny integer problems: same picks and distances as the textbook greedy."""
    from noisyactive.query import _k_center

    points, centers, n = problem
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_k_center, "_LAZY_MIN_FEATURES", 1)
        mp.setattr(_k_center, "_LAZY_BLOCK", block)
        idx, dist = k_center_greedy(points, centers, n, random_state=seed)
    first = int(idx[0]) if (idx.size and not centers.shape[0]) else None
    ref_idx, ref_dist = brute_force_k_center(points, centers, n, first=first)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12, atol=1e-12)


def test_lazy_path_runs_and_touches_few_points(monkeypatch):
    from noisyactive.query import _k_center

    rng = np.random.default_rng(0)
    points = rng.normal(size=(2000, 128))
    centers = rng.normal(size=(50, 128))
    updated = []
    full = []
    real_rows, real_all = _k_center._update_rows, _k_center._update_all
    monkeypatch.setattr(
        _k_center,
        "_update_rows",
        lambda s, r: updated.append(r.size) or real_rows(s, r),
    )
    monkeypatch.setattr(
        _k_center, "_update_all", lambda s: full.append(1) or real_all(s)
    )
    idx, dist = k_center_greedy(points, centers, 30)
    ref_idx, ref_dist = brute_force_k_center(points, centers, 30)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-9)
    assert updated and not full  # lazily, never a full pass over the 2000
    assert sum(updated) < 2000 * 29 / 10
