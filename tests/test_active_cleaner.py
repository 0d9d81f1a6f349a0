"""ActiveLabelCleaner: the relabeling loop, budgets, start modes, oracle faults."""

import re
import warnings

import numpy as np
import pytest
from _stubs import MaskFilter
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV

from noisyactive.active import ActiveLabelCleaner, SimulatedOracle


class RecordingOracle:
    """Answers from ``y_true`` by id and remembers every question."""

    def __init__(self, y_true):
        self.y_true = y_true
        self.calls = []

    def __call__(self, ids, X_subset):
        self.calls.append(np.asarray(ids).copy())
        return self.y_true[np.asarray(ids)]


def _data(n=120, noise=0.3, seed=0):
    X, y = make_classification(
        n, n_features=6, n_informative=4, n_classes=3, random_state=seed
    )
    rng = np.random.default_rng(seed)
    flip = rng.random(n) < noise
    y_noisy = y.copy()
    y_noisy[flip] = (y[flip] + rng.integers(1, 3, flip.sum())) % 3
    return X, y, y_noisy


def _cleaner(oracle, **params):
    defaults = dict(
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=200),
        oracle=oracle,
        batch_size=6,
        n_rounds=3,
        audit_share=0.0,  # the paper's rounds: only rejected samples are asked
        random_state=0,
    )
    return ActiveLabelCleaner(**{**defaults, **params})


@pytest.mark.parametrize("refit", ["finetune", "scratch"])
@pytest.mark.parametrize("strategy", ["entropy", "random", "label_cleaning"])
def test_budget_equals_labels_returned(refit, strategy):
    X, y, y_noisy = _data()
    oracle = RecordingOracle(y)
    cleaner = _cleaner(oracle, refit=refit, query_strategy=strategy).fit(X, y_noisy)
    returned = sum(len(c) for c in oracle.calls)
    assert cleaner.budget_used_ == returned == cleaner.budget_total_ == 6 * 3
    assert cleaner.n_rounds_ == 3 and cleaner.termination_condition_ == "n_rounds"
    asked = np.concatenate(cleaner.queried_indices_)
    np.testing.assert_array_equal(asked, np.concatenate(oracle.calls))
    assert np.unique(asked).size == asked.size  # nobody asked twice
    assert not cleaner.initial_clean_mask_[asked].any()  # only candidates asked
    np.testing.assert_array_equal(cleaner.labels_[asked], y[asked])
    np.testing.assert_array_equal(
        cleaner.relabeled_mask_, np.isin(np.arange(120), asked)
    )
    assert [h["budget_used"] for h in cleaner.history_] == [0, 6, 12, 18]
    assert [h["round"] for h in cleaner.history_] == [0, 1, 2, 3]
    log = cleaner.relabel_log_
    assert log.shape == (18,) and log["round"].tolist() == [1] * 6 + [2] * 6 + [3] * 6
    np.testing.assert_array_equal(log["old_label"], y_noisy[log["index"]])
    np.testing.assert_array_equal(log["new_label"], y[log["index"]])
    changed = [h["n_changed"] for h in cleaner.history_[1:]]
    assert sum(changed) == int((log["old_label"] != log["new_label"]).sum())


def test_clean_samples_keep_their_noisy_labels():
    X, y, y_noisy = _data()
    cleaner = _cleaner(RecordingOracle(y)).fit(X, y_noisy)
    kept = cleaner.initial_clean_mask_
    np.testing.assert_array_equal(cleaner.labels_[kept], y_noisy[kept])
    assert (y_noisy[kept] != y[kept]).any()  # the test can fail: some are wrong
    np.testing.assert_array_equal(
        cleaner.clean_mask_, cleaner.initial_clean_mask_ | cleaner.relabeled_mask_
    )


def test_budget_larger_than_pool_is_clamped_with_a_warning():
    X, y, y_noisy = _data(n=40)  # 8 candidates outside the clean part
    cleaner = _cleaner(RecordingOracle(y), batch_size=5, n_rounds=4)
    with pytest.warns(UserWarning, match="clamped to 8"):
        cleaner.fit(X, y_noisy)
    assert cleaner.budget_used_ == 8 and cleaner.n_rounds_ == 2
    assert cleaner.termination_condition_ == "no_candidates"


