"""The audit before the first round and the noise posterior: pure functions
on exact arrays, a digits campaign, ask/tell and resuming mid-audit."""

import csv
import warnings

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import (
    ActiveLabelCleaner,
    SimulatedOracle,
    audit_size_for,
    combine_noise_estimates,
    load_cleaner,
    stratified_audit,
)
from noisyactive.active._noise_posterior import (
    audit_allocation,
    audit_counts,
    beta_prior,
    classifier_reliability,
    noise_report,
    weighted_audit_rate,
)

# -- pure functions -----------------------------------------------------------


def test_allocation_sees_every_class_and_oversamples_rare_ones():
    assert audit_allocation([80, 15, 5], 20).tolist() == [12, 5, 3]
    assert audit_allocation([80, 15, 5], 100).tolist() == [80, 15, 5]
    assert audit_allocation([10, 0, 2], 3).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="cannot see each of the 3"):
        audit_allocation([80, 15, 5], 2)


def test_stratified_audit_weights_undo_the_oversampling():
    y = np.repeat([0, 1, 2], [80, 15, 5])
    idx, w = stratified_audit(y, 20, random_state=3)
    assert np.unique(idx).size == 20
    assert np.bincount(y[idx]).tolist() == [12, 5, 3]
    np.testing.assert_allclose(w, np.array([80 / 12, 15 / 5, 5 / 3])[y[idx]])
    assert w.sum() == pytest.approx(100)  # each stands for its class's samples
    again, _ = stratified_audit(y, 20, random_state=3)
    assert np.array_equal(idx, again)
    # The weighted share of wrong labels is the class rates by class share.
    wrong = np.zeros(20)
    wrong[y[idx] == 1] = 1  # every audited label of class 1 is wrong
    assert weighted_audit_rate(wrong, w) == pytest.approx(0.15)


def test_audit_counts_skip_abstentions():
    y, audited = [0, 0, 1, 1, 2], [0, 1, 2, 3, 4]
    answered, wrong = audit_counts(y, audited, [0, 1, 1, -1, 0], 3)
    assert answered.tolist() == [2, 1, 1]
    assert wrong.tolist() == [1, 0, 1]


def test_beta_prior_strength_and_discount():
    a, b = beta_prior(0.2, 0.0, floor=0.04)
    assert a + b == pytest.approx(0.16 / 0.0016 - 1 + 2)
    assert a / (a + b) == pytest.approx(0.2)
    a, b = beta_prior(0.2, 0.03, floor=0.04, reliability=0.5)
    assert a + b == pytest.approx((0.16 / 0.0025 - 1) * 0.5 + 2)
    assert beta_prior(None, 0.0) == (0.5, 0.5)
    assert classifier_reliability(0.70, 0.68, 0.01) == 0.0
    assert classifier_reliability(0.35, 0.3, 0.16) == pytest.approx(0.5)
    assert classifier_reliability(0.9, 0.3, 0.6) == 1.0


def _classifier(reliability, rates=(0.1, 0.1)):
    return {
        "rate": float(np.mean(rates)),
        "rate_std": 0.0,
        "class_rates": list(rates),
        "class_rates_std": [0.0, 0.0],
        "reliability": reliability,
    }


def test_posterior_from_the_audit_alone_is_beta_binomial():
    post = combine_noise_estimates([50, 50], audit=([10, 10], [2, 4]))
    np.testing.assert_allclose(post.class_rates, [2.5 / 11, 4.5 / 11])
    assert post.rate == pytest.approx((2.5 / 11 + 4.5 / 11) / 2)
    assert post.interval[0] < post.rate < post.interval[1]
    low, high = post.class_intervals[0]
    assert low < 2.5 / 11 < high
    assert post.n_audited.tolist() == [10, 10] and post.n_wrong.tolist() == [2, 4]


def test_posterior_weights_the_classifier_by_its_reliability():
    audit = ([20, 20], [10, 10])  # the audit says 0.5, the classifier 0.1
    m = [100, 100]
    trusted = combine_noise_estimates(m, classifier=_classifier(1.0), audit=audit)
    ignored = combine_noise_estimates(m, classifier=_classifier(0.0), audit=audit)
    assert trusted.rate < 0.25 < 0.4 < ignored.rate
    # Without answers, the posterior is the classifier's estimate, widened.
    alone = combine_noise_estimates([100, 100], classifier=_classifier(1.0))
    np.testing.assert_allclose(alone.class_rates, [0.1, 0.1])
    assert alone.interval[0] < 0.1 - 0.05 and alone.interval[1] > 0.1 + 0.05
    # Class shares weigh the overall rate: a rare class counts little.
    skew = combine_noise_estimates(
        [900, 100], classifier=_classifier(1.0, rates=(0.1, 0.5))
    )
    assert skew.rate == pytest.approx(0.9 * 0.1 + 0.1 * 0.5)


