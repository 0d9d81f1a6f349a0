"""Several annotators: the consensus functions, campaigns, checkpoints."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import (
    ActiveLabelCleaner,
    load_cleaner,
    simulated_annotators,
)
from noisyactive.active._consensus import (
    agreement,
    annotator_accuracy,
    dawid_skene,
    majority,
    vote_counts,
)
from noisyactive.active._files import read_state, write_state
from noisyactive.active._simulated import confusable_noise

# -- pure functions on exact arrays ------------------------------------------------


def test_majority_leaves_ties_open():
    counts = vote_counts([0, 0, 0, 1, 1, 2], [2, 2, 0, 0, 1, -1], 4, 3)
    np.testing.assert_array_equal(counts, [[1, 0, 2], [1, 1, 0], [0, 0, 0], [0] * 3])
    np.testing.assert_array_equal(majority(counts), [2, -1, -1, -1])


def test_agreement_and_accuracy_exact():
    idx, ann, lab = [0, 0, 0, 1, 1], [0, 1, 2, 0, 2], [2, 2, 0, 1, 0]
    cons = np.array([2, -1, -1])
    np.testing.assert_allclose(agreement(idx, lab, cons), [2 / 3, 0.5, np.nan])
    # sample 1 is open: left out; annotator 1 answered only sample 0, rightly
    np.testing.assert_allclose(annotator_accuracy(idx, ann, lab, 3, cons), [1, 1, 0])


def test_dawid_skene_trusts_the_reliable_annotator():
    # Annotators 0 and 1 agree on 6 samples; annotator 2 always says 1.
    # On sample 6 annotator 0 says 0 and the others 1; on sample 7 annotator
    # 0 and 2 disagree, annotator 1 silent: DS follows annotator 0.
    idx = [i for i in range(6) for _ in range(3)] + [6, 6, 6, 7, 7]
    ann = [0, 1, 2] * 6 + [0, 1, 2, 0, 2]
    truth = [0, 1, 0, 1, 0, 0]
    lab = [v for t in truth for v in (t, t, 1)] + [0, 0, 1, 0, 1]
    post, conf, evidence = dawid_skene(idx, ann, lab, 9, 3, 2)
    np.testing.assert_array_equal(post[:8].argmax(1), truth + [0, 0])
    assert np.isnan(post[8]).all()  # never answered
    assert conf[2, 0, 1] > 0.7 and conf[0, 0, 0] > 0.8
    np.testing.assert_allclose(evidence.sum(), len(lab))
    with_model = dawid_skene(
        idx, ann, lab, 9, 3, 2, proba=np.tile([0.01, 0.99], (9, 1)), model_weight=5
    )[0]
    assert with_model[7].argmax() == 1  # a confident model outvotes annotator 0


def test_dawid_skene_m_step_pools_exact():
    from noisyactive.active._consensus import _confusion

    soft = np.array(
        [
            [[8, 2, 0], [1, 10, 1], [0, 3, 7]],
            [[6, 0, 4], [0, 9, 1], [1, 1, 8]],
        ],
        dtype=float,
    )
    own = _confusion(soft, 0.0, 0.0)  # classic: every row its own
    np.testing.assert_allclose(own[0, 0], [0.8, 0.2, 0.0])
    np.testing.assert_allclose(own[1, 0], [0.6, 0.0, 0.4])
    np.testing.assert_allclose(np.diagonal(own, axis1=1, axis2=2), [
        [0.8, 10 / 12, 0.7], [0.6, 0.9, 0.8],
    ])  # fmt: skip
    # Pooled without limit: every class gets the annotator's overall
    # accuracy, (25 + 1) / (32 + 2) and (23 + 1) / (30 + 2), and class 0's
    # wrong answers follow everyone's (2 to class 1, 4 to class 2).
    pooled = _confusion(soft, 0.0, 1e12)
    a0, a1 = 26 / 34, 24 / 32
    np.testing.assert_allclose(pooled[0, 0], [a0, (1 - a0) / 3, 2 * (1 - a0) / 3])
    np.testing.assert_allclose(pooled[1, 0], [a1, (1 - a1) / 3, 2 * (1 - a1) / 3])
    for conf in (own, pooled, _confusion(soft, 0.1, 10.0)):
        np.testing.assert_allclose(conf.sum(axis=2), 1.0)


def test_pooled_dawid_skene_estimates_accuracies_closer_than_classic():
    """Errors towards one look-alike class per class, shared by readers: the
    classic model lets the two weaker readers outvote the best one and
    overrates them; pooling their wrong answers does not."""
    from noisyactive.active._consensus import annotator_accuracy, consensus_of

    gaps = {0.0: [], 10.0: []}
    for seed in range(5):
        y = np.random.default_rng(seed).integers(0, 10, 300)
        oracle = simulated_annotators(y, ACCURACIES, seed=seed)
        lab = np.concatenate([oracle[name](np.arange(300)) for name in ACCURACIES])
        idx, ann = np.tile(np.arange(300), 3), np.repeat(np.arange(3), 300)
        real = np.array([(lab[ann == j] == y).mean() for j in range(3)])
        for pooling, got in gaps.items():
            post = dawid_skene(idx, ann, lab, 300, 3, 10, pooling=pooling)[0]
            est = annotator_accuracy(idx, ann, lab, 3, consensus_of(post), post)
            got.append(np.abs(est - real))
    assert np.max(gaps[10.0]) < 0.05
    assert np.mean(gaps[10.0]) < np.mean(gaps[0.0])


def test_pooled_dawid_skene_still_fits_readers_who_confuse_different_classes():
    from noisyactive.active import SimulatedAnnotator
    from noisyactive.active._consensus import annotator_accuracy, consensus_of

    for seed in range(5):
        y = np.random.default_rng(seed).integers(0, 10, 300)
        lab = np.concatenate([
            SimulatedAnnotator(
                y, acc, seed=seed * 10 + shift,
                noise=confusable_noise(10, partner=(np.arange(10) + shift) % 10),
            )(np.arange(300))
            for shift, acc in zip((1, 2, 3), ACCURACIES.values())
        ])  # fmt: skip
        idx, ann = np.tile(np.arange(300), 3), np.repeat(np.arange(3), 300)
        real = np.array([(lab[ann == j] == y).mean() for j in range(3)])
        post = dawid_skene(idx, ann, lab, 300, 3, 10)[0]
        est = annotator_accuracy(idx, ann, lab, 3, consensus_of(post), post)
        assert np.abs(est - real).max() < 0.05, (seed, est, real)
        # the price: a little consensus accuracy against the classic model
        classic = dawid_skene(idx, ann, lab, 300, 3, 10, pooling=0.0)[0]
        right = (consensus_of(post) == y).mean()
        assert right > (consensus_of(classic) == y).mean() - 0.02, seed


def test_confusable_noise_rows():
    noise = confusable_noise(4, share=0.7)
    np.testing.assert_allclose(noise.sum(1), 1)
    np.testing.assert_allclose(np.diag(noise), 0)
    np.testing.assert_allclose(noise[0], [0, 0.7, 0.15, 0.15])


# -- campaigns ---------------------------------------------------------------------


def _digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    y_noisy = y.copy()
    flip = rng.random(y.size) < 0.4
    y_noisy[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    return X / 16, y, y_noisy


ACCURACIES = {"a": 0.9, "b": 0.8, "c": 0.65}


def _campaign(X, y, y_noisy, rule, seed, **kw):
    params = dict(
        estimator=LogisticRegression(max_iter=200),
        classifier=LogisticRegression(max_iter=200),
        query_strategy="random",
        oracle=simulated_annotators(y, ACCURACIES, seed=seed),
        start="noisy",
        batch_size=50,
        n_rounds=6,
        consensus=rule,
        random_state=seed,
    )
    return ActiveLabelCleaner(**{**params, **kw}).fit(X, y_noisy)


def test_digits_dawid_skene_beats_majority_and_single_truth():
    X, y, y_noisy = _digits()
    for seed in range(3):
        acc = {}
        for rule in (None, "majority", "dawid_skene"):
            c = _campaign(X, y, y_noisy, rule, seed)
            assert c.budget_used_ == c.budget_total_ == 900  # 300 samples x 3
            acc[rule] = (c.labels_ == y).mean()
        assert acc["dawid_skene"] > acc["majority"] > acc[None], (seed, acc)
        # The estimated accuracies against what the annotators really did.
        table = c.answers_
        for name, estimate in c.annotator_accuracy_.items():
            rows = table[table["annotator"] == name]
            realized = (rows["label_code"] == y[rows["index"]]).mean()
            assert rows.size == 300
            assert abs(estimate - realized) < 0.05, (seed, name, estimate, realized)
            # 300 answers realise the nominal accuracy with an sd of up to
            # 0.028 (c: 0.65), so the nominal bound is the looser one.
            assert abs(estimate - ACCURACIES[name]) < 0.07, (seed, name, estimate)
        h = c.history_[-1]
        assert h["answers_by_annotator"] == {"a": 300, "b": 300, "c": 300}
        assert h["n_answers"] == 900 and 0.5 < h["mean_agreement"] < 1
        answered = np.isfinite(c.agreement_)
        assert answered.sum() == 300 and c.relabeled_mask_.sum() <= 300


def _small():
    X, y = make_classification(
        120, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    y_noisy = y.copy()
    y_noisy[:40] = (y[:40] + 1) % 3
    return X, y, y_noisy


class Killer:
    """Wraps an annotator; raises KeyboardInterrupt on its ``at``-th call."""

    def __init__(self, inner, at):
        self.inner, self.at, self.calls = inner, at, []

    def __call__(self, ids, X_subset=None):
        if len(self.calls) + 1 == self.at:
            self.at = None
            raise KeyboardInterrupt
        self.calls.append(np.asarray(ids).tolist())
        return self.inner(ids, X_subset)


def test_resume_after_kill_between_annotators_loses_no_answer(tmp_path):
    X, y, y_noisy = _small()
    sims = simulated_annotators(y, ACCURACIES, seed=3)
    params = dict(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        start="noisy",
        batch_size=10,
        n_rounds=4,
        consensus="dawid_skene",
        random_state=0,
    )
    reference = ActiveLabelCleaner(oracle=dict(sims), **params).fit(X, y_noisy)
    wrapped = {k: Killer(v, 3 if k == "b" else None) for k, v in sims.items()}
    with pytest.raises(KeyboardInterrupt):
        ActiveLabelCleaner(oracle=wrapped, checkpoint=tmp_path, **params).fit(
            X, y_noisy
        )
    saved = load_cleaner(tmp_path, labels_only=True)
    assert saved.n_rounds_ == 2 and saved.budget_used_ == 2 * 30 + 10  # a's round 3
    a_calls = len(wrapped["a"].calls)
    resumed = ActiveLabelCleaner(oracle=wrapped, checkpoint=tmp_path, **params)
    resumed.fit(X, y_noisy)
    assert len(wrapped["a"].calls) == a_calls + 1  # round 4 only: 3 not re-asked
    assert resumed.budget_used_ == 120 and resumed.n_rounds_ == 4
    for f in ("index", "annotator", "label_code", "round"):
        np.testing.assert_array_equal(resumed.answers_[f], reference.answers_[f])
    np.testing.assert_array_equal(resumed.labels_, reference.labels_)
    again = load_cleaner(tmp_path, labels_only=True)
    assert again.annotator_accuracy_ == resumed.annotator_accuracy_


def test_format_2_checkpoint_opens_with_one_expert(tmp_path):
    X, y, y_noisy = _small()
    from noisyactive.active import SimulatedOracle

    ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        oracle=SimulatedOracle(y),
        start="noisy",
        batch_size=10,
        n_rounds=2,
        checkpoint=tmp_path,
        random_state=0,
    ).fit(X, y_noisy)
    header, arrays = read_state(tmp_path)
    assert header["format_version"] == 4
    header["format_version"] = 2
    for key in ("annotators", "consensus"):
        del header[key]
    arrays = {
        k: v for k, v in arrays.items() if not k.startswith("answers_")
    }  # a format-2 file has no answer table
    del arrays["batch_wanted"]
    write_state(tmp_path, header, arrays)
    old = load_cleaner(tmp_path, labels_only=True)
    assert old.annotators_ == ["expert"] and old.answers_.size == 20
    np.testing.assert_array_equal(
        np.sort(old.answers_["index"]), np.sort(old.relabel_log_["index"])
    )
    assert old.annotator_accuracy_ == {"expert": 1.0}


def test_majority_tie_is_not_relabeled_and_teach_takes_annotators():
    X, y, y_noisy = _small()
    c = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        start="noisy",
        batch_size=4,
        n_rounds=2,
        consensus="majority",
        max_answers_per_sample=2,
        random_state=0,
    ).fit(X, y_noisy)
    batch = c.query(X)
    assert c.budget_total_ == 16 and batch.size == 4
    c.teach(X, batch, [0, 1, 2, 0], annotator="ann")
    assert c.n_rounds_ == 0  # each sample wants two answers
    with pytest.raises(ValueError, match="relabeled already|answered already"):
        c.teach(X, batch[:1], [1], annotator="ann")
    c.teach(X, batch, [0, 2, 2, 1], annotator="bob")
    assert c.n_rounds_ == 1
    np.testing.assert_array_equal(c.relabeled_mask_[batch], [True, False, True, False])
    np.testing.assert_array_equal(c.labels_[batch[[0, 2]]], [0, 2])
    np.testing.assert_array_equal(c.labels_[batch[[1, 3]]], y_noisy[batch[[1, 3]]])
    np.testing.assert_allclose(c.agreement_[batch], [1, 0.5, 1, 0.5])


def test_second_opinion_scores_exact():
    from noisyactive.query import second_opinion_scores

    proba = np.array([[0.8, 0.2], [0.8, 0.2], [0.5, 0.5], [0.8, 0.2]])
    scores = second_opinion_scores(
        proba,
        np.array([1, 3, 0, 0]),
        np.array([1.0, 1 / 3, np.nan, np.nan]),
        np.array([0, 1, -1, -1]),
        annotator_weight=0.5,
    )
    # answered: 1 - (p(cons) + 0.5 n agree) / (1 + 0.5 n); fresh: 1 - (max + 0.25)/1.5
    np.testing.assert_allclose(
        scores, [1 - 1.3 / 1.5, 1 - 0.7 / 2.5, 1 - 0.75 / 1.5, 0.3]
    )


def test_second_opinion_campaign_asks_answered_samples_again():
    X, y, y_noisy = _digits()
    c = _campaign(
        X,
        y,
        y_noisy,
        "dawid_skene",
        0,
        query_strategy="second_opinion",
        answers_per_query=1,
        batch_size=150,
        n_rounds=4,
    )
    assert c.budget_used_ == c.budget_total_ == 600
    counts = np.bincount(c.answers_["index"], minlength=y.size)
    assert counts.max() > 1 and counts.max() <= 3  # second opinions, capped
    per = c.history_[-1]["answers_by_annotator"]
    assert sum(per.values()) == 600 and min(per.values()) > 100


def test_export_and_csv_round_trip_with_annotators(tmp_path):
    import csv

    X, y, y_noisy = _small()
    c = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        start="noisy",
        batch_size=3,
        n_rounds=2,
        consensus="majority",
        max_answers_per_sample=2,
        random_state=0,
    ).fit(X, y_noisy)
    batch = c.query(X, csv_path=tmp_path / "q.csv")
    with open(tmp_path / "q.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    answers = []
    for who, labels in (("ann", [0, 1, None]), ("bob", [0, 2, 1])):
        for row, label in zip(rows, labels):
            answers.append(dict(row, label="" if label is None else label))
            answers[-1]["annotator"] = who
    with open(tmp_path / "a.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, [*rows[0], "annotator"])
        writer.writeheader()
        writer.writerows(answers)
    c.teach_from_csv(tmp_path / "a.csv", X)
    assert c.n_rounds_ == 1 and len(c.answers_) == 6
    c.export_labels(tmp_path / "export.csv", X)
    with open(tmp_path / "export.csv", newline="") as fh:
        out = {int(r["index"]): r for r in csv.DictReader(fh)}
    first, second, third = (out[int(i)] for i in batch)
    assert (first["consensus"], first["agreement"], first["n_answers"]) == (
        "0",
        "1.0000",
        "2",
    )
    assert (first["answer:ann"], first["answer:bob"]) == ("0", "0")
    assert second["consensus"] == "" and second["agreement"] == "0.5000"
    assert (third["answer:ann"], third["answer:bob"]) == ("not sure", "1")
    assert third["consensus"] == "1" and third["n_answers"] == "1"
