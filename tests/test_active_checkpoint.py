"""Checkpoints, resuming after faults, and the ask/tell path."""

import csv
import os

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from noisyactive.active import ActiveLabelCleaner, load_cleaner
from noisyactive.active._files import read_state, write_state


class FaultyOracle:
    """True labels by id; raises ``fault`` when asked in round ``fail_round``."""

    def __init__(self, y_true, fail_round=None, fault=RuntimeError):
        self.y_true, self.fail_round, self.fault = y_true, fail_round, fault
        self.calls = []

    def __call__(self, ids, X_subset):
        if len(self.calls) + 1 == self.fail_round:
            self.fail_round = None  # fail once
            raise self.fault("the expert went home")
        self.calls.append(np.asarray(ids).copy())
        return self.y_true[ids]


class FitCounter:
    """Counts fits across the clones of one classifier (clone keeps it)."""

    def __init__(self, fail_at=None):
        self.n, self.fail_at = 0, fail_at

    def __deepcopy__(self, memo):
        return self


class FlakyLogisticRegression(LogisticRegression):
    """Interrupted (KeyboardInterrupt) on the ``counter.fail_at``-th fit."""

    def __init__(self, counter=None, max_iter=300):
        super().__init__(max_iter=max_iter)
        self.counter = counter

    def fit(self, X, y, sample_weight=None):
        self.counter.n += 1
        if self.counter.n == self.counter.fail_at:
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight)


