"""Query strategy estimators: ranking, ties, candidates, seeds, clone, errors."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression

from noisyactive.query import (
    BaseQueryStrategy,
    CoreSetSampling,
    EntropySampling,
    LabelCleaningSampling,
    LeastConfidenceSampling,
    MarginSampling,
    RandomSampling,
    entropy_scores,
    k_center_greedy,
    label_cleaning_ambiguity_scores,
    label_cleaning_scores,
    least_confidence_scores,
    margin_scores,
)
from noisyactive.utils._param_validation import InvalidParameterError

ALL_STRATEGIES = [
    RandomSampling(random_state=0),
    EntropySampling(),
    MarginSampling(),
    LeastConfidenceSampling(),
    CoreSetSampling(random_state=0),
    LabelCleaningSampling(),
    LabelCleaningSampling(ambiguity=True),
]
PROBA_STRATEGIES = [
    (EntropySampling(), entropy_scores),
    (MarginSampling(), margin_scores),
    (LeastConfidenceSampling(), least_confidence_scores),
]


class ProbaStub:
    """A fitted-classifier stand-in whose X rows *are* its probabilities.

    Records every array it is asked about, so tests can check that only the
    candidates (and, for embeddings, the labeled part) are computed.
    """

    def __init__(self, n_classes=3):
        self.classes_ = np.arange(n_classes)
        self.proba_calls = []

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        self.proba_calls.append(X.copy())
        return X.reshape(X.shape[0], -1)


class EmbedStub(ProbaStub):
    """Adds ``embed``: the flattened image, as a network's features would be."""

    def __init__(self, n_classes=3):
        super().__init__(n_classes)
        self.embed_calls = []

    def embed(self, X):
        X = np.asarray(X)
        self.embed_calls.append(X.copy())
        return X.reshape(X.shape[0], -1).astype(np.float32)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-2, 1, (20, 2)), rng.normal(2, 1, (20, 2))])
    y = np.repeat([0, 1], 20)
    clf = LogisticRegression().fit(X, y)
    return X, y, clf


def _kwargs(y):
    mask = np.zeros(len(y), dtype=bool)
    mask[:5] = True
    return {"labels": y, "labeled_mask": mask}


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
def test_indices_unique_within_candidates(strategy, blobs):
    X, y, clf = blobs
    candidates = np.arange(5, 40, 2)
    idx, scores = strategy.rank(clf, X, candidates, 7, **_kwargs(y))
    assert idx.shape == scores.shape == (7,)
    assert idx.dtype.kind == "i" and scores.dtype == np.float64
    assert np.unique(idx).shape == (7,)
    assert np.isin(idx, candidates).all()
    assert np.all(np.diff(scores) <= 0)  # best first
    assert_array_equal(strategy.query(clf, X, candidates, 7, **_kwargs(y)), idx)


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
def test_n_larger_than_candidates_returns_all(strategy, blobs):
    X, y, clf = blobs
    candidates = np.array([30, 3, 17])
    idx, _ = strategy.rank(clf, X, candidates, 10, **_kwargs(y))
    assert sorted(idx.tolist()) == [3, 17, 30]


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
@pytest.mark.parametrize("candidates", [[], np.array([], dtype=int)])
def test_empty_candidates_or_zero_n(strategy, candidates, blobs):
    X, y, _ = blobs
    spy = EmbedStub(2)
    for cand, n in [(candidates, 5), ([1, 2], 0)]:
        idx, scores = strategy.rank(spy, X, cand, n, **_kwargs(y))
        assert idx.shape == scores.shape == (0,)
        assert idx.dtype.kind == "i" and scores.dtype == np.float64
    assert spy.proba_calls == [] and spy.embed_calls == []


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
def test_pickled_strategy_ranks_the_same(strategy, blobs):
    # clone and get/set_params are sklearn's checks (tests/test_common.py);
    # their pickle check needs fit, which strategies do not have, so it is here.
    X, y, clf = blobs
    kwargs = dict(labels=y, labeled_mask=np.arange(40) < 5, random_state=3)
    expected = strategy.rank(clf, X, np.arange(5, 40), 6, **kwargs)
    restored = pickle.loads(pickle.dumps(strategy))
    got = restored.rank(clf, X, np.arange(5, 40), 6, **kwargs)
    assert_array_equal(got[0], expected[0])
    assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize(("strategy", "score_fn"), PROBA_STRATEGIES, ids=repr)
