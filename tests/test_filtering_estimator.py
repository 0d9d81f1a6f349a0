"""NoisyLabelFilter and NetClassifier as scikit-learn estimators."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from noisyactive import NetClassifier, NoisyLabelFilter
from noisyactive.datasets import inject_label_noise, make_noisy_digits

FAST = dict(
    module_kwargs={"hidden_sizes": (32,)},
    max_epochs=12,
    lr=0.1,
    batch_size=64,
    random_state=0,
)
FAST_FILTER = dict(FAST, forget_rate=0.1, num_gradual=2, vog_window=2)


# sklearn's estimator checks for these estimators run in tests/test_common.py.


@pytest.fixture(scope="module")
def noisy_blobs():
    X, y = make_classification(
        400, 12, n_informative=8, n_classes=3, class_sep=2.0, random_state=0
    )
    y_noisy, flipped = inject_label_noise(y, 0.3, random_state=0, return_mask=True)
    return X.astype(np.float32), y, y_noisy, flipped


@pytest.fixture(scope="module")
def fitted_filter(noisy_blobs):
    X, _, y_noisy, _ = noisy_blobs
    params = dict(FAST_FILTER, forget_rate=0.3, max_epochs=10, mix_ratio=0.2)
    return NoisyLabelFilter(**params).fit(X, y_noisy)


def test_fitted_attributes_and_precision(noisy_blobs, fitted_filter):
    X, _, y_noisy, flipped = noisy_blobs
    f = fitted_filter
    n = len(y_noisy)
    assert f.clean_mask_.dtype == bool and f.clean_mask_.shape == (n,)
    assert f.selection_rate_.shape == (n,)
    assert ((0 <= f.selection_rate_) & (f.selection_rate_ <= 1)).all()
    assert np.isfinite(f.vog_scores_).all() and np.isfinite(f.loss_scores_).all()
    assert f.forget_rate_ == 0.3
    # Network 1 keeps floor(0.7 b) per batch in the last epoch: 44 + 44 + ... .
    sizes = [64] * 6 + [16]
    assert f.clean_mask_.sum() == sum(int(0.7 * b + 1e-9) for b in sizes)
    precision = (~flipped)[f.clean_mask_].mean()
    assert precision > (~flipped).mean() + 0.1
    assert f.vog_buffer_nbytes_ == 2 * n * 2 * (32 + 1) * 4
    assert f.class_clean_counts_.shape == (3,)


def test_same_random_state_same_clean_mask(noisy_blobs, fitted_filter):
    X, _, y_noisy, _ = noisy_blobs
    again = clone(fitted_filter).fit(X, y_noisy)
    np.testing.assert_array_equal(again.clean_mask_, fitted_filter.clean_mask_)
    np.testing.assert_allclose(again.predict_proba(X), fitted_filter.predict_proba(X))


def test_mix_ratio_zero_ignores_vog(noisy_blobs):
    X, _, y_noisy, _ = noisy_blobs
    # Co-teaching's own mask (the default's loss mixture would ignore VOG anyway)
    params = dict(FAST_FILTER, forget_rate=0.3, max_epochs=6, final_selection=None)
    plain = NoisyLabelFilter(mix_ratio=0.0, **params).fit(X, y_noisy)
    normed = NoisyLabelFilter(mix_ratio=0.0, vog_normalize="class", **params)
    normed.fit(X, y_noisy)
    np.testing.assert_array_equal(plain.clean_mask_, normed.clean_mask_)
    mixed = NoisyLabelFilter(mix_ratio=0.5, **params).fit(X, y_noisy)
    assert not np.array_equal(plain.clean_mask_, mixed.clean_mask_)


def test_pickle_joblib_clone_roundtrip(tmp_path, noisy_blobs, fitted_filter):
    X = noisy_blobs[0]
    expected = fitted_filter.predict_proba(X)
    restored = pickle.loads(pickle.dumps(fitted_filter))
    np.testing.assert_allclose(restored.predict_proba(X), expected)
    joblib.dump(fitted_filter, tmp_path / "f.joblib")
    loaded = joblib.load(tmp_path / "f.joblib")
    np.testing.assert_array_equal(loaded.clean_mask_, fitted_filter.clean_mask_)
    np.testing.assert_allclose(loaded.predict_proba(X), expected)
    assert not hasattr(clone(fitted_filter), "clean_mask_")


def test_gridsearch_over_mix_ratio_in_pipeline(noisy_blobs):
    X, _, y_noisy, _ = noisy_blobs
    pipe = Pipeline(
        [("scale", StandardScaler()), ("filter", NoisyLabelFilter(**FAST_FILTER))]
    )
    search = GridSearchCV(
        pipe,
        {"filter__mix_ratio": [0, 0.2, 0.5]},
        scoring="f1_macro",
        cv=2,
        n_jobs=2,
    )
    search.fit(X, y_noisy)
    assert set(search.cv_results_["param_filter__mix_ratio"]) == {0, 0.2, 0.5}
    assert search.best_score_ > 0.5


def test_fit_resample_in_imblearn_pipeline(noisy_blobs):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.linear_model import LogisticRegression

    X, y_true, y_noisy, flipped = noisy_blobs
    filt = NoisyLabelFilter(**dict(FAST_FILTER, forget_rate=0.3))
    X_clean, y_clean = filt.fit_resample(X, y_noisy)
    assert len(X_clean) == filt.clean_mask_.sum() == len(y_clean)
    pipe = imblearn_pipeline.Pipeline(
        [("filter", filt), ("clf", LogisticRegression(max_iter=500))]
    )
    pipe.fit(X, y_noisy)
    assert pipe.score(X, y_true) > 0.7


def test_string_labels_and_validation_data(noisy_blobs):
    X, y_true, y_noisy, _ = noisy_blobs
    names = np.array(["akiec", "df", "nv"])
    filt = NoisyLabelFilter(**dict(FAST_FILTER, forget_rate=0.3))
    filt.fit(X, names[y_noisy], X_val=X[:80], y_val=names[y_true[:80]])
    assert set(filt.predict(X[:5])) <= set(names)
    assert filt.best_epoch_ is not None
    assert len(filt.history_[:, "valid_f1"]) == filt.max_epochs


def test_forget_rate_auto_is_estimated(noisy_blobs):
    X, _, y_noisy, _ = noisy_blobs
    filt = NoisyLabelFilter(**dict(FAST_FILTER, forget_rate="auto", num_gradual=4))
    filt.fit(X, y_noisy)
    assert 0.0 < filt.forget_rate_ < 0.9
    assert filt.noise_estimate_ is not None  # cross-fitted (noise: issue 13)


def test_digits_images_precision_and_rare_recall_are_reported():
    d = make_noisy_digits(random_state=0)
    correct = d.y_train == d.y_train_true
    common = dict(
        module="small_cnn",
        forget_rate=0.4,
        max_epochs=20,
        batch_size=64,
        lr=0.05,
        augment=False,
        random_state=0,
    )
    filt = NoisyLabelFilter(**common).fit(d.X_train, d.y_train)
    precision = correct[filt.clean_mask_].mean()
    assert precision > 0.8 > correct.mean()
    # Rare recall: the share of the truly clean samples of the three rarest
    # (noisy) classes that the selection keeps (0.70 with this seed).
    counts = np.bincount(d.y_train)
    rare = np.isin(d.y_train, np.argsort(counts)[:3]) & correct
    recall = filt.clean_mask_[rare].mean()
    assert 0.5 < recall < 1


def test_class_quota_keeps_every_class(noisy_blobs):
    X, _, y_noisy, _ = noisy_blobs
    params = dict(FAST_FILTER, forget_rate=0.3, selection="class_quota")
    filt = NoisyLabelFilter(**params).fit(X, y_noisy)
    kept = np.bincount(y_noisy[filt.clean_mask_], minlength=3)
    assert (kept >= 1).all()
    assert kept.sum() < len(y_noisy)


def test_net_classifier_partial_fit_and_state_roundtrip(noisy_blobs):
    X, y, _, _ = noisy_blobs
    clf = NetClassifier(**FAST).fit(X, y)
    before = clf.predict_proba(X)
    state = clf.get_torch_state()
    restored = clone(clf).set_torch_state(state)
    np.testing.assert_allclose(restored.predict_proba(X), before)
    clf.partial_fit(X, y)
    assert not np.allclose(clf.predict_proba(X), before)
    fresh = NetClassifier(**FAST).partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    assert fresh.classes_.tolist() == [0, 1, 2]
    assert clf.embed(X[:4]).shape == (4, 32)
