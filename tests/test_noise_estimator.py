"""forget_rate="auto" runs one named estimator: the cross-fit before training,
the loss mixture during the warm-up, or any object with ``estimate(X, y)``."""

from unittest import mock

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive import NetClassifier, NoisyLabelFilter
from noisyactive.datasets import inject_label_noise
from noisyactive.filtering import (
    CrossFitNoiseEstimator,
    cross_fit_predict_proba,
    estimate_class_clean_counts,
    estimate_noise_cross_fit,
    warmup_forget_rate,
)
from noisyactive.utils._param_validation import InvalidParameterError

FAST = dict(
    num_gradual=3, vog_window=2, max_epochs=5, lr=0.05, batch_size=64, device="cpu"
)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        300, 8, n_informative=6, n_classes=3, class_sep=2.0, random_state=0
    )
    return X.astype(np.float32), inject_label_noise(y, 0.3, random_state=0)


class FixedRate:
    """A user's estimator: a known rate, with or without a transition matrix."""

    def __init__(self, result):
        self.result = result
        self.calls = []

    def estimate(self, X, y):
        self.calls.append((np.shape(X), np.unique(y).tolist()))
        return self.result


def test_loss_mixture_runs_in_the_warm_up_without_any_cross_fit(data):
    X, y = data
    with mock.patch.object(NetClassifier, "fit", side_effect=AssertionError):
        filt = NoisyLabelFilter(
            noise_estimator="loss_mixture", random_state=0, **FAST
        ).fit(X, y)
    est = filt.noise_estimate_
    assert est.method == "loss_mixture" and est.transition is None
    # One estimate per warm-up epoch after the first (it needs last epoch's
    # losses), frozen at the median of the warm-up's second half.
    assert est.epoch_rates.shape == (FAST["num_gradual"],)
    rate, frozen = warmup_forget_rate(est.epoch_rates, 3, 3)
    assert frozen and filt.forget_rate_ == pytest.approx(rate) == est.rate
    assert np.isnan(filt.forget_rate_std_)
    counts = np.bincount(y)
    np.testing.assert_allclose(
        filt.class_clean_counts_, estimate_class_clean_counts(counts, rate)
    )
    assert filt.history_[-1, "forget_rate"] == pytest.approx(rate)


def test_cross_fit_is_the_default_and_says_so(data):
    X, y = data
    filt = NoisyLabelFilter(random_state=0, **FAST).fit(X, y)
    assert filt.noise_estimate_.method == "cross_fit"
    assert filt.noise_estimate_.pred_probs.shape == (3, len(y), 3)
    assert "epoch_rates" not in filt.noise_estimate_
    assert not hasattr(filt, "noise_rate_estimates_")


def test_an_object_with_estimate_is_called_once_before_training(data):
    X, y = data
    user = FixedRate(0.2)
    filt = NoisyLabelFilter(noise_estimator=user, random_state=0, **FAST).fit(X, y)
    assert user.calls == [(X.shape, [0, 1, 2])]  # encoded labels
    assert filt.forget_rate_ == 0.2 and filt.forget_rate_std_ == 0.0
    assert filt.noise_estimate_.method == "FixedRate"
    np.testing.assert_allclose(
        filt.class_clean_counts_, estimate_class_clean_counts(np.bincount(y), 0.2)
    )


def test_an_objects_transition_sets_the_class_counts(data):
    X, y = data
    T = np.array([[0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    user = FixedRate({"rate": 0.1, "rate_std": 0.01, "transition": T, "warnings": []})
    filt = NoisyLabelFilter(noise_estimator=user, random_state=0, **FAST).fit(X, y)
    assert filt.forget_rate_std_ == 0.01
    np.testing.assert_allclose(
        filt.class_clean_counts_,
        estimate_class_clean_counts(np.bincount(y), 0.1, transition_matrix=T),
    )


def test_an_objects_warnings_are_emitted(data):
    X, y = data
    user = FixedRate({"rate": 0.2, "warnings": ["mine is shaky"]})
    with pytest.warns(UserWarning, match="mine is shaky"):
        NoisyLabelFilter(noise_estimator=user, random_state=0, **FAST).fit(X, y)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.2", True, {"std": 0.1}])
def test_a_bad_rate_from_an_object_is_refused_before_co_teaching(data, bad):
    X, y = data
    filt = NoisyLabelFilter(noise_estimator=FixedRate(bad), **FAST)
    with (
        mock.patch.object(filt._net_class, "fit", side_effect=AssertionError),
        pytest.raises(ValueError, match="noise_estimator.estimate"),
    ):
        filt.fit(X, y)


def test_cross_fit_noise_estimator_with_another_classifier(data):
    X, y = data
    est = CrossFitNoiseEstimator(LogisticRegression(), random_state=0)
    filt = NoisyLabelFilter(noise_estimator=est, random_state=0, **FAST).fit(X, y)
    assert filt.noise_estimate_.method == "CrossFitNoiseEstimator"
    assert 0.1 < filt.forget_rate_ < 0.5
    assert clone(filt).noise_estimator is not est  # cloned like an estimator
    assert filt.get_params()["noise_estimator__n_repeats"] == 3


def test_one_sample_of_a_class_says_which_and_what_to_pass():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(41, 4)).astype(np.float32)
    y = np.array(["common"] * 20 + ["other"] * 20 + ["rare"])
    filt = NoisyLabelFilter(**FAST)
    with (
        mock.patch.object(NetClassifier, "fit", side_effect=AssertionError),
        pytest.raises(ValueError) as info,
    ):
        filt.fit(X, y)
    message = str(info.value)
    assert "class 'rare' (1 sample) has fewer" in message
    assert "forget_rate=0.2" in message and "noise_estimator='loss_mixture'" in message
    assert "n_splits" not in message
    # The loss mixture and a given rate need no cross-fit.
    NoisyLabelFilter(noise_estimator="loss_mixture", **FAST).fit(X, y)
    NoisyLabelFilter(forget_rate=0.2, **FAST).fit(X, y)


def test_cross_fit_functions_name_the_small_class_and_validate_params():
    X = np.zeros((5, 2))
    y = np.array(["a", "a", "b", "b", "c"])
    with pytest.raises(ValueError, match=r"fewer: 'c' \(1\)"):
        cross_fit_predict_proba(LogisticRegression(), X, y)
    with pytest.raises(ValueError, match=r"fewer: 'c' \(1\)"):
        estimate_noise_cross_fit(LogisticRegression(), X, y)
    with pytest.raises(InvalidParameterError, match="n_repeats"):
        estimate_noise_cross_fit(LogisticRegression(), X, y, n_repeats=0)
    with pytest.raises(InvalidParameterError, match="n_splits"):
        cross_fit_predict_proba(LogisticRegression(), X, y, n_splits=1)
    with pytest.raises(InvalidParameterError, match="estimator"):
        cross_fit_predict_proba(object(), X, y)


def test_a_broken_module_fails_before_a_users_estimator_runs(data):
    X, y = data
    user = FixedRate(0.2)
    filt = NoisyLabelFilter(module="small_cnn", noise_estimator=user, **FAST)
    with pytest.raises(TypeError, match="in_channels"):
        filt.fit(X, y)  # small_cnn needs images
    assert user.calls == []