def test_proba_strategies_rank_by_their_score(strategy, score_fn, blobs):
    X, _, clf = blobs
    candidates = np.arange(40)[::-1]
    idx, scores = strategy.rank(clf, X, candidates, 40)
    expected = score_fn(clf.predict_proba(X))
    assert_allclose(scores, expected[idx])
    assert idx[0] == int(np.argmax(expected))


@pytest.mark.parametrize(("strategy", "score_fn"), PROBA_STRATEGIES, ids=repr)
def test_proba_only_on_candidates(strategy, score_fn):
    X = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0.4, 0.3, 0.3], [0.9, 0.1, 0]])
    spy = ProbaStub()
    strategy.rank(spy, X, [3, 1], 1)
    assert len(spy.proba_calls) == 1
    assert_array_equal(spy.proba_calls[0], X[[3, 1]])


@pytest.mark.parametrize(
    "strategy",
    [
        EntropySampling(),
        MarginSampling(),
        LeastConfidenceSampling(),
        LabelCleaningSampling(),
    ],
    ids=repr,
)
def test_ties_keep_candidate_order(strategy):
    # Rows 0, 2, 3 are identical (same score for every strategy), row 1 is certain.
    X = np.array([[0.5, 0.5, 0], [1.0, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0]])
    labels = np.array([2, 0, 2, 2])
    for candidates in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3]):
        idx = strategy.query(ProbaStub(), X, candidates, 3, labels=labels)
        tied = [c for c in candidates if c != 1]
        assert_array_equal(idx, tied[:3])


def test_boolean_mask_candidates(blobs):
    X, _, clf = blobs
    mask = np.zeros(40, dtype=bool)
    mask[[4, 9, 33]] = True
    a = EntropySampling().query(clf, X, mask, 3)
    b = EntropySampling().query(clf, X, np.array([4, 9, 33]), 3)
    assert_array_equal(a, b)


def test_image_shaped_x_is_indexed_not_flattened():
    X = np.random.default_rng(0).dirichlet(np.ones(4), size=6).reshape(6, 1, 2, 2)
    spy = ProbaStub(4)
    idx = EntropySampling().query(spy, X, [1, 4, 5], 2)
    assert spy.proba_calls[0].shape == (3, 1, 2, 2)
    assert np.isin(idx, [1, 4, 5]).all()


# --- random -----------------------------------------------------------------


def test_random_is_seeded_and_overridable(blobs):
    X, _, _ = blobs
    cand = np.arange(40)
    a = RandomSampling(random_state=3).query(None, X, cand, 10)
    b = RandomSampling(random_state=3).query(None, X, cand, 10)
    assert_array_equal(a, b)
    c = RandomSampling(random_state=3).query(None, X, cand, 10, random_state=4)
    d = RandomSampling(random_state=99).query(None, X, cand, 10, random_state=4)
    assert_array_equal(c, d)  # the per-call seed wins over the strategy's own
    assert not np.array_equal(a, c)


def test_random_scores_are_priorities_in_unit_interval(blobs):
    X, _, _ = blobs
    idx, scores = RandomSampling(random_state=0).rank(None, X, np.arange(40), 40)
    assert np.all((scores >= 0) & (scores < 1))
    assert np.all(np.diff(scores) < 0)


# --- label cleaning ---------------------------------------------------------


def test_label_cleaning_ranks_flipped_labels_first(blobs):
    X, y, clf = blobs
    noisy = y.copy()
    flipped = np.array([3, 25, 31])
    noisy[flipped] = 1 - noisy[flipped]
    idx = LabelCleaningSampling().query(clf, X, np.arange(40), 3, labels=noisy)
    assert sorted(idx.tolist()) == flipped.tolist()


def test_label_cleaning_scores_match_pure_function():
    X = np.array([[0.05, 0.90, 0.05], [0.04, 0.48, 0.48], [0.9, 0.05, 0.05]])
    labels = np.array([0, 0, 0])
    pure = {
        False: label_cleaning_scores(X, labels),
        True: label_cleaning_ambiguity_scores(X, labels),
    }
    for ambiguity, expected in pure.items():
        idx, scores = LabelCleaningSampling(ambiguity=ambiguity).rank(
            ProbaStub(), X, [0, 1, 2], 3, labels=labels
        )
        assert_array_equal(idx, np.argsort(-expected, kind="stable"))
        assert_allclose(scores, expected[idx])
    # CE alone puts the ambiguous row 1 first, the ambiguity term the confident 0.
    assert (
        LabelCleaningSampling().query(ProbaStub(), X, [0, 1, 2], 1, labels=labels)[0]
        == 1
    )
    assert (
        LabelCleaningSampling(ambiguity=True).query(
            ProbaStub(), X, [0, 1, 2], 1, labels=labels
        )[0]
        == 0
    )


