"""The noise-rate estimator: confident joint, agreement correction, warnings."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from noisyactive.filtering import (
    agreement_noise_rate,
    confident_joint,
    cross_fit_predict_proba,
    estimate_class_clean_counts,
    estimate_noise,
    estimate_noise_cross_fit,
    noise_rates_from_joint,
    symmetric_noise_bound,
)


def _symmetric_noise(true, k, rate, rng):
    flip = rng.random(true.size) < rate
    other = (true + rng.integers(1, k, true.size)) % k
    return np.where(flip, other, true)


def _peaked_probs(true, k, rng, peak=0.7, spread=True):
    """Probabilities a classifier that knows the true class might give."""
    if not spread:
        p = np.full((true.size, k), (1 - peak) / k)
    else:
        p = rng.dirichlet(np.ones(k), true.size) * (1 - peak)
    p[np.arange(true.size), true] += peak
    return p


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(2, 6),
    rate=st.floats(0.0, 0.6),
    n=st.integers(60, 400),
    seed=st.integers(0, 10_000),
)
def test_confident_joint_recovers_known_rates_from_accurate_probabilities(
    k, rate, n, seed
):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    noisy = _symmetric_noise(true, k, rate * (k - 1) / k, rng)
    probs = _peaked_probs(true, k, rng, spread=False)
    est = estimate_noise(noisy, probs, n_bootstrap=0, warn=False)
    assert est.rate == pytest.approx(np.mean(noisy != true), abs=1e-9)
    for c in range(k):
        if np.any(noisy == c):
            assert est.class_rates[c] == pytest.approx(
                np.mean(true[noisy == c] != c), abs=1e-9
            )


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(3, 10),
    rate=st.floats(0.05, 0.7),
    acc=st.floats(0.6, 0.95),
    seed=st.integers(0, 10_000),
)
def test_agreement_rate_corrects_for_classifier_errors(k, rate, acc, seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    true = rng.integers(0, k, n)
    noisy = _symmetric_noise(true, k, rate, rng)
    preds = np.stack(
        [
            np.where(rng.random(n) < acc, true, (true + rng.integers(1, k, n)) % k)
            for _ in range(3)
        ]
    )
    realised = np.mean(noisy != true)
    assert agreement_noise_rate(noisy, preds, k) == pytest.approx(realised, abs=0.03)
    # What confident learning alone reads: the classifier's errors as noise too.
    excess = (1 - acc) * (1 - rate * k / (k - 1))
    assert np.mean(preds != noisy) - realised == pytest.approx(excess, abs=0.02)


def test_agreement_rate_with_one_prediction_is_the_disagreement():
    assert agreement_noise_rate([0, 1, 1, 0], [[0, 1, 0, 1]], 2) == 0.5


def test_scaled_rates_and_transition_give_the_clean_counts():
    rng = np.random.default_rng(0)
    k, n = 4, 800
    true = rng.choice(k, n, p=[0.5, 0.3, 0.15, 0.05])
    noisy = _symmetric_noise(true, k, 0.4, rng)
    # Three cross-fits of a classifier right 80 % of the time.
    probs = np.stack([_peaked_probs(true, k, rng, peak=0.4) for _ in range(3)])
    for p in probs:
        wrong = rng.random(n) < 0.2
        p[wrong] = p[wrong][:, ::-1]
    est = estimate_noise(noisy, probs, n_bootstrap=20, warn=False)
    assert est.rate <= est.confident_rate
    m = np.bincount(noisy, minlength=k)
    np.testing.assert_allclose(est.class_clean_counts, m * (1 - est.class_rates))
    np.testing.assert_allclose(est.transition.sum(1), 1.0)
    np.testing.assert_allclose(
        estimate_class_clean_counts(m, est.rate, transition_matrix=est.transition),
        est.class_clean_counts,
        rtol=1e-6,
    )
    assert est.rate == pytest.approx(np.sum(m * est.class_rates) / n, abs=1e-9), (
        "the per-class rates average to the global rate"
    )


def test_noise_rates_from_joint_exact():
    rates, rate = noise_rates_from_joint([[6.0, 2.0, 2.0], [1.0, 4.0, 0.0], [0, 0, 0]])
    np.testing.assert_allclose(rates, [0.4, 0.2, 0.0])
    assert rate == pytest.approx(5 / 15)


def test_confident_joint_counts_a_sample_below_every_threshold_nowhere():
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
    raw = confident_joint([0, 0, 1, 1], p, calibrate=False)
    # thresholds 0.75 (class 0) and 0.65 (class 1): rows 1 and 3 pass neither.
    np.testing.assert_array_equal(raw, [[1, 0], [0, 1]])


def test_unstable_estimate_warns_with_its_numbers():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 30)
    probs = rng.dirichlet(np.ones(3), (3, 30))  # three unrelated "classifiers"
    with pytest.warns(UserWarning, match=r"unstable.*0\.\d\d\d") as record:
        est = estimate_noise(y, probs, n_bootstrap=50)
    assert est.rate_std > 0.05
    assert any(str(est.rate)[:4] in str(w.message) for w in record)


def test_estimate_leaving_a_class_without_clean_sample_warns():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 3, 300)
    noisy = true.copy()
    noisy[:10] = 2
    true[:10] = 0
    noisy[true == 2] = 1  # class 2 is never its own label: every 2 is noise
    probs = _peaked_probs(true, 3, rng, peak=0.8, spread=False)
    with pytest.warns(UserWarning, match=r"classes \[2\].*fewer than one clean"):
        est = estimate_noise(noisy, probs, n_bootstrap=10)
    assert est.class_clean_counts[2] < 1


def test_stable_estimate_does_not_warn():
    rng = np.random.default_rng(2)
    true = rng.integers(0, 3, 2000)
    noisy = _symmetric_noise(true, 3, 0.3, rng)
    est = estimate_noise(noisy, _peaked_probs(true, 3, rng), n_bootstrap=50)
    assert est.warnings == []


def test_cross_fit_probabilities_are_out_of_sample():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = rng.integers(0, 2, 200)  # pure noise: only memorisation can fit it
    probs = cross_fit_predict_proba(KNeighborsClassifier(1), X, y, random_state=0)
    assert probs.shape == (200, 2)
    # In-sample 1-NN would agree with every label.
    assert np.mean(probs.argmax(1) == y) < 0.65


def test_cross_fit_estimate_on_tabular_data_with_known_noise():
    from sklearn.datasets import make_classification

    X, true = make_classification(
        1500, 10, n_informative=8, n_classes=3, class_sep=3.0, random_state=0
    )
    rng = np.random.default_rng(0)
    noisy = _symmetric_noise(true, 3, 0.3, rng)
    est = estimate_noise_cross_fit(
        LogisticRegression(max_iter=500), X, noisy, random_state=0, warn=False
    )
    assert est.pred_probs.shape == (3, 1500, 3)
    assert abs(est.rate - np.mean(noisy != true)) < 0.05
    truth = [np.mean(true[noisy == c] != c) for c in range(3)]
    assert np.mean(np.abs(est.class_rates - truth)) < 0.06


def test_classifier_no_better_than_the_majority_class_warns():
    rng = np.random.default_rng(3)
    true = rng.choice(3, 500, p=[0.7, 0.2, 0.1])
    noisy = _symmetric_noise(true, 3, 0.3, rng)
    probs = np.tile([0.6, 0.25, 0.15], (2, 500, 1))  # the prior, for everyone
    probs += rng.normal(0, 0.01, probs.shape)
    with pytest.warns(UserWarning, match=r"agrees with the labels \(0\.\d+\) hardly"):
        est = estimate_noise(noisy, probs, n_bootstrap=10)
    assert est.agreement <= est.majority_agreement + 0.02


@settings(max_examples=40, deadline=None)
@example(share=1.0, k=6, seed=11)
@given(
    share=st.floats(0.0, 1.0),
    k=st.integers(2, 8),
    seed=st.integers(0, 2**16),
)
def test_symmetric_bound_holds_for_symmetric_noise(share, k, seed):
    rate = share * (k - 1) / k  # beyond, the labels are worse than chance
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.full(k, 0.5))
    true = rng.choice(k, 4000, p=prior)
    noisy = _symmetric_noise(true, k, rate, rng)
    bound = symmetric_noise_bound(np.bincount(noisy, minlength=k))
    # The bound holds in expectation. Its sampling error is (k - 1) / n times
    # that of the smallest count: allow 4 standard errors of a count near n / k
    # (at share = 1 the labels are uniform and the smallest of k counts sits
    # well below n / k; hypothesis found k = 6, seed = 11 at 0.06 slack).
    n = true.size
    slack = 4 * (k - 1) * np.sqrt(n / k * (1 - 1 / k)) / n
    assert bound >= np.mean(noisy != true) - max(slack, 0.06)


def test_unreliable_estimate_names_the_symmetric_bound_when_lower():
    # HAM10000-like: one class holds 2/3 of the samples, the rarest about 1 %;
    # a classifier that always gives the prior inflates the estimate.
    rng = np.random.default_rng(0)
    prior = np.array([0.67, 0.11, 0.11, 0.05, 0.03, 0.015, 0.015])
    true = rng.choice(7, 3000, p=prior)
    noisy = _symmetric_noise(true, 7, 0.3, rng)
    m = np.bincount(noisy, minlength=7)
    probs = np.tile(m / m.sum(), (3, 3000, 1)) + rng.normal(0, 0.005, (3, 3000, 7))
    probs = np.clip(probs, 1e-3, None)
    probs /= probs.sum(2, keepdims=True)
    with pytest.warns(UserWarning, match=r"symmetric noise\), the rate is at most"):
        est = estimate_noise(noisy, probs, n_bootstrap=5)
    assert est.symmetric_bound < est.rate
    assert abs(est.symmetric_bound - np.mean(noisy != true)) < 0.08


def test_confident_joint_matches_cleanlab_where_one_class_passes():
    count = pytest.importorskip("cleanlab.count")
    rng = np.random.default_rng(0)
    n, k = 500, 4
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k) * 0.2, n)
    p[np.arange(n), y] += 2 * rng.random(n)
    p /= p.sum(1, keepdims=True)
    np.testing.assert_array_equal(
        confident_joint(y, p, calibrate=False),
        count.compute_confident_joint(y, p, calibrate=False),
    )
    # cleanlab rounds the calibrated counts to integers.
    np.testing.assert_allclose(
        confident_joint(y, p), count.compute_confident_joint(y, p), atol=1.0
    )


def test_confident_joint_takes_the_most_probable_class_above_threshold():
    # Thresholds 0.7, 0.3, 0.25. The last sample passes those of classes 1 and
    # 2 but not that of its overall argmax, class 0: it goes to class 1.
    p = np.array(
        [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.5, 0.25, 0.25], [0.45, 0.3, 0.25]]
    )
    raw = confident_joint([0, 1, 2, 1], p, calibrate=False)
    np.testing.assert_array_equal(raw, [[1, 0, 0], [0, 2, 0], [0, 0, 1]])
