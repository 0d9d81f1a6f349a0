import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noisyactive.datasets import inject_label_noise, noise_transition_matrix

PROPERTY = settings(max_examples=60, deadline=None)


def labels(min_size=1, max_size=300):
    return st.lists(st.integers(0, 6), min_size=min_size, max_size=max_size).map(
        np.asarray
    )


# --- exact small cases -----------------------------------------------------------


def test_pairflip_rate_one_is_cyclic_shift():
    y = np.array([0, 1, 2, 2])
    assert inject_label_noise(y, 1.0, kind="pairflip").tolist() == [1, 2, 0, 0]


def test_rate_zero_and_one():
    y = np.array([3, 1, 2, 3, 1])
    noisy, mask = inject_label_noise(y, 0.0, random_state=0, return_mask=True)
    assert np.array_equal(noisy, y) and not mask.any()
    noisy, mask = inject_label_noise(y, 1.0, random_state=0, return_mask=True)
    assert mask.all() and np.all(noisy != y)
    assert set(noisy.tolist()) <= {1, 2, 3}


def test_string_labels_keep_dtype_and_classes_order():
    y = np.array(["mel", "nv", "df", "nv"])
    noisy = inject_label_noise(y, 1.0, kind="pairflip")
    # sorted classes: df, mel, nv -> next class cyclically
    assert noisy.tolist() == ["nv", "df", "mel", "df"]
    assert noisy.dtype == y.dtype
    given_order = inject_label_noise(
        y, 1.0, kind="pairflip", classes=["nv", "mel", "df"]
    )
    assert given_order.tolist() == ["df", "mel", "nv", "mel"]


def test_classes_absent_from_y_and_wider_names_are_not_truncated():
    y = np.array(["a"] * 200)
    noisy = inject_label_noise(y, 1.0, classes=["a", "bbbb"], random_state=0)
    assert set(noisy.tolist()) == {"bbbb"}


def test_list_input_and_new_array():
    y = [0, 1, 0, 1]
    noisy = inject_label_noise(y, 0.5, random_state=3)
    assert isinstance(noisy, np.ndarray) and y == [0, 1, 0, 1]
    arr = np.array(y)
    assert not np.shares_memory(inject_label_noise(arr, 0.0), arr)


def test_symmetric_flips_are_uniform_over_other_classes():
    y = np.zeros(40_000, dtype=int)
    noisy = inject_label_noise(y, 1.0, classes=[0, 1, 2, 3, 4], random_state=0)
    freq = np.bincount(noisy, minlength=5) / y.size
    assert freq[0] == 0
    np.testing.assert_allclose(freq[1:], 0.25, atol=0.01)


def test_transition_matrix_frequencies():
    T = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.1, 0.2, 0.7]])
    y = np.repeat([0, 1, 2], 20_000)
    noisy = inject_label_noise(y, None, transition_matrix=T, random_state=0)
    est = np.array([np.bincount(noisy[y == c], minlength=3) / 20_000 for c in range(3)])
    np.testing.assert_allclose(est, T, atol=0.015)
    assert np.all(noisy[y == 1] == 1)


def test_transition_kind_permutation_is_exact_and_mask_counts_changes():
    T = np.eye(3)[[2, 0, 1]]  # 0->2, 1->0, 2->1
    y = np.array([0, 1, 2, 0])
    noisy, mask = inject_label_noise(
        y, 0.3, kind="transition", transition_matrix=T, return_mask=True
    )
    assert noisy.tolist() == [2, 0, 1, 2] and mask.all()
    same = inject_label_noise(y, None, transition_matrix=np.eye(3), return_mask=True)
    assert np.array_equal(same[0], y) and not same[1].any()


def test_noise_transition_matrix():
    T = noise_transition_matrix(4, 0.3)
    np.testing.assert_allclose(T.sum(axis=1), 1)
    np.testing.assert_allclose(np.diag(T), 0.7)
    np.testing.assert_allclose(T[0, 1:], 0.1)
    P = noise_transition_matrix(3, 0.4, kind="pairflip")
    np.testing.assert_allclose(P, [[0.6, 0.4, 0], [0, 0.6, 0.4], [0.4, 0, 0.6]])


# --- properties --------------------------------------------------------------------


@PROPERTY
@given(y=labels(), rate=st.floats(0, 1), seed=st.integers(0, 2**31 - 1))
def test_symmetric_flip_is_never_own_class_and_mask_matches(y, rate, seed):
    if np.unique(y).size < 2:
        y = np.append(y, y[0] + 1)
    y_before = y.copy()
    noisy, mask = inject_label_noise(y, rate, random_state=seed, return_mask=True)
    assert np.array_equal(y, y_before)  # input not mutated
    assert noisy.dtype == y.dtype and noisy.shape == y.shape
    assert np.array_equal(mask, noisy != y)
    assert set(noisy.tolist()) <= set(y.tolist())
    if rate == 0:
        assert not mask.any()