def test_float_batch_size_is_a_share_of_the_data():
    X, y, y_noisy = _data()
    cleaner = _cleaner(RecordingOracle(y), batch_size=0.05, n_rounds=2).fit(X, y_noisy)
    assert [len(q) for q in cleaner.queried_indices_] == [6, 6]


def test_plain_callable_strategy_and_custom_oracle_function():
    X, y, y_noisy = _data()
    seen = []

    def lowest_index_first(estimator, X, candidates, n, *, random_state):
        seen.append(random_state)
        return np.sort(candidates)[:n]

    def expert(ids, X_subset):
        assert X_subset.shape == (len(ids), X.shape[1])
        return [int(y[i]) for i in ids]  # a plain list of Python ints

    cleaner = _cleaner(expert, query_strategy=lowest_index_first).fit(X, y_noisy)
    candidates = np.flatnonzero(~cleaner.initial_clean_mask_)
    np.testing.assert_array_equal(cleaner.queried_indices_[0], candidates[:6])
    assert len(set(seen)) == 3  # a different seed each round
    assert np.isnan(cleaner.relabel_log_["score"]).all()


def test_string_labels_and_missing_class_proba_columns():
    X, y, y_noisy = _data()
    names = np.array(["akiec", "df", "nv"])
    # Phase 1 keeps no sample of class "df": the classifier starts on 2 classes.
    mask = y_noisy != 1
    cleaner = _cleaner(
        SimulatedOracle(names[y]), estimator=MaskFilter(mask=mask), n_rounds=0
    ).fit(X, names[y_noisy])
    assert cleaner.classes_.tolist() == names.tolist()
    assert cleaner.classifier_.classes_.tolist() == ["akiec", "nv"]
    proba = cleaner.predict_proba(X[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_array_equal(proba[:, 1], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(cleaner.predict(X)) <= {"akiec", "nv"}
    with pytest.raises(ValueError, match="not seen every class"):
        cleaner.decision_function(X[:2])
    # Relabeling rounds bring "df" back in; the strategy sees all 3 columns.
    cleaner.set_params(n_rounds=3, query_strategy="label_cleaning").fit(
        X, names[y_noisy]
    )
    assert cleaner.classifier_.classes_.tolist() == names.tolist()
    assert set(cleaner.labels_[cleaner.relabeled_mask_]) <= set(names)
    assert cleaner.decision_function(X[:2]).shape == (2, 3)


def test_start_noisy_trains_on_all_noisy_labels_then_cleaned_part():
    X, y, y_noisy = _data()
    oracle = RecordingOracle(y)
    cleaner = _cleaner(
        oracle,
        estimator=LogisticRegression(),  # no clean_mask_: fine for this start
        classifier=SGDClassifier(loss="log_loss", random_state=0),
        start="noisy",
        n_rounds=2,
    )
    cleaner.fit(X, y_noisy)
    assert not cleaner.initial_clean_mask_.any()
    assert not hasattr(cleaner.estimator_, "coef_")  # phase 1 skipped
    np.testing.assert_array_equal(cleaner.clean_mask_, cleaner.relabeled_mask_)
    assert cleaner.budget_used_ == 12


def test_start_none_asks_at_random_first():
    X, y, y_noisy = _data()
    params = dict(estimator=LogisticRegression(), start="none", n_rounds=2)
    a = _cleaner(RecordingOracle(y), **params).fit(X, y_noisy)
    b = _cleaner(RecordingOracle(y), **{**params, "random_state": 1}).fit(X, y_noisy)
    assert not np.array_equal(a.queried_indices_[0], b.queried_indices_[0])
    assert a.classifier_ is not None and a.clean_mask_.sum() == 12
    unfitted = _cleaner(None, **params).fit(X, y_noisy)
    assert unfitted.classifier_ is None
    assert unfitted.termination_condition_ == "no_oracle"
    with pytest.raises(NotFittedError, match="no classifier yet"):
        unfitted.predict(X)


def test_filter_start_needs_a_clean_mask():
    X, y, y_noisy = _data()
    with pytest.raises(
        ValueError, match="needs a phase-1 estimator that sets clean_mask_"
    ):
        _cleaner(None, estimator=LogisticRegression()).fit(X, y_noisy)


def test_same_seed_same_campaign():
    X, y, y_noisy = _data()
    params = dict(query_strategy="random")
    runs = [_cleaner(RecordingOracle(y), **params).fit(X, y_noisy) for _ in range(2)]
    other = _cleaner(RecordingOracle(y), random_state=1, **params).fit(X, y_noisy)
    assert len(runs[0].queried_indices_) == len(runs[1].queried_indices_) == 3
    for a, b in zip(runs[0].queried_indices_, runs[1].queried_indices_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].labels_, runs[1].labels_)
    # The seed decides: another seed asks other questions.
    assert not np.array_equal(
        np.concatenate(runs[0].queried_indices_),
        np.concatenate(other.queried_indices_),
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda ids: ids[:-1] * 0, r"round 2 returned 5 labels for 6 queried samples"),
        (lambda ids: np.full(len(ids), 7), r"round 2 returned labels \[7, 7"),
    ],
)
def test_bad_answers_name_round_and_indices(answer, message):
    X, y, y_noisy = _data()
    calls = []

    def oracle(ids, X_subset):
        calls.append(ids)
        return y[ids] if len(calls) == 1 else answer(ids)

    cleaner = _cleaner(oracle)
    with pytest.raises(ValueError, match=message) as info:
        cleaner.fit(X, y_noisy)
    asked = re.escape(str(calls[1][:3].tolist())[:-1])  # the indices are named
    assert re.search(asked, str(info.value))
    assert cleaner.n_rounds_ == 1 and cleaner.budget_used_ == 6  # round 1 kept


