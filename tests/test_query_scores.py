"""Pure scoring functions of noisyactive.query on tiny hand-computed arrays."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from noisyactive.query import (
    entropy_scores,
    label_cleaning_ambiguity_scores,
    label_cleaning_scores,
    least_confidence_scores,
    margin_scores,
)

LN2 = math.log(2.0)


def test_entropy_scores_exact_values():
    proba = [
        [1.0, 0.0, 0.0],  # certain: 0
        [0.5, 0.5, 0.0],  # ln 2 (the zero column adds nothing)
        [0.5, 0.25, 0.25],  # 0.5 ln 2 + 2 * 0.25 ln 4 = 1.5 ln 2
        [1 / 3, 1 / 3, 1 / 3],  # ln 3
    ]
    assert_allclose(
        entropy_scores(proba), [0.0, LN2, 1.5 * LN2, math.log(3.0)], rtol=1e-12
    )


def test_entropy_scores_no_warning_on_zeros():
    with np.errstate(all="raise"):
        assert_array_equal(entropy_scores([[0.0, 1.0]]), [0.0])


def test_margin_scores_exact_values():
    proba = [
        [0.7, 0.2, 0.1],  # 1 - (0.7 - 0.2)
        [0.4, 0.4, 0.2],  # tie of the top two: 1
        [1.0, 0.0, 0.0],  # certain: 0
        [0.3, 0.6, 0.1],  # top class need not be first: 1 - (0.6 - 0.3)
    ]
    assert_allclose(margin_scores(proba), [0.5, 1.0, 0.0, 0.7], rtol=1e-12)


def test_margin_scores_single_class_uses_zero_runner_up():
    assert_allclose(margin_scores([[1.0], [0.25]]), [0.0, 0.75])


def test_least_confidence_scores_exact_values():
    proba = [[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]]
    assert_allclose(least_confidence_scores(proba), [0.1, 0.4, 0.5], rtol=1e-12)


def test_label_cleaning_scores_is_cross_entropy_of_current_label():
    proba = [[0.9, 0.1], [0.9, 0.1], [0.25, 0.75]]
    scores = label_cleaning_scores(proba, [0, 1, 1])
    assert_allclose(scores, [-math.log(0.9), math.log(10.0), -math.log(0.75)])


def test_label_cleaning_ambiguity_exact_values_two_classes():
    # log K = ln 2. Row 0: CE = ln 10, H = 0.469 ln 2 (above the 0.3 threshold);
    # row 1: CE = ln 2, H = ln 2, so 1 - (1 - 0.3) = 0.3.
    proba = [[0.9, 0.1], [0.5, 0.5]]
    h0 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / LN2
    scores = label_cleaning_ambiguity_scores(proba, [1, 1])
    assert_allclose(scores, [math.log(10.0) / LN2 - (h0 - 0.3), 0.3], atol=1e-12)


def test_label_cleaning_ambiguity_ignores_entropy_below_threshold():
    # Normalised entropy 0.121 < 0.3: the score is CE / log K alone.
    proba = [[0.97, 0.01, 0.01, 0.01]]
    h = -(0.97 * math.log(0.97) + 3 * 0.01 * math.log(0.01)) / math.log(4)
    assert h < 0.3
    scores = label_cleaning_ambiguity_scores(proba, [1])
    assert_allclose(scores, [math.log(100.0) / math.log(4.0)], rtol=1e-12)


def test_label_cleaning_ambiguity_threshold_zero_is_normalised_ce_minus_entropy():
    proba = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = np.array([0, 2])
    ce = -np.log(proba[[0, 1], labels])
    h = -(proba * np.log(proba)).sum(axis=1)
    scores = label_cleaning_ambiguity_scores(proba, labels, threshold=0.0)
    assert_allclose(scores, (ce - h) / math.log(3.0), rtol=1e-12)


def test_label_cleaning_ambiguity_changes_the_ranking():
    # A: confidently another class (cheap to fix); B: ambiguous, label less likely.
    proba = [[0.05, 0.90, 0.05], [0.04, 0.48, 0.48]]
    plain = label_cleaning_scores(proba, [0, 0])
    joint = label_cleaning_ambiguity_scores(proba, [0, 0])
    assert plain[1] > plain[0]  # CE alone prefers B (ln 25 > ln 20)
    assert joint[0] > joint[1]  # the ambiguity term prefers A
    h_a = -(2 * 0.05 * math.log(0.05) + 0.9 * math.log(0.9)) / math.log(3.0)
    assert_allclose(joint[0], math.log(20.0) / math.log(3.0) - (h_a - 0.3))


def _reference_joint_rule(proba, labels):
    """Bernhardt et al.'s JOINT rule as their PosteriorBasedSelector writes it:
    normalised cross-entropies with a 1e-12 guard, and the ambiguity term
    -clip(0.3 - H, min(0.3 - H), 0)."""
    k = proba.shape[1]
    target = np.eye(k)[labels]
    ce = -np.sum(target * np.log(proba + 1e-12) / np.log(k), axis=-1)
    h = -np.sum(proba * np.log(proba + 1e-12) / np.log(k), axis=-1)
    gap = 0.3 - h
    return ce - (-np.clip(gap, np.min(gap), 0))


def test_label_cleaning_ambiguity_matches_the_authors_rule():
    rng = np.random.default_rng(0)
    for k in (2, 3, 7):
        proba = rng.dirichlet(np.full(k, 0.7), size=200)
        proba = (proba + 1e-6) / (1 + k * 1e-6)  # away from 0, where guards differ
        labels = rng.integers(0, k, size=200)
        assert_allclose(
            label_cleaning_ambiguity_scores(proba, labels),
            _reference_joint_rule(proba, labels),
            atol=1e-9,
        )


def test_label_cleaning_ambiguity_one_class_scores_zero():
    assert_array_equal(label_cleaning_ambiguity_scores([[1.0], [1.0]], [0, 0]), [0, 0])


def test_label_cleaning_zero_probability_stays_finite():
    scores = label_cleaning_scores([[1.0, 0.0], [0.999, 0.001]], [1, 1])
    assert np.isfinite(scores).all()
    assert_allclose(scores[0], -math.log(np.finfo(np.float64).tiny))
    assert scores[0] > scores[1]


@pytest.mark.parametrize(
    "func", [entropy_scores, margin_scores, least_confidence_scores]
)
def test_empty_proba_gives_empty_scores(func):
    out = func(np.empty((0, 3)))
    assert out.shape == (0,)
    assert out.dtype == np.float64


def test_label_cleaning_empty():
    assert label_cleaning_scores(np.empty((0, 2)), np.empty(0, dtype=int)).shape == (0,)


@pytest.mark.parametrize(
    "func", [entropy_scores, margin_scores, least_confidence_scores]
)
@pytest.mark.parametrize(
    ("proba", "match"),
    [
        ([0.5, 0.5], "2-D"),
        ([[0.5, np.nan]], "NaN"),
        ([[2.0, -1.0]], r"probabilities in \[0, 1\]"),
        (np.empty((3, 0)), "0 columns; expected at least 1"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_bad_proba_is_rejected(func, proba, match):
    with pytest.raises((ValueError, TypeError), match=match):
        func(proba)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([0], ValueError, "one label per row"),
        ([0, 2], ValueError, r"in \[0, 2\)"),
        ([0, -1], ValueError, r"in \[0, 2\)"),
        ([0.0, 1.0], TypeError, "integer column indices"),
        (["a", "b"], TypeError, "searchsorted"),
    ],
)
@pytest.mark.parametrize(
    "func", [label_cleaning_scores, label_cleaning_ambiguity_scores]
)
def test_label_cleaning_bad_labels(labels, error, match, func):
    with pytest.raises(error, match=match):
        func([[0.5, 0.5], [0.5, 0.5]], labels)