def test_symmetric_bound_caps_the_rate():
    post = combine_noise_estimates(
        [50, 50], audit=([10, 10], [8, 8]), symmetric_bound=0.5
    )
    assert post.rate == pytest.approx(0.5)
    assert post.interval[1] == pytest.approx(0.5)


def test_audit_size_for_a_half_width():
    assert audit_size_for(0.3) == 323  # 1.96^2 * 0.21 / 0.05^2 = 322.7
    assert audit_size_for(0.3, current_half_width=0.1) == 243
    assert audit_size_for(0.3, current_half_width=0.04) == 0
    message, needed = noise_report(
        combine_noise_estimates([100, 100], classifier=_classifier(0.0))
    )
    assert needed == audit_size_for(0.1) and f"audit_size={needed}" in message
    assert "near the class prior" in message


# -- a digits campaign --------------------------------------------------------

FAST = dict(num_gradual=2, vog_window=2, max_epochs=6, lr=0.05, batch_size=64)


@pytest.fixture(scope="module")
def digits():
    from noisyactive.datasets import inject_label_noise

    X, y = load_digits(return_X_y=True)
    idx = np.random.default_rng(0).permutation(y.size)[:600]
    X, y = (X[idx] / 16).astype(np.float32), y[idx]
    return X, y, inject_label_noise(y, 0.3, random_state=0)


def _digits_cleaner(y, **params):
    from noisyactive import NoisyLabelFilter

    defaults = dict(
        estimator=NoisyLabelFilter(random_state=0, **FAST),
        classifier=LogisticRegression(max_iter=300),
        oracle=SimulatedOracle(y),
        audit_size=30,
        batch_size=20,
        n_rounds=2,
        random_state=0,
    )
    return ActiveLabelCleaner(**{**defaults, **params})


def test_digits_campaign_starts_with_the_audit(digits):
    X, y, y_noisy = digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cleaner = _digits_cleaner(y, refit_after_audit=False).fit(X, y_noisy)
    first = cleaner.history_[0]
    assert first["kind"] == "audit" and first["round"] == 0
    assert first["n_queried"] == first["n_returned"] == 30
    assert [h["kind"] for h in cleaner.history_] == ["audit", "round", "round"]
    assert cleaner.budget_total_ == 30 + 2 * 20 == cleaner.budget_used_
    log = cleaner.relabel_log_
    assert np.sort(log["index"][log["round"] == 0]).tolist() == sorted(
        cleaner.audit_indices_.tolist()
    )
    assert np.bincount(y_noisy[cleaner.audit_indices_], minlength=10).min() >= 1
    assert cleaner.clean_mask_[cleaner.audit_indices_].all()
    # The audit moves the classifier's estimate; every round moves it again.
    assert first["prior_noise_rate"] is not None
    assert first["noise_rate"] != pytest.approx(first["prior_noise_rate"])
    rates = [h["noise_rate"] for h in cleaner.history_]
    assert len(set(rates)) == 3
    assert cleaner.noise_rate_ == rates[-1]
    low, high = cleaner.noise_rate_interval_
    assert low < cleaner.noise_rate_ < high
    assert cleaner.class_noise_rates_.shape == (10,)
    assert cleaner.class_clean_counts_.sum() == pytest.approx(
        600 * (1 - cleaner.noise_rate_)
    )
    # The report before the campaign: the estimate, its interval, the cost.
    assert "audit_size=" in cleaner.noise_report_
    assert any("audit_size=" in str(w.message) for w in caught)


def test_digits_audit_alone_and_phase1_refit(digits):
    X, y, y_noisy = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaner = _digits_cleaner(y, n_rounds=0, refit_after_audit=True).fit(X, y_noisy)
    assert [h["kind"] for h in cleaner.history_] == ["audit"]
    assert cleaner.budget_used_ == 30 and cleaner.termination_condition_ == "n_rounds"
    first = cleaner.history_[0]
    assert first["refit_phase1"] and first["refit_forget_rate"] == pytest.approx(
        first["noise_rate"]
    )
    assert cleaner.estimator_.forget_rate == pytest.approx(first["noise_rate"])
    # The per-class rates go in too: the refit's class quotas are the audited
    # share of clean labels of every noisy class, not the symmetric formula.
    counts = np.bincount(y_noisy, minlength=10)
    np.testing.assert_allclose(
        cleaner.estimator_.class_clean_counts_,
        counts * (1 - np.asarray(first["class_noise_rates"])),
        rtol=1e-6,
    )
    assert cleaner.classifier_ is not None


