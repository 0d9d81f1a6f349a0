"""forget_rate="auto" in NoisyLabelFilter: the cross-fitted estimate is used."""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from noisyactive import NoisyLabelFilter
from noisyactive.datasets import inject_label_noise
from noisyactive.filtering import estimate_class_clean_counts

FAST = dict(num_gradual=2, vog_window=2, max_epochs=6, lr=0.05, batch_size=64)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        600, 10, n_informative=8, n_classes=3, class_sep=2.5, random_state=0
    )
    y_noisy = inject_label_noise(y, 0.3, random_state=0)
    return X.astype(np.float32), y_noisy, y


@pytest.fixture(scope="module")
def auto_quota(data):
    X, y_noisy, _ = data
    return NoisyLabelFilter(selection="class_quota", random_state=0, **FAST).fit(
        X, y_noisy
    )


def test_auto_forget_rate_is_the_cross_fitted_estimate(auto_quota, data):
    _, y_noisy, y = data
    filt = auto_quota
    est = filt.noise_estimate_
    assert filt.forget_rate_ == pytest.approx(est.rate)
    assert filt.forget_rate_std_ == pytest.approx(est.rate_std)
    assert abs(filt.forget_rate_ - np.mean(y_noisy != y)) < 0.1


def test_auto_class_counts_and_rates_come_from_the_estimate(auto_quota, data):
    _, y_noisy, y = data
    filt = auto_quota
    np.testing.assert_allclose(
        filt.class_clean_counts_, filt.noise_estimate_.class_clean_counts, rtol=1e-6
    )
    np.testing.assert_allclose(
        filt.class_noise_rates_, filt.noise_estimate_.class_rates, atol=1e-6
    )
    truth = [np.mean(y[y_noisy == c] != c) for c in filt.classes_]
    assert np.mean(np.abs(filt.class_noise_rates_ - truth)) < 0.1
    # class_quota keeps about the estimated clean count per class.
    kept = np.bincount(y_noisy[filt.clean_mask_], minlength=3)
    np.testing.assert_allclose(kept, filt.class_clean_counts_, atol=2)


def test_given_rate_keeps_the_symmetric_formula(data):
    X, y_noisy, _ = data
    filt = NoisyLabelFilter(forget_rate=0.25, random_state=0, **FAST).fit(X, y_noisy)
    assert filt.noise_estimate_ is None
    assert filt.forget_rate_ == 0.25 and filt.forget_rate_std_ == 0.0
    counts = np.bincount(y_noisy)
    np.testing.assert_allclose(
        filt.class_clean_counts_, estimate_class_clean_counts(counts, 0.25)
    )
    np.testing.assert_allclose(
        filt.class_noise_rates_, 1 - filt.class_clean_counts_ / counts
    )
