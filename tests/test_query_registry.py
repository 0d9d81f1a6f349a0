"""get_query_strategy: names, objects and the validating callable wrapper."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from noisyactive.query import (
    CallableStrategy,
    CoreSetSampling,
    EntropySampling,
    LabelCleaningSampling,
    LeastConfidenceSampling,
    MarginSampling,
    RandomSampling,
    get_query_strategy,
)
from noisyactive.utils._param_validation import InvalidParameterError

X = np.arange(20, dtype=float).reshape(10, 2)
CANDIDATES = np.array([1, 3, 5, 7, 9])


@pytest.fixture(scope="module")
def clf():
    return LogisticRegression().fit(X, np.repeat([0, 1], 5))


@pytest.mark.parametrize(
    ("name", "cls", "params"),
    [
        ("random", RandomSampling, {}),
        ("entropy", EntropySampling, {}),
        ("margin", MarginSampling, {}),
        ("least_confidence", LeastConfidenceSampling, {}),
        ("coreset", CoreSetSampling, {}),
        ("label_cleaning", LabelCleaningSampling, {"ambiguity": False}),
        ("label_cleaning_ambiguity", LabelCleaningSampling, {"ambiguity": True}),
    ],
)
def test_names(name, cls, params):
    strategy = get_query_strategy(name)
    assert type(strategy) is cls
    for key, value in params.items():
        assert getattr(strategy, key) == value
    assert get_query_strategy(name) is not strategy  # a fresh object each call


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown query strategy 'entropie'") as info:
        get_query_strategy("entropie")
    for name in ["random", "entropy", "margin", "least_confidence", "coreset"]:
        assert repr(name) in str(info.value)
    assert "'label_cleaning_ambiguity'" in str(info.value)


def test_strategy_object_is_returned_unchanged():
    strategy = MarginSampling()
    assert get_query_strategy(strategy) is strategy

    class Custom:
        def rank(self, estimator, X, candidates, n, **kw):
            return np.asarray(candidates)[:n], np.zeros(min(n, len(candidates)))

    custom = Custom()
    assert get_query_strategy(custom) is custom


@pytest.mark.parametrize("bad", [None, 3, ["entropy"]])
def test_not_a_strategy(bad):
    with pytest.raises(TypeError, match="name, an object with a rank or query"):
        get_query_strategy(bad)


def test_class_instead_of_instance():
    with pytest.raises(TypeError, match=r"write EntropySampling\(\) instead"):
        get_query_strategy(EntropySampling)


def test_plain_callable_modal_style(clf):
    # No random_state parameter at all: called without it.
    def first_n(estimator, X, candidates, n):
        return candidates[:n]

    strategy = get_query_strategy(first_n)
    assert isinstance(strategy, CallableStrategy)
    idx, scores = strategy.rank(clf, X, CANDIDATES, 3, random_state=0)
    assert_array_equal(idx, [1, 3, 5])
    assert np.isnan(scores).all() and scores.shape == (3,)
    assert_array_equal(strategy.query(clf, X, CANDIDATES, 2), [1, 3])


def test_callable_gets_only_the_keywords_it_accepts(clf):
    seen = {}

    def with_seed(estimator, X, candidates, n, *, random_state):
        seen["seed"] = random_state
        return candidates[:n]

    def with_labels(estimator, X, candidates, n, *, random_state=None, labels=None):
        seen["labels"] = labels
        return candidates[:n]

    def with_everything(estimator, X, candidates, n, **kwargs):
        seen["kwargs"] = sorted(kwargs)
        return candidates[:n]

    labels = np.zeros(10, dtype=int)
    mask = np.zeros(10, dtype=bool)
    kw = {"labels": labels, "labeled_mask": mask, "random_state": 5}
    get_query_strategy(with_seed).rank(clf, X, CANDIDATES, 1, **kw)
    get_query_strategy(with_labels).rank(clf, X, CANDIDATES, 1, **kw)
    get_query_strategy(with_everything).rank(clf, X, CANDIDATES, 1, **kw)
    assert seen["seed"] == 5
    assert seen["labels"] is not None and seen["labels"].shape == (10,)
    assert seen["kwargs"] == ["labeled_mask", "labels", "random_state"]


def test_callable_cannot_mutate_callers_candidates(clf):
    def shuffling(estimator, X, candidates, n, *, random_state=None):
        candidates[:] = candidates[::-1]
        return candidates[:n]

    cand = CANDIDATES.copy()
    idx = get_query_strategy(shuffling).query(clf, X, cand, 2)
    assert_array_equal(cand, CANDIDATES)
    assert_array_equal(idx, [9, 7])


def test_object_with_only_query_is_wrapped_and_validated(clf):
    class OnlyQuery:
        def query(self, estimator, X, candidates, n, random_state=None):
            return [candidates[0], candidates[0]]

    strategy = get_query_strategy(OnlyQuery())
    assert isinstance(strategy, CallableStrategy)
    with pytest.raises(ValueError, match="duplicate indices"):
        strategy.query(clf, X, CANDIDATES, 2)


@pytest.mark.parametrize(
    ("returned", "error", "match"),
    [
        (None, TypeError, "returned None"),
        ([1, 1], ValueError, "duplicate indices"),
        ([1, 2], ValueError, r"not among the candidates: \[2\]"),
        ([1, 3, 5, 7], ValueError, "holds 4 indices but at most 3 were asked"),
        ([1.0, 3.0], TypeError, "integer indices"),
        ([[1, 3]], ValueError, "1-D array"),
    ],
)
def test_callable_result_validation(returned, error, match, clf):
    def bad(estimator, X, candidates, n, *, random_state=None):
        return returned

    with pytest.raises(error, match=match) as info:
        get_query_strategy(bad).query(clf, X, CANDIDATES, 3)
    assert "bad" in str(info.value)  # the message names the function


def test_callable_may_return_fewer_or_none(clf):
    def nothing(estimator, X, candidates, n, *, random_state=None):
        return []

    idx, scores = get_query_strategy(nothing).rank(clf, X, CANDIDATES, 3)
    assert idx.shape == scores.shape == (0,)
    assert idx.dtype.kind == "i"


def test_callable_strategy_clone_and_not_callable():
    def f(estimator, X, candidates, n):
        return candidates[:n]

    wrapper = CallableStrategy(f)
    assert clone(wrapper).func is f
    with pytest.raises(InvalidParameterError, match="func.*must be a callable"):
        CallableStrategy(3).query(None, X, CANDIDATES, 1)


def test_callable_is_not_called_for_empty_candidates():
    def boom(estimator, X, candidates, n):
        raise AssertionError("must not be called")

    idx, _ = get_query_strategy(boom).rank(None, X, [], 3)
    assert idx.shape == (0,)