def _data(n=100):
    X, y = make_classification(
        n, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    rng = np.random.default_rng(1)
    y_noisy = np.where(rng.random(n) < 0.3, (y + 1) % 3, y)
    return X, y, y_noisy


def _cleaner(oracle, checkpoint=None, **params):
    defaults = dict(
        estimator=MaskFilter(),
        classifier=SGDClassifier(loss="log_loss"),
        oracle=oracle,
        batch_size=4,
        n_rounds=5,
        refit_epochs=2,
        checkpoint=checkpoint,  # a pathlib.Path in most tests
        audit_share=0.0,  # only samples outside the clean part are asked
        random_state=3,
    )
    return ActiveLabelCleaner(**{**defaults, **params})


@pytest.mark.parametrize("fault", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("refit", ["finetune", "scratch"])
def test_resume_after_a_fault_in_round_3_asks_the_same_questions(
    tmp_path, fault, refit
):
    X, y, y_noisy = _data()
    reference = _cleaner(FaultyOracle(y), refit=refit).fit(X, y_noisy)

    faulty = FaultyOracle(y, fail_round=3, fault=fault)
    cleaner = _cleaner(faulty, tmp_path, refit=refit)
    with pytest.raises(fault) as info:
        cleaner.fit(X, y_noisy)
    assert "the 2 completed rounds (8 labels)" in "".join(info.value.__notes__)
    # Rounds 1-2 survive in the estimator and in the checkpoint.
    assert cleaner.n_rounds_ == 2 and cleaner.budget_used_ == 8
    saved = load_cleaner(tmp_path, trusted=("_stubs",))
    assert saved.n_rounds_ == 2 and saved.budget_used_ == 8
    for a, b in zip(saved.queried_indices_, reference.queried_indices_[:2]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(saved.labels_, cleaner.labels_)

    resumed_oracle = FaultyOracle(y)
    resumed = _cleaner(resumed_oracle, tmp_path, refit=refit).fit(X, y_noisy)
    assert len(resumed_oracle.calls) == 3  # only rounds 3, 4, 5 are asked
    assert resumed.budget_used_ == reference.budget_used_ == 20
    for a, b in zip(resumed.queried_indices_, reference.queried_indices_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resumed.labels_, reference.labels_)
    np.testing.assert_allclose(resumed.predict_proba(X), reference.predict_proba(X))
    assert resumed.history_ == reference.history_
    # A finished campaign resumed again asks nothing more.
    again = FaultyOracle(y)
    _cleaner(again, tmp_path, refit=refit).fit(X, y_noisy)
    assert again.calls == []


def test_answers_survive_an_interrupted_refit(tmp_path):
    X, y, y_noisy = _data()
    params = dict(refit="scratch", n_rounds=3)
    clf = FlakyLogisticRegression(FitCounter())
    reference = _cleaner(FaultyOracle(y), classifier=clf, **params).fit(X, y_noisy)
    assert clf.counter.n == 4  # initial fit and one refit per round: can fail
    # Initial fit, round 1's refit, then round 2's refit is interrupted.
    clf = FlakyLogisticRegression(FitCounter(fail_at=3))
    oracle = FaultyOracle(y)
    with pytest.raises(KeyboardInterrupt):
        _cleaner(oracle, tmp_path, classifier=clf, **params).fit(X, y_noisy)
    assert len(oracle.calls) == 2 and clf.counter.n == 3
    template = _cleaner(None, classifier=FlakyLogisticRegression(FitCounter()))
    saved = load_cleaner(tmp_path, cleaner=template)
    assert saved.n_rounds_ == 2 and saved.budget_used_ == 8  # answers are safe
    resumed_oracle = FaultyOracle(y)
    clf = FlakyLogisticRegression(FitCounter())
    resumed = _cleaner(resumed_oracle, tmp_path, classifier=clf, **params)
    resumed.fit(X, y_noisy)
    assert len(resumed_oracle.calls) == 1  # round 3 only; round 2 not asked again
    assert clf.counter.n == 2  # round 2's refit redone, then round 3's
    for a, b in zip(resumed.queried_indices_, reference.queried_indices_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(resumed.labels_, reference.labels_)


def test_checkpoint_files_are_atomic_and_versioned(tmp_path):
    X, y, y_noisy = _data()
    _cleaner(FaultyOracle(y), tmp_path).fit(X, y_noisy)
    files = sorted(os.listdir(tmp_path))
    assert files == [
        "answers.jsonl",
        "campaign.lock",
        "classifier-00006.skops",
        "state.npz",
    ]
    header, arrays = read_state(tmp_path)
    assert header["format_version"] == 4 and header["n_rounds"] == 5
    header["format_version"] = 99
    write_state(tmp_path, header, arrays)
    with pytest.raises(ValueError, match="format version 99"):
        load_cleaner(tmp_path, trusted=("_stubs",))
    with pytest.raises(FileNotFoundError, match="No ActiveLabelCleaner checkpoint"):
        load_cleaner(tmp_path / "missing")


def test_checkpoint_of_other_data_is_refused(tmp_path):
    X, y, y_noisy = _data()
    _cleaner(FaultyOracle(y), tmp_path, n_rounds=1).fit(X, y_noisy)
    with pytest.raises(ValueError, match="belongs to other data: X differ"):
        _cleaner(FaultyOracle(y), tmp_path).fit(X + 1, y_noisy)
    with pytest.raises(ValueError, match="belongs to other data: the noisy labels"):
        _cleaner(FaultyOracle(y), tmp_path).fit(X, y)
    with pytest.raises(ValueError, match="start='filter'"):
        _cleaner(FaultyOracle(y), tmp_path, start="noisy").fit(X, y_noisy)


def test_equal_data_in_another_dtype_resumes(tmp_path):
    X, y, y_noisy = _data()
    X32 = X.astype(np.float32)
    params = dict(classifier=LogisticRegression(max_iter=300))
    _cleaner(FaultyOracle(y), tmp_path, n_rounds=1, **params).fit(X32, y_noisy)
    oracle = FaultyOracle(y)
    resumed = _cleaner(oracle, tmp_path, n_rounds=2, **params)
    resumed.fit(X32.astype(np.float64), y_noisy)
    assert resumed.n_rounds_ == 2 and len(oracle.calls) == 1  # resumed, not refused


def test_ask_tell_asks_what_fit_would_ask(tmp_path):
    X, y, y_noisy = _data()
    reference = _cleaner(FaultyOracle(y), n_rounds=3).fit(X, y_noisy)
    cleaner = _cleaner(None, tmp_path, n_rounds=3).fit(X, y_noisy)
    assert cleaner.termination_condition_ == "no_oracle"
    for round_ in range(3):
        ask = cleaner.query(X)
        np.testing.assert_array_equal(cleaner.query(X), ask)  # still pending
        # A new session: everything comes back from the checkpoint.
        cleaner = load_cleaner(tmp_path, trusted=("_stubs",))
        np.testing.assert_array_equal(cleaner.pending_indices_, ask)
        np.testing.assert_array_equal(ask, reference.queried_indices_[round_])
        cleaner.teach(X, ask, y[ask])
    np.testing.assert_array_equal(cleaner.labels_, reference.labels_)
    assert [h["source"] for h in cleaner.history_] == ["filter"] + ["teach"] * 3
    with pytest.raises(ValueError, match="budget of batch_size \\* n_rounds = 12"):
        cleaner.query(X)
    assert cleaner.set_params(n_rounds=4).query(X).size == 4


def test_teach_partial_answers_abstentions_and_errors(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(None, tmp_path).fit(X, y_noisy)
    ask = cleaner.query(X, n=4)
    answers = y[ask].astype(object)
    answers[0] = ""  # blank abstains
    cleaner.teach(X, ask[:3], answers[:3])
    # Recorded at once (budget, labels), the round stays open until all answered.
    assert cleaner.budget_used_ == 2 and cleaner.abstained_mask_[ask[0]]
    assert cleaner.n_rounds_ == 0
    np.testing.assert_array_equal(cleaner.pending_indices_, ask[3:])
    np.testing.assert_array_equal(cleaner.query(X), ask[3:])
    log = cleaner.relabel_log_
    assert log["index"].tolist() == ask[1:3].tolist()
    assert np.isfinite(log["score"]).all()  # the strategy's scores are kept
    with pytest.raises(ValueError, match="relabeled already"):
        cleaner.teach(X, ask[1:2], y[ask[1:2]])
    with pytest.raises(ValueError, match=r"round 1 returned labels \[9\]"):
        cleaner.teach(X, ask[3:], [9])
    with pytest.raises(ValueError, match="not the data this cleaner was fitted on"):
        cleaner.teach(X[::-1], ask[3:], y[ask[3:]])
    with pytest.raises(
        ValueError, match=r"in \[0, 100\) \(100 samples\); got \[1000\]"
    ):
        cleaner.teach(X, [1000], [0])
    with pytest.raises(ValueError, match=r"duplicate indices \[5\]"):
        cleaner.teach(X, [5, 5], [0, 0])
    cleaner.teach(X, ask[3:], y[ask[3:]], finish=False)  # recorded, not applied
    assert cleaner.n_rounds_ == 0 and cleaner.pending_indices_.size == 0
    nxt = cleaner.query(X)  # applies the answered batch, then ranks the next
    assert cleaner.n_rounds_ == 1 and cleaner.history_[-1]["n_returned"] == 3
    assert not np.isin(nxt, ask).any()
    with pytest.warns(UserWarning, match="only 17 labels of the budget"):
        # 20 outside the clean part - 3 relabeled - 1 abstained
        assert cleaner.query(X, n=50).size == 16


def test_budget_is_enforced_in_teach(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(None, tmp_path, batch_size=4, n_rounds=1).fit(X, y_noisy)
    candidates = np.flatnonzero(~cleaner.clean_mask_)[:6]
    with pytest.raises(ValueError, match="6 answers exceed the 4 labels left"):
        cleaner.teach(X, candidates, y[candidates])
    assert cleaner.budget_used_ == 0 and not cleaner.relabeled_mask_.any()
    cleaner.teach(X, candidates[:4], y[candidates[:4]])
    assert cleaner.budget_used_ == cleaner.budget_total_ == 4


def _read_rows(paths):
    return np.stack([np.load(p) for p in paths])


def test_ask_tell_with_file_paths_writes_a_csv(tmp_path):
    X, y, y_noisy = _data(60)
    paths = []
    for i, row in enumerate(X):
        paths.append(str(tmp_path / f"sample_{i:03d}.npy"))
        np.save(paths[-1], row)
    classifier = make_pipeline(
        FunctionTransformer(_read_rows), LogisticRegression(max_iter=200)
    )
    names = np.array(["df", "mel", "nv"])
    cleaner = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=classifier,
        start="noisy",
        batch_size=5,
        checkpoint=str(tmp_path / "campaign"),
        random_state=0,
    ).fit(paths, names[y_noisy])
    ask = cleaner.query(paths, csv_path=tmp_path / "ask.csv")
    with open(tmp_path / "ask.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["index"]) for r in rows] == ask.tolist()
    assert [r["path"] for r in rows] == [paths[i] for i in ask]
    with pytest.raises(ValueError, match="test_active_checkpoint:_read_rows"):
        load_cleaner(tmp_path / "campaign")  # a function from an untrusted module
    later = load_cleaner(tmp_path / "campaign", trusted=("test_active_checkpoint",))
    later.teach(paths, ask, names[y[ask]])
    assert later.labels_[ask].tolist() == names[y[ask]].tolist()
    with pytest.raises(ValueError, match="fitted on file paths"):
        later.query(X)


def test_load_cleaner_needs_a_template_for_unstorable_parameters(tmp_path):
    X, y, y_noisy = _data()

    def first(estimator, X, candidates, n, *, random_state):
        return candidates[:n]

    template = _cleaner(lambda ids, Xs: y[ids], tmp_path, query_strategy=first)
    template.fit(X, y_noisy)
    with pytest.raises(ValueError, match="'query_strategy'.*pass the cleaner"):
        load_cleaner(tmp_path, trusted=("_stubs",))
    restored = load_cleaner(tmp_path, cleaner=template)
    np.testing.assert_array_equal(restored.labels_, template.labels_)


def test_network_classifier_weights_round_trip(tmp_path):
    pytest.importorskip("torch")
    from noisyactive.classifiers import NetClassifier

    X, y, y_noisy = _data(80)
    net = NetClassifier(max_epochs=2, batch_size=32, device="cpu", random_state=0)
    cleaner = _cleaner(FaultyOracle(y), tmp_path, classifier=net, n_rounds=1)
    cleaner.fit(X.astype(np.float32), y_noisy)
    stored = [f for f in os.listdir(tmp_path) if f.startswith("classifier-")]
    assert stored == ["classifier-00002.pt"]
    restored = load_cleaner(tmp_path, trusted=("_stubs",))
    np.testing.assert_allclose(
        restored.predict_proba(X.astype(np.float32)),
        cleaner.predict_proba(X.astype(np.float32)),
        rtol=1e-5,
    )


@pytest.mark.slow
def test_network_classifier_resume_asks_the_same_questions(tmp_path):
    pytest.importorskip("torch")
    from noisyactive.classifiers import NetClassifier

    X, y, y_noisy = _data(150)
    X = X.astype(np.float32)
    params = dict(
        classifier=NetClassifier(max_epochs=3, batch_size=32, device="cpu"),
        start="noisy",
        batch_size=8,
        n_rounds=4,
    )
    reference = _cleaner(FaultyOracle(y), **params).fit(X, y_noisy)
    with pytest.raises(KeyboardInterrupt):
        _cleaner(FaultyOracle(y, 3, KeyboardInterrupt), tmp_path, **params).fit(
            X, y_noisy
        )
    resumed = _cleaner(FaultyOracle(y), tmp_path, **params).fit(X, y_noisy)
    for a, b in zip(resumed.queried_indices_, reference.queried_indices_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        resumed.predict_proba(X), reference.predict_proba(X), atol=1e-5
    )


class MistypingOracle(FaultyOracle):
    """True labels, except one unknown label in round ``typo_round``."""

    def __init__(self, y_true, typo_round):
        super().__init__(y_true)
        self.typo_round = typo_round

    def __call__(self, ids, X_subset):
        labels = super().__call__(ids, X_subset).astype(object)
        if len(self.calls) == self.typo_round:
            labels[1] = "melanoma?"
        return labels


def test_one_unknown_label_keeps_the_rounds_other_answers(tmp_path):
    X, y, y_noisy = _data()
    oracle = MistypingOracle(y, typo_round=3)
    cleaner = _cleaner(oracle, tmp_path)
    with pytest.raises(ValueError, match="not among the known classes") as info:
        cleaner.fit(X, y_noisy)
    notes = "".join(info.value.__notes__)
    assert "the 2 completed rounds (8 labels) and the 3 valid answers of round 3" in (
        notes
    )
    asked = oracle.calls[2]
    typo = asked[1]
    # The three good answers are journaled and applied; the mistyped one not.
    assert cleaner.budget_used_ == 11
    assert cleaner.relabeled_mask_[np.delete(asked, 1)].all()
    assert not cleaner.relabeled_mask_[typo]
    resumed_oracle = FaultyOracle(y)
    resumed = _cleaner(resumed_oracle, tmp_path).fit(X, y_noisy)
    # Round 3 closes with its three answers; only rounds 4 and 5 are asked.
    assert len(resumed_oracle.calls) == 2
    for c in resumed_oracle.calls:
        assert not np.isin(c, np.delete(asked, 1)).any()  # no answer re-asked
    assert [h["n_returned"] for h in resumed.history_] == [0, 4, 4, 3, 4, 4]
    assert resumed.budget_used_ == 19
    good = np.delete(asked, 1)
    np.testing.assert_array_equal(resumed.labels_[good], y[good])


def test_lazy_open_refuses_an_unstorable_estimator_at_once(tmp_path):
    """Only a class description waits to be built; an unstorable one (or a
    reference) is decoded when the folder is opened, so its error is seen
    then, not at the first refit."""
    from noisyactive.active._checks import cleaner_from_header, read_checkpoint

    X, y, y_noisy = _data()
    _cleaner(lambda ids, Xs: y[ids], tmp_path, n_rounds=1).fit(X, y_noisy)
    _, header = read_checkpoint(tmp_path)
    lazy = cleaner_from_header(header, trusted=("_stubs",), lazy=True)
    assert "estimator" not in vars(lazy)  # a class spec waits
    header["params"]["params"]["estimator"] = {"__unstorable__": "<object>"}
    with pytest.raises(ValueError, match="'estimator'.*could not be stored"):
        cleaner_from_header(header, trusted=("_stubs",), lazy=True)


def test_an_estimator_assigned_while_deferred_is_the_one_saved(tmp_path):
    from noisyactive.active._checks import cleaner_from_header, read_checkpoint
    from noisyactive.active._params import params_to_json

    X, y, y_noisy = _data()
    _cleaner(lambda ids, Xs: y[ids], tmp_path, n_rounds=1).fit(X, y_noisy)
    _, header = read_checkpoint(tmp_path)
    lazy = cleaner_from_header(header, trusted=("_stubs",), lazy=True)
    assert "estimator" not in vars(lazy)  # still the stored description
    assert params_to_json(lazy)["params"]["estimator"]["params"]["offset"] == 0
    lazy.estimator = MaskFilter(offset=2)  # before it was ever built
    assert params_to_json(lazy)["params"]["estimator"]["params"]["offset"] == 2
    assert lazy.get_params()["estimator"].offset == 2
