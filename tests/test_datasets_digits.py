import numpy as np
import pytest
from sklearn.datasets import load_digits

from noisyactive.datasets import load_digits_images, make_noisy_digits


def test_digits_images_shapes_dtypes_and_scaling():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.uint8
    assert y.shape == (1797,) and y.dtype == np.int64
    ref = load_digits()
    assert np.array_equal(y, ref.target)
    # 0..16 -> 0..255, with 0 -> 0, 8 -> 128 (127.5 rounded to even), 16 -> 255
    assert np.array_equal(X[:, 0], np.rint(ref.images * 255 / 16).astype(np.uint8))
    assert X.min() == 0 and X.max() == 255


def test_digits_as_float_and_bunch():
    Xf, _ = load_digits_images(as_float=True)
    assert Xf.dtype == np.float32 and 0.0 <= Xf.min() and Xf.max() == 1.0
    b = load_digits_images(return_X_y=False)
    assert b.images.shape == (1797, 1, 8, 8)
    assert b.classes.tolist() == list(range(10))
    assert b.labels.shape == (1797,) and "digits" in b.DESCR


@pytest.fixture(scope="module")
def noisy():
    return make_noisy_digits(random_state=0)


def test_make_noisy_digits_splits(noisy):
    d = noisy
    n_tr, n_va, n_te = len(d.y_train), len(d.y_val), len(d.y_test)
    assert d.X_train.shape == (n_tr, 1, 8, 8) and d.X_train.dtype == np.uint8
    assert d.X_val.shape == (n_va, 1, 8, 8) and d.X_test.shape == (n_te, 1, 8, 8)
    # long-tailed (r = 15) total of 632, split about 0.7 / 0.1 / 0.2
    assert n_tr + n_va + n_te == 632
    assert abs(n_te / 632 - 0.2) < 0.01 and abs(n_va / 632 - 0.1) < 0.01
    idx = [d.train_indices, d.val_indices, d.test_indices]
    assert sum(len(i) for i in idx) == len(np.unique(np.concatenate(idx)))
    # every class in every split, rarest class a handful of training samples
    for y in (d.y_train_true, d.y_val, d.y_test):
        assert np.unique(y).size == 10
    counts = np.bincount(d.y_train_true, minlength=10)
    assert 5 <= counts.min() <= 10 and counts.argmin() == 9
    assert np.all(np.diff(counts) <= 0)


def test_only_training_labels_are_noisy(noisy):
    d = noisy
    X, y = load_digits_images()
    assert np.array_equal(d.y_train_true, y[d.train_indices])
    assert np.array_equal(d.y_val, y[d.val_indices])
    assert np.array_equal(d.y_test, y[d.test_indices])
    assert np.array_equal(d.X_test, X[d.test_indices])
    assert np.array_equal(d.noise_mask, d.y_train != d.y_train_true)
    assert 0.3 < d.noise_mask.mean() < 0.5
    assert d.params["noise_rate"] == 0.4 and d.params["imbalance_factor"] == 15


def test_make_noisy_digits_determinism_and_options(noisy):
    again = make_noisy_digits(random_state=0)
    for key in ("y_train", "train_indices", "test_indices", "val_indices"):
        assert np.array_equal(noisy[key], again[key])
    other = make_noisy_digits(random_state=1)
    assert not np.array_equal(noisy.train_indices, other.train_indices)
    clean = make_noisy_digits(noise_rate=0.0, val_size=0.0, as_float=True)
    assert not clean.noise_mask.any() and len(clean.y_val) == 0
    assert clean.X_train.dtype == np.float32
    bal = make_noisy_digits(balanced_eval=True, imbalance_factor=10)
    assert np.bincount(bal.y_test).max() - np.bincount(bal.y_test).min() <= 2
    assert np.bincount(bal.y_train_true).min() < 20


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_size": 0.6, "val_size": 0.4}, "test_size \\+ val_size must be < 1"),
        ({"test_size": 1.0}, r"test_size must be in \[0.0, 1.0\)"),
        ({"noise_rate": 2.0}, "noise_rate must be in"),
        ({"imbalance_factor": 0.5}, "imbalance_factor must be"),
        ({"noise_kind": "transition"}, "needs transition_matrix"),
    ],
)
def test_make_noisy_digits_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_noisy_digits(**kwargs)