def test_abstentions_are_skipped_recorded_and_not_asked_again():
    X, y, y_noisy = _data()

    def shy(ids, X_subset):  # abstains on every other question, NaN or None
        out = y[ids].astype(object)
        out[::2] = None
        out[1::4] = np.nan
        return out

    cleaner = _cleaner(shy, n_rounds=3).fit(X, y_noisy)
    asked = np.concatenate(cleaner.queried_indices_)
    abstained = cleaner.abstained_mask_
    assert abstained.sum() + cleaner.budget_used_ == asked.size == 18
    assert not (abstained & cleaner.relabeled_mask_).any()
    np.testing.assert_array_equal(cleaner.labels_[abstained], y_noisy[abstained])
    assert [h["n_abstained"] for h in cleaner.history_[1:]] == [
        h["n_queried"] - h["n_returned"] for h in cleaner.history_[1:]
    ]
    assert sum(h["n_abstained"] for h in cleaner.history_) == abstained.sum() > 0
    assert np.unique(asked).size == asked.size


def test_verbose_prints_a_line_per_round_with_val_f1(capsys):
    X, y, y_noisy = _data(n=160)
    cleaner = _cleaner(RecordingOracle(y[:120]), verbose=1, n_rounds=2)
    cleaner.fit(X[:120], y_noisy[:120], X_val=X[120:], y_val=y[120:])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("[ActiveLabelCleaner] round 2/2")
    assert "budget 12/12" in lines[1] and "val macro-F1" in lines[1]
    assert 0 <= cleaner.history_[-1]["val_macro_f1"] <= 1
    with pytest.raises(ValueError, match="both X_val and y_val"):
        cleaner.fit(X, y_noisy, X_val=X)