def test_label_cleaning_with_string_labels():
    X = np.array([[-3.0], [-2.0], [2.0], [3.0]])
    clf = LogisticRegression().fit(X, ["akiec", "akiec", "nv", "nv"])
    noisy = np.array(["akiec", "nv", "nv", "nv"])
    assert LabelCleaningSampling().query(clf, X, np.arange(4), 1, labels=noisy)[0] == 1


def test_label_cleaning_only_encodes_candidate_labels(blobs):
    X, y, clf = blobs
    labels = y.astype(int).copy()
    flipped = np.array([8, 20, 33])
    labels[flipped] = 1 - labels[flipped]
    # Placeholders outside the candidates are never looked at: -1 is no class,
    # so encoding it would raise.
    labels[:5] = -1
    candidates = np.arange(5, 40)
    for ambiguity in (False, True):
        strategy = LabelCleaningSampling(ambiguity=ambiguity)
        idx, scores = strategy.rank(clf, X, candidates, 3, labels=labels)
        # Each candidate is scored with its own label (not shifted by the
        # candidates' offset), so exactly the flipped ones come first.
        assert sorted(idx.tolist()) == flipped.tolist()
        proba = clf.predict_proba(X[idx])
        encoded = np.searchsorted(clf.classes_, labels[idx])
        pure = label_cleaning_ambiguity_scores if ambiguity else label_cleaning_scores
        assert_allclose(scores, pure(proba, encoded))


def test_label_cleaning_errors(blobs):
    X, y, clf = blobs
    with pytest.raises(ValueError, match="needs labels="):
        LabelCleaningSampling().query(clf, X, np.arange(40), 3)
    bad = y.copy()
    bad[7] = 5
    with pytest.raises(ValueError, match=r"\[5\] that are not in estimator.classes_"):
        LabelCleaningSampling().query(clf, X, np.arange(40), 3, labels=bad)
    with pytest.raises(InvalidParameterError, match="'ambiguity' parameter"):
        LabelCleaningSampling(ambiguity="yes").query(clf, X, np.arange(40), 3, labels=y)
    with pytest.raises(InvalidParameterError, match="'ambiguity_threshold'"):
        LabelCleaningSampling(ambiguity=True, ambiguity_threshold=1.5).query(
            clf, X, np.arange(40), 3, labels=y
        )


# --- coreset ----------------------------------------------------------------


def test_coreset_uses_embed_on_candidates_and_labeled_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 1, 2, 2))  # image-shaped
    labeled = np.zeros(12, dtype=bool)
    labeled[[0, 5]] = True
    candidates = np.array([1, 3, 7, 8, 11])
    spy = EmbedStub()
    idx, scores = CoreSetSampling().rank(spy, X, candidates, 3, labeled_mask=labeled)
    assert spy.proba_calls == []
    seen = np.concatenate(spy.embed_calls)
    assert_array_equal(seen, X[[1, 3, 7, 8, 11, 0, 5]])
    emb = X.reshape(12, -1).astype(np.float32)
    ref_idx, ref_dist = k_center_greedy(emb[candidates], emb[[0, 5]], 3)
    assert_array_equal(idx, candidates[ref_idx])
    assert_allclose(scores, ref_dist)


def test_coreset_falls_back_to_flattened_x(blobs):
    X, y, clf = blobs  # LogisticRegression has no embed
    labeled = np.zeros(40, dtype=bool)
    labeled[:20] = True
    idx, scores = CoreSetSampling().rank(
        clf, X, np.arange(20, 40), 4, labeled_mask=labeled
    )
    ref_idx, ref_dist = k_center_greedy(X[20:], X[:20], 4)
    assert_array_equal(idx, 20 + ref_idx)
    assert_allclose(scores, ref_dist)


def test_coreset_empty_labeled_part_is_seeded(blobs):
    X, _, clf = blobs
    none_labeled = np.zeros(40, dtype=bool)
    runs = [
        CoreSetSampling(random_state=1).rank(clf, X, np.arange(40), 5, labeled_mask=m)
        for m in (none_labeled, None)
    ]
    assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1][0] == np.inf and np.all(np.isfinite(runs[0][1][1:]))
    firsts = {
        int(CoreSetSampling().query(clf, X, np.arange(40), 1, random_state=s)[0])
        for s in range(10)
    }
    assert len(firsts) > 1  # rank's random_state really seeds the start


