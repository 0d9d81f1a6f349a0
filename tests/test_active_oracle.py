"""Oracle answers: validation, abstentions, and SimulatedOracle lookups."""

import copy
import re

import numpy as np
import pytest
from sklearn.base import clone

from noisyactive.active import (
    ActiveLabelCleaner,
    SimulatedOracle,
    validate_oracle_labels,
)


def test_validate_encodes_class_values_and_abstentions():
    classes = np.array(["benign", "melanoma", "nevus"])
    enc, answered = validate_oracle_labels(
        ["nevus", None, np.str_("benign"), float("nan")], classes, n_expected=4
    )
    assert enc.tolist() == [2, -1, 0, -1]
    assert answered.tolist() == [True, False, True, False]


def test_validate_accepts_numeric_values_of_another_dtype():
    enc, answered = validate_oracle_labels(
        np.array([2.0, 0.0, np.nan]), np.array([0, 1, 2]), n_expected=3
    )
    assert enc.tolist() == [2, 0, -1]
    assert answered.tolist() == [True, True, False]


def test_validate_masked_entries_abstain():
    answers = np.ma.array([1, 0, 1], mask=[False, True, False])
    enc, answered = validate_oracle_labels(answers, np.array([0, 1]), n_expected=3)
    assert enc.tolist() == [1, -1, 1]
    assert answered.tolist() == [True, False, True]


def test_validate_wrong_length_names_round_and_indices():
    msg = re.escape(
        "round 3 returned 2 labels for 3 queried samples (indices [7, 9, 11])"
    )
    with pytest.raises(ValueError, match=msg):
        validate_oracle_labels(
            [0, 1], np.array([0, 1]), n_expected=3, round_=3, indices=[7, 9, 11]
        )


def test_validate_unknown_labels_name_round_and_indices():
    with pytest.raises(ValueError, match=r"round 2.*\['cat'.*samples \[40\]"):
        validate_oracle_labels(
            ["dog", "cat"],
            np.array(["dog", "fish"]),
            n_expected=2,
            round_=2,
            indices=[12, 40],
        )


@pytest.mark.parametrize("answer", ["dog", 3, None])
def test_validate_scalar_answer_is_refused(answer):
    with pytest.raises(ValueError, match="expected a sequence of 2 labels"):
        validate_oracle_labels(answer, np.array(["dog", "cat"]), n_expected=2)


def test_validate_unhashable_answer_is_unknown_label():
    with pytest.raises(ValueError, match="not among the known classes"):
        validate_oracle_labels([[1]], np.array([0, 1]), n_expected=1)


def test_simulated_oracle_by_ids():
    oracle = SimulatedOracle(np.array(["a", "b", "c"]))
    assert oracle(np.array([2, 0]), None).tolist() == ["c", "a"]
    with pytest.raises(ValueError, match=r"sample ids \[5\] outside"):
        oracle(np.array([5]), None)
    with pytest.raises(TypeError, match="integer sample ids"):
        oracle(np.array(["x"]), None)


def test_simulated_oracle_by_rows_ignores_ids_and_casts_dtype():
    X = np.arange(12).reshape(6, 2)  # int rows; the cleaner sees float64
    y_true = np.array([0, 1, 2, 0, 1, 2])
    oracle = SimulatedOracle(y_true, X=X)
    subset = X[[4, 1]].astype(np.float64)
    assert oracle([0, 0], subset).tolist() == [1, 1]
    with pytest.raises(ValueError, match="does not match any row"):
        oracle([0], np.array([[100.0, 100.0]]))
    with pytest.raises(ValueError, match="cannot match rows"):
        oracle([0], np.array([[0.5, 1.0]]))


def test_simulated_oracle_by_paths():
    paths = np.array(["a.png", "b.png", "c.png"], dtype=object)
    oracle = SimulatedOracle(np.array([1, 2, 3]), X=paths)
    assert oracle([0, 1], paths[[2, 0]]).tolist() == [3, 1]


def test_simulated_oracle_ambiguous_duplicate_rows():
    X = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    assert SimulatedOracle(np.array([0, 0, 1]), X=X)([0], X[:1]).tolist() == [0]
    with pytest.raises(ValueError, match="different true labels"):
        SimulatedOracle(np.array([0, 1, 1]), X=X)([0], X[:1])


def test_simulated_oracle_is_shared_by_clone():
    oracle = SimulatedOracle(np.arange(3), X=np.eye(3))
    assert copy.deepcopy(oracle) is oracle
    assert clone(ActiveLabelCleaner(oracle=oracle)).oracle is oracle