def test_grid_search_each_fold_gets_its_own_true_labels():
    X, y, y_noisy = _data(n=150)
    truth = {row.tobytes(): label for row, label in zip(X, y)}

    def relabeled_correctly(est, X_test, y_test):
        # Score 1.0 exactly when every relabeled training sample of this fold
        # received its own true label.
        rows = est.estimator_.X_fit_[est.relabeled_mask_]
        expected = [truth[r.tobytes()] for r in rows]
        ok = np.array_equal(est.labels_[est.relabeled_mask_], expected)
        return float(ok and est.budget_used_ == 12)

    cleaner = _cleaner(SimulatedOracle(y, X=X), n_rounds=2, query_strategy="margin")
    search = GridSearchCV(
        cleaner,
        {"estimator__offset": [0, 2]},
        cv=2,
        n_jobs=2,
        scoring=relabeled_correctly,
    )
    search.fit(X, y_noisy)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], 1.0)
    # Without X the oracle needs sample ids, which the search slices per fold.
    cleaner.set_params(oracle=SimulatedOracle(y))
    search.fit(X, y_noisy, sample_ids=np.arange(150))
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], 1.0)


def test_delegated_methods_follow_the_classifier():
    from sklearn.svm import LinearSVC

    assert not hasattr(ActiveLabelCleaner(classifier=LinearSVC()), "predict_proba")
    assert hasattr(ActiveLabelCleaner(classifier=LinearSVC()), "decision_function")
    assert hasattr(ActiveLabelCleaner(), "predict_proba")  # the network default
    assert not hasattr(ActiveLabelCleaner(), "decision_function")


def test_one_class_and_bad_params_are_refused():
    X, y, y_noisy = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        _cleaner(None).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="start"):
        _cleaner(None, start="clean").fit(X, y_noisy)
    with pytest.raises(ValueError, match="batch_size"):
        _cleaner(None, batch_size=1.5).fit(X, y_noisy)
    with pytest.raises(ValueError, match="unknown query strategy"):
        _cleaner(RecordingOracle(y), query_strategy="nope").fit(X, y_noisy)


@settings(max_examples=12, deadline=None)
@given(
    batch_size=st.integers(1, 9),
    n_rounds=st.integers(0, 4),
    abstain=st.lists(st.booleans(), min_size=1, max_size=7),
    seed=st.integers(0, 3),
)
def test_budget_and_question_invariants(batch_size, n_rounds, abstain, seed):
    X, y, y_noisy = _data(n=60, seed=seed)  # 12 candidates outside the clean part
    answered = []

    def moody(ids, X_subset):  # abstains following a repeating pattern
        out = [None if abstain[i % len(abstain)] else y[i] for i in ids]
        answered.extend(i for i, a in zip(ids, out) if a is not None)
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # budget clamped to pool
        cleaner = _cleaner(
            moody, batch_size=batch_size, n_rounds=n_rounds, query_strategy="random"
        ).fit(X, y_noisy)
    asked = np.concatenate([np.zeros(0, int), *cleaner.queried_indices_])
    assert cleaner.budget_used_ == len(answered) <= batch_size * n_rounds
    assert np.unique(asked).size == asked.size <= 12
    assert all(q.size <= batch_size for q in cleaner.queried_indices_)
    assert set(np.flatnonzero(cleaner.relabeled_mask_)) == set(answered)
    assert set(np.flatnonzero(cleaner.abstained_mask_)) == set(asked) - set(answered)
    np.testing.assert_array_equal(cleaner.labels_[answered], y[answered])


@pytest.mark.slow
def test_grid_search_over_the_filters_mix_ratio():
    from noisyactive import NoisyLabelFilter

    X, y, y_noisy = _data(n=150)
    filt = NoisyLabelFilter(module="mlp", max_epochs=3, batch_size=64, device="cpu")
    cleaner = _cleaner(SimulatedOracle(y, X=X), estimator=filt, n_rounds=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a fold may keep almost all
        search = GridSearchCV(
            cleaner, {"estimator__mix_ratio": [0, 0.5]}, cv=2, n_jobs=2
        ).fit(X, y_noisy)
    best = search.best_estimator_
    assert best.budget_used_ > 0
    relabeled = best.relabeled_mask_
    np.testing.assert_array_equal(best.labels_[relabeled], y[relabeled])