@PROPERTY
@given(
    rate=st.floats(0, 1),
    k=st.integers(2, 10),
    kind=st.sampled_from(["symmetric", "pairflip"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_realised_noise_rate_within_tolerance(rate, k, kind, seed):
    n = 5000
    y = np.arange(n) % k
    _, mask = inject_label_noise(
        y, rate, kind=kind, random_state=seed, return_mask=True
    )
    # 5 binomial standard deviations: a false alarm is ~1e-6 per example.
    tol = 5 * np.sqrt(rate * (1 - rate) / n) + 1e-12
    assert abs(mask.mean() - rate) <= tol


@PROPERTY
@given(y=labels(min_size=2), rate=st.floats(0, 1), seed=st.integers(0, 2**31 - 1))
def test_pairflip_goes_to_next_class(y, rate, seed):
    if np.unique(y).size < 2:
        y = np.append(y, y[0] + 1)
    classes = np.unique(y)
    noisy, mask = inject_label_noise(
        y, rate, kind="pairflip", random_state=seed, return_mask=True
    )
    idx = np.searchsorted(classes, y)
    assert np.array_equal(noisy[mask], classes[(idx[mask] + 1) % classes.size])


@PROPERTY
@given(
    y=labels(min_size=2),
    rate=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
    kind=st.sampled_from(["symmetric", "pairflip"]),
)
def test_seed_determinism(y, rate, seed, kind):
    if np.unique(y).size < 2:
        y = np.append(y, y[0] + 1)
    a = inject_label_noise(y, rate, kind=kind, random_state=seed)
    b = inject_label_noise(y, rate, kind=kind, random_state=seed)
    assert np.array_equal(a, b)
    rs = inject_label_noise(
        y, rate, kind=kind, random_state=np.random.RandomState(seed)
    )
    assert np.array_equal(a, rs)


@PROPERTY
@given(
    words=st.lists(st.sampled_from(["akiec", "df", "nv", "vasc"]), min_size=2),
    seed=st.integers(0, 1000),
)
def test_string_labels_property(words, seed):
    y = np.array(words + ["df", "nv"])
    noisy, mask = inject_label_noise(y, 0.7, random_state=seed, return_mask=True)
    assert noisy.dtype == y.dtype
    assert np.all(noisy[mask] != y[mask])
    assert set(noisy.tolist()) <= set(y.tolist())


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"noise_rate": -0.1}, ValueError, r"noise_rate must be in \[0.0, 1.0\]"),
        ({"noise_rate": 1.5}, ValueError, "noise_rate must be in"),
        ({"noise_rate": float("nan")}, ValueError, "noise_rate must be in"),
        ({"noise_rate": "0.4"}, TypeError, "noise_rate must be a real number"),
        ({"noise_rate": None}, ValueError, "noise_rate is required"),
        ({"kind": "uniform"}, ValueError, "kind must be one of"),
        ({"kind": "transition"}, ValueError, "needs transition_matrix"),
        (
            {"kind": "pairflip", "transition_matrix": np.eye(3)},
            ValueError,
            "transition_matrix was given together with kind='pairflip'",
        ),
        ({"transition_matrix": np.eye(2)}, ValueError, r"must have shape \(3, 3\)"),
        (
            {"transition_matrix": [[0.5, 0.4, 0], [0, 1, 0], [0, 0, 1]]},
            ValueError,
            r"rows \[0\] sum to \[0.9\]",
        ),
        (
            {"transition_matrix": [[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]]},
            ValueError,
            "non-negative",
        ),
        ({"classes": [0, 1]}, ValueError, r"not in classes: \[2\]"),
        ({"classes": [0, 1, 1, 2]}, ValueError, "duplicates"),
        ({"random_state": "seed"}, ValueError, "random_state must be"),
        ({"return_mask": "yes"}, TypeError, "return_mask must be a bool"),
    ],
)
def test_validation_errors(kwargs, exc, match):
    args = {"noise_rate": 0.4, **kwargs}
    with pytest.raises(exc, match=match):
        inject_label_noise(np.array([0, 1, 2, 1]), **args)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros((3, 2)), r"y must be 1-D .* shape \(3, 2\)"),
        (np.array([]), "y is empty"),
        (np.array([1, 1, 1]), "at least 2 classes"),
        (np.array([0.0, np.nan, 1.0]), "y contains NaN"),
    ],
)
def test_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        inject_label_noise(y, 0.2)


def test_noise_transition_matrix_errors():
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        noise_transition_matrix(1, 0.2)
    with pytest.raises(ValueError, match="kind must be 'symmetric' or 'pairflip'"):
        noise_transition_matrix(3, 0.2, kind="transition")
    with pytest.raises(ValueError, match="noise_rate must be in"):
        noise_transition_matrix(3, 2.0)
