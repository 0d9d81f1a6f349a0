"""Bit-identical resume with the default network classifier (issue 16.3)."""

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.datasets import make_classification

from noisyactive.active import ActiveLabelCleaner, load_cleaner

torch = pytest.importorskip("torch")


class Oracle:
    """True labels by id; KeyboardInterrupt once when asked in ``fail_round``."""

    def __init__(self, y_true, fail_round=None):
        self.y_true, self.fail_round, self.calls = y_true, fail_round, []

    def __call__(self, ids, X_subset):
        if len(self.calls) + 1 == self.fail_round:
            self.fail_round = None
            raise KeyboardInterrupt
        self.calls.append(np.asarray(ids).copy())
        return self.y_true[ids]


def _data():
    X, y = make_classification(
        200, n_features=6, n_informative=4, n_classes=3, random_state=2
    )
    rng = np.random.default_rng(2)
    y_noisy = np.where(rng.random(200) < 0.3, (y + 1) % 3, y)
    return X.astype(np.float32), y, y_noisy


def _cleaner(oracle, checkpoint=None, **params):
    # classifier=None: the default network classifier (NetClassifier, MLP).
    return ActiveLabelCleaner(
        estimator=MaskFilter(),
        oracle=oracle,
        batch_size=6,
        n_rounds=5,
        refit_epochs=2,
        checkpoint=checkpoint,
        random_state=0,
        **params,
    )


def _same(a, b, X):
    assert len(a.queried_indices_) == len(b.queried_indices_) == 5
    for qa, qb in zip(a.queried_indices_, b.queried_indices_, strict=True):
        np.testing.assert_array_equal(qa, qb)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))  # exact


@pytest.mark.parametrize(
    "refit, validated",
    [("finetune", False), ("scratch", False), ("finetune", True)],
)
def test_fit_resume_is_bit_identical(tmp_path, refit, validated):
    # validated: X_val is given, so every refit keeps its best-validation epoch
    # (a deep copy of the network) instead of its last one.
    X, y, y_noisy = _data()
    val = dict(X_val=X[:40], y_val=y[:40]) if validated else {}
    reference = _cleaner(Oracle(y), refit=refit).fit(X, y_noisy, **val)
    with pytest.raises(KeyboardInterrupt):
        _cleaner(Oracle(y, fail_round=3), tmp_path, refit=refit).fit(X, y_noisy, **val)
    oracle = Oracle(y)
    resumed = _cleaner(oracle, tmp_path, refit=refit).fit(X, y_noisy, **val)
    assert len(oracle.calls) == 3
    _same(resumed, reference, X)
    if validated:
        assert all(h["val_macro_f1"] is not None for h in resumed.history_[1:])


def test_ask_tell_reloaded_every_round_is_bit_identical(tmp_path):
    X, y, y_noisy = _data()
    reference = _cleaner(Oracle(y)).fit(X, y_noisy)
    _cleaner(None, tmp_path).fit(X, y_noisy)
    for _ in range(5):
        cleaner = load_cleaner(tmp_path, trusted=("_stubs",))  # a new session
        ask = cleaner.query(X)
        cleaner = load_cleaner(tmp_path, trusted=("_stubs",))
        cleaner.teach(X, ask[:2], y[ask[:2]], finish=False)
        cleaner = load_cleaner(tmp_path, trusted=("_stubs",))
        cleaner.teach(X, ask[2:], y[ask[2:]])
    _same(load_cleaner(tmp_path, trusted=("_stubs",)), reference, X)