def test_coreset_errors(blobs):
    X, _, _ = blobs
    paths = np.array([f"img_{i}.png" for i in range(40)])
    with pytest.raises(TypeError, match="embed"):
        CoreSetSampling().query(None, paths, np.arange(40), 3)

    class BadEmbed:
        def embed(self, X):
            return np.zeros((1, 4))

    with pytest.raises(ValueError, match="estimator.embed returned shape"):
        CoreSetSampling().query(BadEmbed(), X, np.arange(40), 3)
    with pytest.raises(InvalidParameterError, match="'chunk_size' parameter"):
        CoreSetSampling(chunk_size=0).query(None, X, np.arange(40), 3)


# --- shared argument checks ---------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s, c, X, y: s.rank(c, X, [0, 40], 1), ValueError, r"in \[0, 40\)"),
        (lambda s, c, X, y: s.rank(c, X, [-1], 1), ValueError, r"in \[0, 40\)"),
        (lambda s, c, X, y: s.rank(c, X, [1, 1], 1), ValueError, "duplicate"),
        (lambda s, c, X, y: s.rank(c, X, [1.0, 2.0], 1), TypeError, "integer indices"),
        (lambda s, c, X, y: s.rank(c, X, [[1, 2]], 1), ValueError, "1-D"),
        (lambda s, c, X, y: s.rank(c, X, np.ones(3, bool), 1), ValueError, "mask"),
        (lambda s, c, X, y: s.rank(c, X, [1], -1), ValueError, "n .* >= 0"),
        (lambda s, c, X, y: s.rank(c, X, [1], 1.5), TypeError, "n .* integer"),
        (lambda s, c, X, y: s.rank(c, X, [1], 1, labels=y[:3]), ValueError, "labels"),
        (
            lambda s, c, X, y: s.rank(c, X, [1], 1, labeled_mask=np.ones(40, int)),
            TypeError,
            "boolean mask",
        ),
        (
            lambda s, c, X, y: s.rank(c, X, [1], 1, labeled_mask=np.ones(3, bool)),
            ValueError,
            "labeled_mask",
        ),
    ],
)
def test_bad_arguments(call, error, match, blobs):
    X, y, clf = blobs
    with pytest.raises(error, match=match):
        call(EntropySampling(), clf, X, y)


def test_estimator_without_predict_proba():
    with pytest.raises(TypeError, match="predict_proba"):
        EntropySampling().query(object(), np.zeros((3, 2)), [0, 1], 1)


def test_predict_proba_with_wrong_shape():
    class Wrong:
        classes_ = np.arange(2)

        def predict_proba(self, X):
            return np.full((1, 2), 0.5)

    with pytest.raises(ValueError, match="predict_proba returned shape"):
        EntropySampling().query(Wrong(), np.zeros((3, 2)), [0, 1], 1)


# --- properties over all strategies -----------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    strategy=st.sampled_from(ALL_STRATEGIES),
    n_samples=st.integers(1, 30),
    seed=st.integers(0, 1000),
)
def test_rank_contract_holds(data, strategy, n_samples, seed):
    rng = np.random.default_rng(seed)
    X = rng.dirichlet(np.ones(3), size=n_samples)
    labels = rng.integers(0, 3, size=n_samples)
    labeled = rng.random(n_samples) < 0.3
    candidates = data.draw(
        st.lists(st.integers(0, n_samples - 1), unique=True, max_size=n_samples)
    )
    n = data.draw(st.integers(0, n_samples + 2))
    kw = {"labels": labels, "labeled_mask": labeled, "random_state": seed}
    idx, scores = strategy.rank(EmbedStub(), X, candidates, n, **kw)
    assert idx.shape == scores.shape == (min(n, len(candidates)),)
    assert np.unique(idx).shape == idx.shape
    assert np.isin(idx, candidates).all()
    assert np.all(np.diff(scores) <= 0)
    again, _ = strategy.rank(EmbedStub(), X, candidates, n, **kw)
    assert_array_equal(idx, again)  # deterministic for a fixed seed


# --- what a strategy returns is checked -------------------------------------


class _RepeatingStrategy(BaseQueryStrategy):
    """A broken subclass: its _rank repeats the best candidate."""

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        return np.repeat(candidates[:1], n), np.zeros(n)


class _OutsideStrategy(BaseQueryStrategy):
    """A broken subclass: its _rank returns an index that is not a candidate."""

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        return np.array([0]), np.zeros(1)


def test_strategy_returning_duplicates_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"_RepeatingStrategy returned contain dup"):
        _RepeatingStrategy().query(None, np.zeros((6, 1)), [2, 3, 4], 2)


def test_strategy_returning_non_candidates_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"not among the candidates: \[0\]"):
        _OutsideStrategy().query(None, np.zeros((6, 1)), [2, 3, 4], 2)
