"""The campaign object: checks before the work, whole resumes, every field saved."""

import dataclasses
import os

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier

import noisyactive.active._campaign as campaign_module
from noisyactive.active import ActiveLabelCleaner, load_cleaner
from noisyactive.active._state import CampaignState


def _data(n=100):
    X, y = make_classification(
        n, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    rng = np.random.default_rng(1)
    y_noisy = np.where(rng.random(n) < 0.3, (y + 1) % 3, y)
    return X, y, y_noisy


def _cleaner(oracle=None, checkpoint=None, **params):
    defaults = dict(
        estimator=MaskFilter(),
        classifier=SGDClassifier(loss="log_loss", random_state=0),
        oracle=oracle,
        batch_size=4,
        n_rounds=4,
        refit_epochs=2,
        checkpoint=checkpoint,
        random_state=3,
    )
    return ActiveLabelCleaner(**{**defaults, **params})


class Calls:
    """Shared by the clones of a spy (clone deep-copies parameters)."""

    def __init__(self):
        self.n = 0

    def __deepcopy__(self, memo):
        return self


class SpyEstimator(ClassifierMixin, BaseEstimator):
    """Counts its fits; never gets to train if parameters are checked first."""

    def __init__(self, calls=None):
        self.calls = calls

    def fit(self, X, y):
        self.calls.n += 1
        self.classes_ = np.unique(y)
        self.clean_mask_ = np.ones(len(y), dtype=bool)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_the_cleaner_is_one_sklearn_estimator():
    bases = ActiveLabelCleaner.__mro__[1:]
    assert all(b.__module__.startswith(("sklearn.", "builtins")) for b in bases), bases


@pytest.mark.parametrize("strategy", ["entrpy", "Margin"])
def test_misspelled_strategy_fails_before_any_training(strategy):
    X, y, y_noisy = _data()
    calls = Calls()
    spy = SpyEstimator(calls)
    cleaner = _cleaner(
        lambda ids, Xs: y[ids], estimator=spy, classifier=spy, query_strategy=strategy
    )
    with pytest.raises(ValueError, match="valid names are .*'entropy'") as info:
        cleaner.fit(X, y_noisy)
    assert "Did you mean" in str(info.value)
    assert calls.n == 0  # no epoch, no phase 1: nothing was trained


def test_bad_parameters_fail_before_any_training(tmp_path):
    X, y, y_noisy = _data()
    calls = Calls()
    spy = SpyEstimator(calls)
    for params in (
        {"query_strategy": 3},
        {"query_strategy": object()},
        {"batch_size": 0},
        {"refit_epochs": 0},
        {"audit_share": 2.0},
        {"on_round_end": "print"},
    ):
        with pytest.raises((ValueError, TypeError)):
            _cleaner(None, estimator=spy, classifier=spy, **params).fit(X, y_noisy)
    assert calls.n == 0


def test_query_checks_n_like_the_strategies():
    X, y, y_noisy = _data()
    cleaner = _cleaner().fit(X, y_noisy)
    with pytest.raises(
        ValueError, match=r"n \(how many samples to query\) must be >= 1"
    ):
        cleaner.query(X, n=0)
    with pytest.raises(TypeError, match="must be an integer"):
        cleaner.query(X, n=2.5)


# -- every field of the state is saved ------------------------------------------


@dataclasses.dataclass
class ExtendedState(CampaignState):
    note: str = "default"
    weights: np.ndarray = None


def test_a_new_state_field_is_saved_and_restored(tmp_path):
    state = ExtendedState(
        seed=1,
        fingerprint={"x": "a"},
        classes=np.array(["a", "b"], dtype=object),
        y_noisy=np.array([0, 1, 1]),
        initial_clean=np.array([True, False, True]),
        note="changed",
        weights=np.array([0.5, 1.5, 2.5]),
    )
    state.apply_answers([1], [0], [0.7], "teach")
    state.to_files(tmp_path, {"params": {}})
    restored, _ = ExtendedState.from_files(tmp_path)
    assert restored.note == "changed"
    np.testing.assert_array_equal(restored.weights, state.weights)
    for f in dataclasses.fields(CampaignState):
        a, b = getattr(state, f.name), getattr(restored, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, f.name


def test_a_campaign_resumes_a_new_field(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign_module, "CampaignState", ExtendedState)
    monkeypatch.setattr(
        "noisyactive.active._cleaner.CampaignState", ExtendedState, raising=True
    )
    monkeypatch.setattr("noisyactive.active._checks.CampaignState", ExtendedState)
    X, y, y_noisy = _data()
    cleaner = _cleaner(checkpoint=tmp_path).fit(X, y_noisy)
    cleaner.campaign_.state.note = "kept"
    cleaner.query(X)  # saves the state
    later = load_cleaner(tmp_path, trusted=("_stubs",))
    assert isinstance(later.campaign_.state, ExtendedState)
    assert later.campaign_.state.note == "kept"


def test_a_state_without_a_field_is_refused_naming_it(tmp_path):
    from noisyactive.active import CheckpointCorruptedError
    from noisyactive.active._files import read_state, write_state

    X, y, y_noisy = _data()
    _cleaner(checkpoint=tmp_path).fit(X, y_noisy)
    header, arrays = read_state(tmp_path)
    del header["n_reported"]
    write_state(tmp_path, header, arrays)
    with pytest.raises(CheckpointCorruptedError, match="n_reported"):
        load_cleaner(tmp_path, trusted=("_stubs",))


# -- a resume is whole --------------------------------------------------------------


class Killed(BaseException):
    """A process killed at a chosen step (not an Exception: nothing catches it)."""


class Rounds:
    """on_round_end: the rounds it saw, across processes (here, across fits)."""

    def __init__(self):
        self.seen = []

    def __call__(self, cleaner, record):
        self.seen.append(record["round"])

    def __deepcopy__(self, memo):
        return self


def _kill_once(monkeypatch, target, name, at_call):
    original, calls = getattr(target, name), {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise Killed
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)
    return lambda: monkeypatch.setattr(target, name, original)


@pytest.mark.parametrize("at_call", [1, 2, 3])
def test_kill_between_refit_and_report_is_completed_on_resume(
    tmp_path, monkeypatch, at_call
):
    X, y, y_noisy = _data()
    val = dict(X_val=X[:30], y_val=y[:30])
    reference_rounds = Rounds()
    reference = _cleaner(lambda ids, Xs: y[ids], on_round_end=reference_rounds)
    reference.fit(X, y_noisy, **val)
    # The kill comes when the round's report would compute its metrics: after
    # the refit and the classifier's save, before the report's save.
    restore = _kill_once(monkeypatch, campaign_module, "macro_f1", at_call + 1)
    rounds = Rounds()
    with pytest.raises(Killed):
        _cleaner(lambda ids, Xs: y[ids], tmp_path, on_round_end=rounds).fit(
            X, y_noisy, **val
        )
    restore()
    assert rounds.seen == list(range(at_call))
    resumed = _cleaner(lambda ids, Xs: y[ids], tmp_path, on_round_end=rounds)
    resumed.fit(X, y_noisy, **val)
    assert rounds.seen == reference_rounds.seen == [0, 1, 2, 3, 4]
    assert [h["round"] for h in resumed.history_] == [0, 1, 2, 3, 4]
    assert all(h["val_macro_f1"] is not None for h in resumed.history_)
    assert resumed.history_ == reference.history_
    assert load_cleaner(tmp_path, _cleaner()).history_ == resumed.history_


def test_kill_in_on_round_end_reports_that_round_again(tmp_path):
    X, y, y_noisy = _data()
    calls = []

    def flaky(cleaner, record):
        calls.append(record["round"])
        if calls == [0, 1, 2]:
            raise Killed

    with pytest.raises(Killed):
        _cleaner(lambda ids, Xs: y[ids], tmp_path, on_round_end=flaky).fit(X, y_noisy)
    resumed = _cleaner(lambda ids, Xs: y[ids], tmp_path, on_round_end=flaky)
    resumed.fit(X, y_noisy)
    assert calls == [0, 1, 2, 2, 3, 4]  # the killed report is made again
    assert [h["round"] for h in resumed.history_] == [0, 1, 2, 3, 4]


def test_stale_model_files_are_removed_on_resume(tmp_path, monkeypatch):
    X, y, y_noisy = _data()
    # Killed after the next classifier file is written, before the state
    # naming it is saved: two classifier files on disk.
    restore = _kill_once(monkeypatch, campaign_module, "remove_stale", 3)
    with pytest.raises(Killed):
        _cleaner(lambda ids, Xs: y[ids], tmp_path).fit(X, y_noisy)
    restore()
    files = sorted(f for f in os.listdir(tmp_path) if f.startswith("classifier-"))
    assert len(files) == 2, files
    resumed = load_cleaner(tmp_path, trusted=("_stubs",))
    named = resumed.campaign_.state.model_files["classifier"][0]
    left = sorted(f for f in os.listdir(tmp_path) if f.startswith("classifier-"))
    assert left == [named]
    # An orphan (written, never named by a state) goes too.
    with open(tmp_path / "classifier-00099.skops", "wb") as fh:
        fh.write(b"orphan")
    _cleaner(lambda ids, Xs: y[ids], tmp_path).fit(X, y_noisy)
    assert not (tmp_path / "classifier-00099.skops").exists()


def test_history_is_whole_after_a_kill_at_any_step(tmp_path, monkeypatch):
    X, y, y_noisy = _data()
    reference = _cleaner(lambda ids, Xs: y[ids]).fit(X, y_noisy)
    steps = [
        (CampaignState, "to_files"),
        (campaign_module, "save_model"),
        (campaign_module, "train_classifier"),
        (campaign_module, "append_journal"),
    ]
    for k, (target, name) in enumerate(steps):
        folder = tmp_path / str(k)
        rounds = Rounds()
        restore = _kill_once(monkeypatch, target, name, 4)
        with pytest.raises(Killed):
            _cleaner(lambda ids, Xs: y[ids], folder, on_round_end=rounds).fit(
                X, y_noisy
            )
        restore()
        resumed = _cleaner(lambda ids, Xs: y[ids], folder, on_round_end=rounds)
        resumed.fit(X, y_noisy)
        # Once per round; a kill while saving a report's state (after its
        # on_round_end) makes that report again: at most one round twice.
        assert sorted(set(rounds.seen)) == [0, 1, 2, 3, 4], (name, rounds.seen)
        assert len(rounds.seen) <= 6, (name, rounds.seen)
        assert [h["round"] for h in resumed.history_] == [0, 1, 2, 3, 4]
        np.testing.assert_array_equal(resumed.labels_, reference.labels_)
