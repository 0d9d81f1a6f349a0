import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from noisyactive.datasets import long_tailed_counts, make_long_tailed

PROPERTY = settings(max_examples=60, deadline=None)

# NCT-CRC-HE-100K class counts, in the dataset's (alphabetical) class order.
NCT = {
    "ADI": 10407,
    "BACK": 10566,
    "DEB": 11512,
    "LYM": 11557,
    "MUC": 8896,
    "MUS": 13536,
    "NORM": 8763,
    "STR": 10446,
    "TUM": 14317,
}


def test_nct_long_tail_matches_paper():
    counts = long_tailed_counts(list(NCT.values()), 100)
    assert counts.tolist() == [8763, 4927, 2771, 1558, 876, 492, 277, 155, 87]
    assert counts.dtype == np.int64
    assert int(counts.sum()) == 19_906
    # The paper's 0.8 / 0.2 split: floor(0.8 n) train, the rest test, which is
    # also what scikit-learn's train_test_split(test_size=0.2) gives.
    n = int(counts.sum())
    assert (math.floor(0.8 * n), n - math.floor(0.8 * n)) == (15_924, 3_982)
    train, test = train_test_split(np.arange(n), test_size=0.2, random_state=0)
    assert (len(train), len(test)) == (15_924, 3_982)


def test_nct_make_long_tailed_on_label_vector():
    y = np.repeat(list(NCT), list(NCT.values()))
    X = np.arange(y.size)
    X_lt, y_lt = make_long_tailed(X, y, imbalance_factor=100, random_state=0)
    assert y_lt.size == 19_906
    _, per_class = np.unique(y_lt, return_counts=True)
    assert per_class.tolist() == [8763, 4927, 2771, 1558, 876, 492, 277, 155, 87]


def test_exact_powers_are_not_floored_down():
    # 64 * 64 ** (-5 / 6) evaluates to 1.9999999999999998 in floating point; the
    # formula's value is exactly 2 and must not be floored to 1.
    assert long_tailed_counts([64] * 7, 64).tolist() == [64, 32, 16, 8, 4, 2, 1]
    assert long_tailed_counts([1000, 1000, 1000], 100).tolist() == [1000, 100, 10]
    assert long_tailed_counts([7, 9], 1).tolist() == [7, 7]
    # ... while a value just below an integer is floored (16584.999998...).
    assert long_tailed_counts([19723] * 9, 4)[1] == 16584


@PROPERTY
@given(
    counts=st.lists(st.integers(1, 20_000), min_size=2, max_size=12),
    r=st.floats(1, 500),
)
def test_counts_follow_formula(counts, r):
    n0 = min(counts)
    assume(n0 / r >= 1.001)
    out = long_tailed_counts(counts, r)
    k = len(counts)
    exact = n0 * r ** (-np.arange(k) / (k - 1))
    assert out[0] == n0
    assert np.all(np.diff(out) <= 0)
    assert np.all(out >= 1) and np.all(out <= np.asarray(counts))
    assert np.all(np.abs(out - exact) < 1 + 1e-6)
    assert np.all(out <= exact * (1 + 1e-9))


@PROPERTY
@given(
    per_class=st.lists(st.integers(3, 40), min_size=2, max_size=6),
    r=st.floats(1, 3),
    seed=st.integers(0, 2**31 - 1),
    trailing=st.sampled_from([(), (2,), (1, 3, 2)]),
)
def test_make_long_tailed_properties(per_class, r, seed, trailing):
    rng = np.random.RandomState(0)
    y = rng.permutation(np.repeat(np.arange(len(per_class)), per_class))
    X = rng.rand(y.size, *trailing)
    X_before, y_before = X.copy(), y.copy()
    X_lt, y_lt, idx = make_long_tailed(
        X, y, imbalance_factor=r, random_state=seed, return_indices=True
    )
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)
    assert np.all(np.diff(idx) > 0)  # original order, no duplicates
    assert np.array_equal(X_lt, X[idx]) and np.array_equal(y_lt, y[idx])
    assert X_lt.shape[1:] == X.shape[1:]
    expected = long_tailed_counts(per_class, r)
    assert np.bincount(y_lt, minlength=len(per_class)).tolist() == expected.tolist()
    again = make_long_tailed(
        X, y, imbalance_factor=r, random_state=seed, return_indices=True
    )[2]
    assert np.array_equal(idx, again)


def test_make_long_tailed_paths_strings_and_lists():
    paths = np.array([f"img_{i}.png" for i in range(30)])
    y = np.array(["b", "a", "c"] * 10)
    X_lt, y_lt = make_long_tailed(paths, y, imbalance_factor=5, random_state=1)
    assert X_lt.dtype.kind == "U"
    assert dict(zip(*np.unique(y_lt, return_counts=True))) == {"a": 10, "b": 4, "c": 2}
    # Sorted classes: "a" is the head and "c" the tail, whatever order y has.
    as_list, _ = make_long_tailed(list(paths), y, imbalance_factor=5, random_state=1)
    assert isinstance(as_list, list) and as_list == X_lt.tolist()


def test_different_seeds_draw_different_subsets():
    y = np.repeat([0, 1], 100)
    a = make_long_tailed(y, y, imbalance_factor=10, random_state=0, return_indices=True)
    b = make_long_tailed(y, y, imbalance_factor=10, random_state=1, return_indices=True)
    assert not np.array_equal(a[2], b[2])


@pytest.mark.parametrize(
    "counts, r, exc, match",
    [
        ([10, 20], 0.5, ValueError, "imbalance_factor must be a finite number >= 1"),
        ([10, 20], "10", TypeError, "imbalance_factor must be a real number"),
        ([10, 20], 11, ValueError, "too large .* N_0=10.*imbalance_factor <= 10"),
        ([10], 2, ValueError, "at least 2 classes"),
        ([[10, 20]], 2, ValueError, "1-D array"),
        ([10, 0], 2, ValueError, "must be positive"),
        ([10, 2.5], 2, TypeError, "whole numbers"),
    ],
)
def test_long_tailed_counts_errors(counts, r, exc, match):
    with pytest.raises(exc, match=match):
        long_tailed_counts(counts, r)


def test_make_long_tailed_errors():
    with pytest.raises(ValueError, match="same number of samples; got 3 and 4"):
        make_long_tailed(np.zeros((3, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="at least 2 are required"):
        make_long_tailed(np.zeros(4), [1, 1, 1, 1])
    with pytest.raises(ValueError, match="y is empty"):
        make_long_tailed(np.zeros(0), [])
