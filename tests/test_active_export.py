"""`export`: cleanlab's columns plus the expert's record, and a suspected-issue
flag that finds the wrong labels left better than the given labels alone do."""

import csv

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from noisyactive.active import ActiveLabelCleaner, SimulatedOracle


def _noisy(seed, n=400, rate=0.3):
    X, y = make_classification(
        n,
        n_features=8,
        n_informative=5,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    flip = rng.random(n) < rate
    return X, y, np.where(flip, (y + rng.integers(1, 3, n)) % 3, y)


def _export(tmp_path, cleaner, X):
    cleaner.export_labels(tmp_path / "labels.csv", X=X)
    with open(tmp_path / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suspected_issues_are_more_precise_than_the_given_labels_alone(tmp_path, seed):
    X, y, y_noisy = _noisy(seed)
    model = LogisticRegression(max_iter=500)
    # phase 1: keep the rows whose cross-validated prediction agrees with the
    # given label (the baseline flag below is the same, in-sample)
    agree = cross_val_predict(model, X, y_noisy, cv=5) == y_noisy
    cleaner = ActiveLabelCleaner(
        estimator=MaskFilter(mask=agree),
        classifier=model,
        oracle=SimulatedOracle(y),
        batch_size=25,
        n_rounds=4,
        audit_share=0.2,
        random_state=seed,
    ).fit(X, y_noisy)
    rows = _export(tmp_path, cleaner, X)
    assert list(rows[0]) == [
        "index",
        "path",
        "given_label",
        "final_label",
        "source",
        "round",
        "label_quality",
        "suggested_label",
        "suggested_confidence",
        "is_label_issue",
    ]
    final = np.array([int(r["final_label"]) for r in rows])
    issue = np.array([r["is_label_issue"] == "True" for r in rows])
    source = np.array([r["source"] for r in rows])
    wrong = final != y
    # the expert's record: every answered row is right and not an issue
    answered = cleaner.relabeled_mask_
    assert not wrong[answered].any() and not issue[answered].any()
    assert set(source[answered]) <= {
        "confirmed",
        "corrected",
        "audit-confirmed",
        "audit-corrected",
    }
    assert (source[answered] == "corrected").sum() == (
        y_noisy[answered & ~cleaner.initial_clean_mask_]
        != y[answered & ~cleaner.initial_clean_mask_]
    ).sum()
    # never-reviewed rows say so; the wrong labels among them are not "kept"
    assert (source == "unreviewed-suspect").sum() == issue[~answered].sum()
    assert wrong[source == "unreviewed-suspect"].mean() > 0.8
    # the flag against the given-label-only baseline: the same classifier
    # fitted on the given labels, flagging where it disagrees with them
    baseline = LogisticRegression(max_iter=500).fit(X, y_noisy).predict(X) != y_noisy
    ours = wrong[issue].mean()
    theirs = (y_noisy != y)[baseline].mean()
    assert ours > theirs, (ours, theirs)
    # label quality: expert-given labels 1, the flagged rows the least trusted
    quality = np.array([float(r["label_quality"]) for r in rows])
    assert (quality[answered] == 1).all()
    assert quality[issue].mean() < quality[~issue & ~answered].mean()


def test_without_a_model_the_flag_is_phase_1s_and_model_columns_are_empty(tmp_path):
    X, y, y_noisy = _noisy(0, n=100)
    cleaner = ActiveLabelCleaner(
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=500),
        oracle=None,
        batch_size=5,
        n_rounds=2,
        random_state=0,
    ).fit(X, y_noisy)
    cleaner.campaign_.classifier = None
    rows = _export(tmp_path, cleaner, X)
    assert {r["label_quality"] for r in rows} == {""}
    issue = np.array([r["is_label_issue"] == "True" for r in rows])
    np.testing.assert_array_equal(issue, ~cleaner.initial_clean_mask_)
    kept = {r["source"] for r, k in zip(rows, cleaner.initial_clean_mask_) if k}
    assert kept == {"kept"}
