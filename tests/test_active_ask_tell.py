"""The expert's path: CSV round trip, export, audits, callbacks, the noise
estimate, and every argument checked before an oracle is asked."""

import csv
import os

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import ActiveLabelCleaner, refine_noise_rates


def _data(n=100):
    X, y = make_classification(
        n, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    y_noisy = np.where(np.arange(n) % 4 == 0, (y + 1) % 3, y)
    names = np.array(["akiec", "df", "nv"])
    return X, names[y], names[y_noisy]


def _cleaner(oracle=None, checkpoint=None, **params):
    defaults = dict(
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=300),
        oracle=oracle,
        batch_size=5,
        n_rounds=4,
        checkpoint=checkpoint,
        random_state=0,
    )
    return ActiveLabelCleaner(**{**defaults, **params})


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_query_csv_and_teach_from_csv_round_trip(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(checkpoint=tmp_path / "c").fit(X, y_noisy)
    ask = cleaner.query(X, csv_path=tmp_path / "ask.csv")
    rows = _rows(tmp_path / "ask.csv")
    assert list(rows[0]) == [
        "index",
        "path",
        "current_label",
        "suggested_label",
        "confidence",
        "label",
        "allowed_labels",
    ]
    assert [int(r["index"]) for r in rows] == ask.tolist()
    assert [r["current_label"] for r in rows] == y_noisy[ask].tolist()
    assert all(r["label"] == "" for r in rows)
    assert rows[0]["allowed_labels"] == "akiec | df | nv"
    table = cleaner.pending_table(X)
    assert [r["suggested_label"] for r in table] == [r["suggested_label"] for r in rows]
    assert all(0 < r["confidence"] <= 1 for r in table)
    # The expert fills in all but one row (blank = abstain).
    for k, row in enumerate(rows):
        row["label"] = "" if k == 0 else y[int(row["index"])]
    with open(tmp_path / "answers.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cleaner.teach_from_csv(tmp_path / "answers.csv", X)
    assert cleaner.n_rounds_ == 1 and cleaner.budget_used_ == 4
    assert cleaner.abstained_mask_[ask[0]]
    np.testing.assert_array_equal(cleaner.labels_[ask[1:]], y[ask[1:]])


def test_teach_from_csv_names_the_row_of_an_unknown_label(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner().fit(X, y_noisy)
    ask = cleaner.query(X)
    path = tmp_path / "answers.csv"
    path.write_text(f"index,label\n{ask[0]},nv\n{ask[1]},melanoma\n")
    with pytest.raises(ValueError, match=r"row 3 \(index \d+\): label 'melanoma'"):
        cleaner.teach_from_csv(path, X)
    assert cleaner.budget_used_ == 0  # nothing recorded from a refused file


def test_path_inputs_need_no_X_and_export_labels(tmp_path):
    X, y, y_noisy = _data(60)
    paths = []
    for i, row in enumerate(X):
        paths.append(str(tmp_path / f"s{i:03d}.npy"))
        np.save(paths[-1], row)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    read = FunctionTransformer(lambda p: np.stack([np.load(f) for f in p]))
    cleaner = _cleaner(
        classifier=make_pipeline(read, LogisticRegression(max_iter=300)),
        estimator=LogisticRegression(),
        start="noisy",
    ).fit(paths, y_noisy)
    np.testing.assert_array_equal(cleaner.input_paths_, paths)
    ask = cleaner.query()  # X=None: the paths are known
    assert [r["path"] for r in cleaner.pending_table()] == [paths[i] for i in ask]
    cleaner.teach(None, ask, y[ask])
    cleaner.export_labels(tmp_path / "labels.csv")
    rows = _rows(tmp_path / "labels.csv")
    assert len(rows) == 60 and rows[0]["path"] == paths[0]
    by_index = {int(r["index"]): r for r in rows}
    for i in ask:
        row = by_index[i]
        fixed = "corrected" if y[i] != y_noisy[i] else "confirmed"
        assert row["source"] == fixed and row["round"] == "1"
        assert row["final_label"] == y[i] and row["given_label"] == y_noisy[i]
        assert row["label_quality"] == "1.0000" and row["is_label_issue"] == "False"
    others = set(range(60)) - set(ask.tolist())  # start="noisy": none kept
    sources = {by_index[i]["source"] for i in others}
    assert sources <= {"unreviewed", "unreviewed-suspect"}
    for i in others:
        row = by_index[i]
        suspect = row["suggested_label"] != row["final_label"]
        assert row["is_label_issue"] == str(suspect)
        assert (row["source"] == "unreviewed-suspect") == suspect
        assert 0 <= float(row["label_quality"]) <= 1
    # A file replaced behind the same path is other data.
    os.utime(paths[0], ns=(1, 1))
    with pytest.raises(ValueError, match="not the data"):
        cleaner.query()


def test_audits_ask_suspicious_kept_samples_and_count_against_the_budget():
    X, y, y_noisy = _data()
    oracle_calls = []

    def oracle(ids, X_subset):
        oracle_calls.append(np.asarray(ids))
        return y[ids]

    cleaner = _cleaner(oracle, audit_share=0.4, n_rounds=3).fit(X, y_noisy)
    kept = cleaner.initial_clean_mask_
    audited = np.concatenate(cleaner.queried_indices_)
    audited = audited[kept[audited]]
    assert audited.size == 3 * 2  # 40 % of each batch of 5
    assert [h["n_audited"] for h in cleaner.history_] == [0, 2, 2, 2]
    assert cleaner.budget_used_ == 15 == cleaner.budget_total_
    np.testing.assert_array_equal(cleaner.labels_[audited], y[audited])
    # Suspicion: the first round's audits are the kept samples whose label
    # the first classifier found least probable.
    first = LogisticRegression(max_iter=300).fit(X[kept], y_noisy[kept])
    proba = first.predict_proba(X[kept])
    cols = np.searchsorted(first.classes_, y_noisy[kept])
    p_label = proba[np.arange(kept.sum()), cols]
    expected = np.flatnonzero(kept)[np.argsort(p_label, kind="stable")[:2]]
    np.testing.assert_array_equal(oracle_calls[0][3:], expected)
    # Wrong kept labels corrected by an audit show in the log.
    fixed = cleaner.relabel_log_[np.isin(cleaner.relabel_log_["index"], audited)]
    assert (fixed["old_label"] != fixed["new_label"]).any()


def test_on_round_end_sees_round_0_and_every_round():
    X, y, y_noisy = _data()
    seen = []

    def record(cleaner, entry):
        last = entry is cleaner.history_[-1]
        seen.append((entry["round"], cleaner.budget_used_, last))

    _cleaner(lambda ids, Xs: y[ids], on_round_end=record, n_rounds=3).fit(X, y_noisy)
    assert seen == [(0, 0, True), (1, 5, True), (2, 10, True), (3, 15, True)]


def test_history_records_the_noise_estimate_refined_by_answers():
    X, y, y_noisy = _data()
    cleaner = _cleaner(lambda ids, Xs: y[ids], n_rounds=4).fit(X, y_noisy)
    rates = [h["noise_rate"] for h in cleaner.history_]
    assert rates[0] is None  # MaskFilter gives no phase-1 estimate, no answers yet
    assert all(0 <= r <= 1 for r in rates[1:])
    last = cleaner.history_[-1]
    log = cleaner.relabel_log_
    wrong = (log["old_label"] != log["new_label"]).mean()
    # Every answer so far is among the rejected samples; the estimate follows
    # their observed share of wrong labels.
    expected, per_class = refine_noise_rates(
        np.searchsorted(cleaner.classes_, y_noisy),
        log["index"],
        np.searchsorted(cleaner.classes_, log["new_label"]),
        cleaner.initial_clean_mask_,
        3,
    )
    assert last["noise_rate"] == pytest.approx(expected)
    assert last["class_noise_rates"] == pytest.approx(per_class.tolist())
    fixed = (log["old_label"] != log["new_label"]).sum()
    assert last["remaining_noise_rate"] == pytest.approx(expected - fixed / len(X))
    assert 0 < wrong


def test_refine_noise_rates_recovers_known_rates_and_uses_the_prior():
    rng = np.random.default_rng(0)
    n, k = 4000, 4
    y_noisy = rng.integers(0, k, n)
    truth = np.array([0.1, 0.2, 0.4, 0.6])
    wrong = rng.random(n) < truth[y_noisy]
    y_true = np.where(wrong, (y_noisy + 1) % k, y_noisy)
    kept = np.zeros(n, bool)
    asked = rng.choice(n, 1500, replace=False)
    rate, per_class = refine_noise_rates(
        y_noisy, asked, y_true[asked], kept, k, ranked=False
    )
    np.testing.assert_allclose(per_class, truth, atol=0.05)
    assert rate == pytest.approx(wrong.mean(), abs=0.03)
    # No answers: the phase-1 estimate comes back unchanged.
    rate0, per0 = refine_noise_rates(y_noisy, [], [], kept, k, prior=truth)
    np.testing.assert_allclose(per0, truth)
    # Answers pull the prior towards what they show.
    _, pulled = refine_noise_rates(
        y_noisy, asked, y_true[asked], kept, k, prior=np.full(k, 0.9), ranked=False
    )
    assert (np.abs(pulled - truth) < np.abs(0.9 - truth)).all()
    # Ranked answers lower a prior that is too high, and never raise one.
    _, lowered = refine_noise_rates(
        y_noisy, asked, y_true[asked], kept, k, prior=np.full(k, 0.9)
    )
    assert (lowered < 0.9).all()
    _, low = refine_noise_rates(
        y_noisy, asked, y_true[asked], kept, k, prior=np.full(k, 0.05)
    )
    # Every wrong label found counts; beyond that the rest hold only what the
    # prior had left to find.
    found = np.bincount(y_noisy[asked], wrong[asked], minlength=k)
    share = found / np.bincount(y_noisy, minlength=k)
    np.testing.assert_allclose(low, np.maximum(0.05, share))
    assert refine_noise_rates(y_noisy, [], [], kept, k) == (None, None)


def test_refine_noise_rates_is_not_inflated_by_most_suspicious_first_queries():
    # 1000 samples of one class, 300 wrong; the oracle sees the 100 most
    # suspicious, all of them wrong. Extrapolating 100 % to the other 900
    # would call the class all noise; the prior's mass says 200 are left.
    y_noisy = np.zeros(1000, dtype=int)
    y_true = y_noisy.copy()
    y_true[:300] = 1
    kept = np.zeros(1000, bool)
    asked = np.arange(100)
    inflated, _ = refine_noise_rates(
        y_noisy, asked, y_true[asked], kept, 2, prior=0.3, ranked=False
    )
    rate, per_class = refine_noise_rates(
        y_noisy, asked, y_true[asked], kept, 2, prior=0.3
    )
    assert inflated > 0.8
    assert rate == pytest.approx(0.3)
    assert per_class[0] == pytest.approx(0.3)


def test_everything_is_checked_before_the_oracle_is_asked(tmp_path):
    X, y, y_noisy = _data()
    asked = []

    def oracle(ids, X_subset):
        asked.append(ids)
        return y[ids]

    with pytest.raises(ValueError, match=r"y_val holds labels \['melanoma'\]"):
        _cleaner(oracle).fit(X, y_noisy, X_val=X[:3], y_val=["nv", "df", "melanoma"])
    (tmp_path / "a_file").write_text("")  # a checkpoint that cannot be written
    with pytest.raises(OSError, match="nothing was asked"):
        _cleaner(oracle, tmp_path / "a_file" / "campaign").fit(X, y_noisy)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        if not os.access(readonly, os.W_OK):  # not as root, who writes anywhere
            with pytest.raises(PermissionError, match="nothing was asked"):
                _cleaner(oracle, readonly / "campaign").fit(X, y_noisy)
    finally:
        readonly.chmod(0o700)
    assert asked == []


def test_strategy_returning_duplicates_is_named():
    X, y, y_noisy = _data()

    class Twice:
        def rank(self, estimator, X, candidates, n, **kwargs):
            return np.repeat(candidates[:1], n), None

    with pytest.raises(ValueError, match=r"Twice \(round 1\) returned contain dup"):
        _cleaner(lambda ids, Xs: y[ids], query_strategy=Twice()).fit(X, y_noisy)


def test_temporary_files_are_removed_on_the_next_start(tmp_path):
    X, y, y_noisy = _data()
    _cleaner(lambda ids, Xs: y[ids], tmp_path, n_rounds=1).fit(X, y_noisy)
    (tmp_path / ".tmp-leftover").write_bytes(b"half a state")
    _cleaner(lambda ids, Xs: y[ids], tmp_path, n_rounds=2).fit(X, y_noisy)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


class _FailOnce:
    def __init__(self):
        self.armed = False

    def __deepcopy__(self, memo):
        return self


class _InterruptibleLR(LogisticRegression):
    def __init__(self, switch=None, max_iter=300):
        super().__init__(max_iter=max_iter)
        self.switch = switch

    def fit(self, X, y, sample_weight=None):
        if self.switch.armed:
            self.switch.armed = False
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight)


def test_session_stopped_before_the_refit_refits_at_the_next_query(tmp_path):
    X, y, y_noisy = _data()
    switch = _FailOnce()
    params = dict(classifier=_InterruptibleLR(switch), refit="scratch")
    cleaner = _cleaner(checkpoint=tmp_path, **params).fit(X, y_noisy)
    reference = _cleaner(lambda ids, Xs: y[ids], n_rounds=2, **params).fit(X, y_noisy)
    ask = cleaner.query(X)
    switch.armed = True
    with pytest.raises(KeyboardInterrupt):
        cleaner.teach(X, ask, y[ask])  # answers journaled, refit interrupted
    from noisyactive.active import load_cleaner

    later = load_cleaner(tmp_path, cleaner=_cleaner(**params))
    assert later.n_rounds_ == 1 and later.budget_used_ == 5
    nxt = later.query(X)  # refits first, then ranks with the new classifier
    np.testing.assert_array_equal(nxt, reference.queried_indices_[1])


def test_experiments_test_curve_records_every_round_through_on_round_end():
    from noisyactive.experiments._methods import TestCurve, make_cleaner

    X, y, y_noisy = _data()
    curve = TestCurve(X, y, np.unique(y))
    make_cleaner(
        curve,
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=300),
        oracle=lambda ids, Xs: y[ids],
        batch_size=5,
        n_rounds=3,
        random_state=0,
    ).fit(X, y_noisy)
    assert [r["labels_used"] for r in curve.rows] == [0, 5, 10, 15]
    assert all(0.0 <= r["macro_f1"] <= 1.0 for r in curve.rows)


def test_journal_of_a_deleted_state_is_kept_aside_not_replayed(tmp_path):
    X, y, y_noisy = _data()
    _cleaner(lambda ids, Xs: y[ids], tmp_path, n_rounds=2).fit(X, y_noisy)
    os.remove(tmp_path / "state.npz")  # the user starts over
    fresh = _cleaner(None, tmp_path).fit(X, y_noisy)
    assert fresh.budget_used_ == 0
    again = _cleaner(None, tmp_path).fit(X, y_noisy)  # resume replays nothing old
    assert again.budget_used_ == 0
    assert [f for f in os.listdir(tmp_path) if ".orphaned-" in f]


def test_two_sessions_on_one_folder_lose_no_answer(tmp_path):
    import json

    from noisyactive.active import load_cleaner

    X, y, y_noisy = _data()
    folder = tmp_path / "c"
    _cleaner(checkpoint=folder).fit(X, y_noisy)
    first = load_cleaner(folder, trusted=("_stubs",))
    ask = first.query(X)
    second = load_cleaner(folder, trusted=("_stubs",))
    first.teach(X, ask[:2], y[ask[:2]], finish=False)
    with pytest.raises(RuntimeError, match="changed by another session"):
        second.teach(X, ask[2:4], y[ask[2:4]], finish=False)
    with pytest.raises(RuntimeError, match="reload it with load_cleaner"):
        second.query(X)
    with open(folder / "answers.jsonl", encoding="utf-8") as fh:
        seqs = [json.loads(line)["entry"]["seq"] for line in fh]
    assert seqs == [1]
    again = load_cleaner(folder, trusted=("_stubs",))
    assert again.budget_used_ == 2
    again.teach(X, ask[2:4], y[ask[2:4]], finish=False)
    assert load_cleaner(folder, trusted=("_stubs",)).budget_used_ == 4
    with pytest.raises(RuntimeError, match="changed by another session"):
        first.teach(X, ask[4:], y[ask[4:]])  # stale as well now


def test_teach_checks_its_arguments_under_the_lock(tmp_path, monkeypatch):
    import noisyactive.active._ask_tell as ask_tell

    X, y, y_noisy = _data()
    cleaner = _cleaner(checkpoint=tmp_path / "c").fit(X, y_noisy)
    ask = cleaner.query(X)
    depths = []
    check_indices = ask_tell.check_answer_indices
    validate = ask_tell.validate_oracle_labels

    def spy_indices(state, indices, **kwargs):
        depths.append(cleaner.campaign_.lock_depth)
        return check_indices(state, indices, **kwargs)

    def spy_validate(*args, **kwargs):
        depths.append(cleaner.campaign_.lock_depth)
        return validate(*args, **kwargs)

    monkeypatch.setattr(ask_tell, "check_answer_indices", spy_indices)
    monkeypatch.setattr(ask_tell, "validate_oracle_labels", spy_validate)
    cleaner.teach(X, ask, y[ask])
    assert len(depths) == 2 and min(depths) >= 1, depths


def test_abstain_then_answer_counts_each_sample_once(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(checkpoint=tmp_path / "c").fit(X, y_noisy)
    ask = cleaner.query(X)
    cleaner.teach(X, ask[:1], [None])
    cleaner.teach(X, ask, y[ask])
    np.testing.assert_array_equal(cleaner.queried_indices_[-1], ask)
    last = cleaner.history_[-1]
    assert last["n_queried"] == ask.size
    assert last["n_returned"] == ask.size
    assert last["n_abstained"] == 0
