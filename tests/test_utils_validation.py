"""noisyactive.utils: the shared argument checks on tiny inputs."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from noisyactive.utils import check_float_array, check_indices, check_transition_matrix


def test_check_indices_returns_intp_in_given_order():
    out = check_indices(np.array([4, 0, 2], dtype=np.uint8), n_samples=5)
    assert out.dtype == np.intp
    assert_array_equal(out, [4, 0, 2])


def test_check_indices_mask_only_when_allowed():
    mask = np.array([True, False, True])
    assert_array_equal(check_indices(mask, n_samples=3, allow_mask=True), [0, 2])
    with pytest.raises(TypeError, match="boolean array"):
        check_indices(mask, n_samples=3)
    with pytest.raises(ValueError, match=r"one entry per sample \(4\)"):
        check_indices(mask, n_samples=4, allow_mask=True)


def test_check_indices_empty_is_fine_unless_min_count():
    assert check_indices([]).shape == (0,)
    with pytest.raises(ValueError, match="at least 1 are required"):
        check_indices([], min_count=1, name="indices")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"indices": None}, TypeError, "idx is None"),
        ({"indices": [1.0]}, TypeError, "idx must hold integer indices"),
        ({"indices": [[1]]}, ValueError, "idx must be a 1-D array"),
        ({"indices": [1, 5], "n_samples": 5}, ValueError, r"in \[0, 5\).*got \[5\]"),
        ({"indices": [-1], "n_samples": 5}, ValueError, r"got \[-1\]"),
        ({"indices": [1, 2, 1, 2]}, ValueError, r"duplicate indices \[1, 2\]"),
        ({"indices": [1, 2], "max_count": 1}, ValueError, "at most 1"),
        (
            {"indices": [1, 7], "within": [1, 2], "within_name": "the pool"},
            ValueError,
            r"not among the pool: \[7\]",
        ),
    ],
)
def test_check_indices_errors_name_the_argument(kwargs, error, match):
    indices = kwargs.pop("indices")
    with pytest.raises(error, match=match):
        check_indices(indices, name="idx", **kwargs)


def test_check_transition_matrix_renormalises_within_tolerance():
    T = check_transition_matrix([[0.9, 0.1 + 5e-7], [0.2, 0.8]], 2)
    assert T.dtype == np.float64
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("matrix", "error", "match"),
    [
        ([[0.9, 0.1 + 2e-6], [0.2, 0.8]], ValueError, r"rows \[0\] sum to"),
        ([[1.1, -0.1], [0.0, 1.0]], ValueError, "non-negative"),
        ([[np.nan, 1.0], [0.0, 1.0]], ValueError, "finite"),
        (np.eye(3), ValueError, r"shape \(2, 2\)"),
        ([["a", "b"], ["c", "d"]], TypeError, "numeric"),
    ],
)
def test_check_transition_matrix_errors(matrix, error, match):
    with pytest.raises(error, match=match):
        check_transition_matrix(matrix, 2)


def test_check_float_array_keeps_float32_and_converts_the_rest():
    f32 = np.ones((2, 3), np.float32)
    assert check_float_array(f32, name="x") is f32
    assert check_float_array(f32, name="x", keep_float32=False).dtype == np.float64
    assert check_float_array([[1, 2]], name="x").dtype == np.float64


@pytest.mark.parametrize(
    ("values", "kwargs", "error", "match"),
    [
        ([1.0, 2.0], {}, ValueError, r"x must be 2-D of shape \(n, d\)"),
        ([[np.inf]], {}, ValueError, "NaN or infinite"),
        ([["a"]], {}, TypeError, "x must be a numeric array"),
        (np.empty((2, 0)), {"min_columns": 1}, ValueError, "0 columns"),
    ],
)
def test_check_float_array_errors(values, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_float_array(values, name="x", **kwargs)
