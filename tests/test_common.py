"""scikit-learn's estimator checks over every estimator and query strategy.

One table of fast constructor arguments (``FAST_PARAMS``) and one explained list
of expected failures (``EXPECTED_FAILED_CHECKS``), as imbalanced-learn's
``test_common.py`` does. For the estimators a listed check runs as a strict
xfail (if it starts passing, the test fails and the entry must go). For the
query strategies the listed checks are those that need ``fit``, which a
strategy does not have; they are left out of the parametrization, and
``test_strategy_checks_listed_as_needing_fit_are_exactly_those_failing`` keeps
the list exact (it fails when a listed check passes or another one fails).
"""

import re

import pytest
from _stubs import MaskFilter
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import (
    check_estimator,
    estimator_checks_generator,
)

from noisyactive import ActiveLabelCleaner, NetClassifier, NoisyLabelFilter
from noisyactive.query import (
    BaseQueryStrategy,
    CallableStrategy,
    CoreSetSampling,
    EntropySampling,
    LabelCleaningSampling,
    LeastConfidenceSampling,
    MarginSampling,
    RandomSampling,
    SecondOpinionSampling,
)


class AbstainingOracle:
    """An expert who never knows: every round runs, nothing is relabeled."""

    def __call__(self, ids, X_subset):
        return [None] * len(ids)

    def __repr__(self):  # stable test ids
        return "AbstainingOracle()"


class FirstCandidates:
    """A query function for CallableStrategy (a class: picklable, stable repr)."""

    def __call__(self, estimator, X, candidates, n):
        return candidates[:n]

    def __repr__(self):
        return "FirstCandidates()"


# Small networks and few epochs: the checks fit each estimator dozens of times.
_NET = dict(
    module_kwargs={"hidden_sizes": (32,)},
    max_epochs=12,
    lr=0.1,
    batch_size=64,
    random_state=0,
)
_FILTER = dict(_NET, forget_rate=0.1, num_gradual=2, vog_window=2, mix_ratio=0.3)

# Constructor arguments of each estimator under test; one entry per variant.
FAST_PARAMS = {
    NetClassifier: [_NET],
    NoisyLabelFilter: [_FILTER, dict(_FILTER, selection="class_quota")],
    ActiveLabelCleaner: [
        # Phase 1 stand-in, two abstained rounds: the full campaign path.
        dict(
            estimator=MaskFilter(),
            classifier=LogisticRegression(),
            oracle=AbstainingOracle(),
            batch_size=2,
            n_rounds=2,
            random_state=0,
        ),
        # No oracle, start from the noisy labels, a fractional batch.
        dict(
            estimator=LogisticRegression(),
            classifier=LogisticRegression(),
            start="noisy",
            refit="scratch",
            batch_size=0.1,
            n_rounds=1,
            random_state=0,
        ),
    ],
    RandomSampling: [dict(random_state=0)],
    EntropySampling: [{}],
    MarginSampling: [{}],
    LeastConfidenceSampling: [{}],
    CoreSetSampling: [dict(random_state=0)],
    LabelCleaningSampling: [{}, dict(ambiguity=True)],
    SecondOpinionSampling: [{}],
    CallableStrategy: [dict(func=FirstCandidates())],
}

# A query strategy is a BaseEstimator with rank/query and no fit (the
# scikit-activeml / modAL design): it is configured, never fitted. Every check
# that calls fit therefore fails with "has no attribute 'fit'". The checks that
# still run on strategies are the API ones: clone, repr, get/set_params,
# nothing set in __init__, default-constructible parameters, tags.
_NO_FIT = (
    "query strategies have no fit (they rank candidates for a fitted "
    "classifier); see noisyactive.query"
)
_STRATEGY_CHECKS_NEEDING_FIT = (
    "check_complex_data",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit1d",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
)
# Estimator class -> {check name: why it is expected to fail}.
EXPECTED_FAILED_CHECKS = {
    BaseQueryStrategy: dict.fromkeys(_STRATEGY_CHECKS_NEEDING_FIT, _NO_FIT),
}


def _all_estimators():
    return [cls(**kw) for cls, variants in FAST_PARAMS.items() for kw in variants]


def _expected_failed_checks(estimator):
    expected = {}
    for cls, checks in EXPECTED_FAILED_CHECKS.items():
        if isinstance(estimator, cls):
            expected.update(checks)
    return expected


def _all_checks():
    for estimator in _all_estimators():
        if isinstance(estimator, BaseQueryStrategy):
            # Not run at all rather than 27 skips per strategy; the guard test
            # below keeps the list exact.
            for est, check in estimator_checks_generator(estimator):
                if _check_id(check) not in _STRATEGY_CHECKS_NEEDING_FIT:
                    yield est, check
            continue
        yield from estimator_checks_generator(
            estimator,
            expected_failed_checks=_expected_failed_checks(estimator),
            mark="xfail",
            xfail_strict=True,
        )


def _check_id(value):
    if hasattr(value, "get_params"):
        return re.sub(r"\s", "", str(value))
    return getattr(value, "func", value).__name__


def test_every_public_strategy_is_in_the_table():
    import noisyactive.query as query

    strategies = {
        obj
        for obj in vars(query).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseQueryStrategy)
        and obj is not BaseQueryStrategy
    }
    assert strategies <= set(FAST_PARAMS), strategies - set(FAST_PARAMS)


@pytest.mark.parametrize(
    "strategy",
    [RandomSampling(), CoreSetSampling(), CallableStrategy(FirstCandidates())],
)
def test_strategy_checks_listed_as_needing_fit_are_exactly_those_failing(strategy):
    results = check_estimator(strategy, on_fail=None, on_skip=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == set(EXPECTED_FAILED_CHECKS[BaseQueryStrategy])
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert {"check_estimator_cloneable", "check_no_attributes_set_in_init"} <= passed


@pytest.mark.parametrize("estimator, check", list(_all_checks()), ids=_check_id)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