# -- ask/tell and resuming ----------------------------------------------------


def _data(n=120):
    X, y = make_classification(
        n, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    y_noisy = np.where(np.arange(n) % 4 == 0, (y + 1) % 3, y)
    return X, y, y_noisy


def _cleaner(oracle=None, checkpoint=None, **params):
    defaults = dict(
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=300),
        oracle=oracle,
        audit_size=9,
        batch_size=5,
        n_rounds=2,
        checkpoint=checkpoint,
        random_state=0,
    )
    return ActiveLabelCleaner(**{**defaults, **params})


def test_audit_is_answered_through_query_and_teach(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(checkpoint=tmp_path / "c").fit(X, y_noisy)
    assert cleaner.history_ == [] and cleaner.classifier_ is None
    ask = cleaner.query(X, csv_path=tmp_path / "ask.csv")
    assert np.array_equal(np.sort(ask), np.sort(cleaner.audit_indices_))
    assert np.array_equal(cleaner.query(X, n=3), ask)  # handed out whole
    with open(tmp_path / "ask.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["label"] = str(y[int(row["index"])])
    with open(tmp_path / "ask.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cleaner.teach_from_csv(tmp_path / "ask.csv", X)
    first = cleaner.history_[0]
    assert first["kind"] == "audit" and first["source"] == "teach"
    assert first["n_returned"] == 9 and first["prior_noise_rate"] is None
    wrong = int((y_noisy[ask] != y[ask]).sum())
    assert first["n_changed"] == wrong
    assert cleaner.noise_rate_ == pytest.approx(first["noise_rate"])
    assert cleaner.classifier_ is not None
    nxt = cleaner.query(X)
    assert nxt.size == 5 and not np.isin(nxt, ask).any()
    cleaner.teach(X, nxt, y[nxt])
    assert [h["kind"] for h in cleaner.history_] == ["audit", "round"]
    assert cleaner.history_[1]["noise_rate"] != first["noise_rate"]


def test_resume_mid_audit_asks_only_the_rest(tmp_path):
    X, y, y_noisy = _data()
    folder = tmp_path / "c"
    cleaner = _cleaner(checkpoint=folder).fit(X, y_noisy)
    audit = cleaner.audit_indices_.copy()
    cleaner.teach(X, audit[:4], y[audit[:4]])
    assert cleaner.history_ == []
    restored = load_cleaner(folder, trusted=("_stubs",))
    assert np.array_equal(restored.audit_indices_, audit)
    np.testing.assert_allclose(restored.audit_weights_, cleaner.audit_weights_)
    assert np.array_equal(np.sort(restored.pending_indices_), np.sort(audit[4:]))

    asked = []

    def oracle(ids, X_subset):
        asked.append(np.asarray(ids).copy())
        return y[ids]

    resumed = _cleaner(oracle, checkpoint=folder).fit(X, y_noisy)
    assert np.array_equal(np.sort(asked[0]), np.sort(audit[4:]))
    assert [h["kind"] for h in resumed.history_] == ["audit", "round", "round"]
    straight = _cleaner(lambda ids, Xs: y[ids]).fit(X, y_noisy)
    assert np.array_equal(resumed.labels_, straight.labels_)
    assert resumed.noise_rate_ == pytest.approx(straight.noise_rate_)
    assert resumed.history_[0]["n_returned"] == 9


def test_audit_size_is_checked_before_training():
    X, y, y_noisy = _data()
    with pytest.raises(ValueError, match="audit_size=2 cannot see each of the 3"):
        _cleaner(audit_size=2).fit(X, y_noisy)


# -- the audit with several annotators ------------------------------------------

ACCURACIES = {"a": 0.9, "b": 0.8, "c": 0.65}


def test_audit_with_a_dict_oracle_counts_the_consensus():
    from noisyactive.active import simulated_annotators

    X, y, y_noisy = _data()
    params = dict(consensus="dawid_skene", audit_size=30)
    sims = simulated_annotators(y, ACCURACIES, seed=0)
    multi = _cleaner(dict(sims), n_rounds=1, **params).fit(X, y_noisy)
    audit = multi.audit_indices_
    first = multi.history_[0]
    assert [h["kind"] for h in multi.history_] == ["audit", "round"]
    assert first["n_queried"] == 30
    assert first["answers_by_annotator"] == {"a": 30, "b": 30, "c": 30}
    rows = multi.answers_[multi.answers_["round"] == 0]
    for name in ACCURACIES:  # every annotator was asked every audited sample
        asked = rows["index"][rows["annotator"] == name]
        assert sorted(asked.tolist()) == sorted(audit.tolist())
    assert multi.budget_total_ == multi.budget_used_ == (30 + 5) * 3

    # The audit alone, against one oracle answering each sample's consensus:
    # the same estimate, so each sample counted once, with its consensus.
    sims = simulated_annotators(y, ACCURACIES, seed=0)
    multi = _cleaner(dict(sims), n_rounds=0, **params).fit(X, y_noisy)
    settled = multi.relabeled_mask_
    assert 25 <= settled[audit].sum() and settled.sum() == settled[audit].sum()
    answer = [multi.labels_[i] if settled[i] else None for i in range(len(y))]
    single = _cleaner(
        lambda ids, Xs: [answer[i] for i in ids], n_rounds=0, audit_size=30
    ).fit(X, y_noisy)
    assert np.array_equal(single.audit_indices_, audit)
    assert multi.noise_rate_ == pytest.approx(single.noise_rate_)
    np.testing.assert_allclose(multi.noise_rate_interval_, single.noise_rate_interval_)
    np.testing.assert_allclose(multi.class_noise_rates_, single.class_noise_rates_)
    post = multi.campaign_.state.noise_posterior
    assert sum(post["n_audited"]) == settled.sum()
    assert sum(post["n_wrong"]) == int((multi.labels_ != y_noisy)[settled].sum())


def test_audit_with_two_readers_through_query_and_teach(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(
        checkpoint=tmp_path / "c", consensus="majority", max_answers_per_sample=2
    ).fit(X, y_noisy)
    assert cleaner.budget_total_ == (9 + 2 * 5) * 2
    ask = cleaner.query(X)
    assert np.array_equal(np.sort(ask), np.sort(cleaner.audit_indices_))
    cleaner.teach(X, ask, y[ask], annotator="alice")
    assert cleaner.history_ == []  # each audited sample wants a second read
    assert np.array_equal(np.sort(cleaner.query(X)), np.sort(ask))
    cleaner.teach(X, ask, y_noisy[ask], annotator="bob")
    first = cleaner.history_[0]
    assert first["kind"] == "audit" and first["answers_by_annotator"] == {
        "alice": 9,
        "bob": 9,
    }
    # alice and bob agree where the given label is right; elsewhere a tie,
    # left open and not counted
    agree = y[ask] == y_noisy[ask]
    assert 0 < agree.sum() < 9
    post = cleaner.campaign_.state.noise_posterior
    assert sum(post["n_audited"]) == agree.sum() and sum(post["n_wrong"]) == 0
    nxt = cleaner.query(X)
    assert nxt.size == 5 and cleaner.classifier_ is not None


def test_resume_mid_audit_asks_only_the_annotators_left(tmp_path):
    from noisyactive.active import simulated_annotators

    X, y, y_noisy = _data()
    calls = {name: [] for name in ACCURACIES}

    def oracle(kill_at=None):
        sims = simulated_annotators(y, ACCURACIES, seed=1)

        def ask(name):
            def answer(ids, X_subset=None):
                if name == kill_at:
                    raise KeyboardInterrupt
                calls[name].append(sorted(np.asarray(ids).tolist()))
                return sims[name](ids, X_subset)

            return answer

        return {name: ask(name) for name in sims}

    params = dict(consensus="dawid_skene", audit_size=12, checkpoint=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        _cleaner(oracle(kill_at="b"), **params).fit(X, y_noisy)
    saved = load_cleaner(tmp_path, labels_only=True, trusted=("_stubs",))
    assert saved.budget_used_ == 12 and saved.history_ == []  # a's answers kept
    audit = sorted(saved.audit_indices_.tolist())
    assert calls["a"] == [audit] and calls["b"] == []
    resumed = _cleaner(oracle(), **params).fit(X, y_noisy)
    assert audit not in calls["a"][1:]  # a is not asked the audit again
    assert calls["b"][0] == audit == calls["c"][0]
    straight = _cleaner(dict(simulated_annotators(y, ACCURACIES, seed=1)))
    straight = straight.set_params(consensus="dawid_skene", audit_size=12)
    straight.fit(X, y_noisy)
    np.testing.assert_array_equal(resumed.labels_, straight.labels_)
    assert resumed.noise_rate_ == pytest.approx(straight.noise_rate_)
