"""Corrected answers: teach(..., amend=True) and `noisyactive teach --amend`.

The journal keeps both answers (the correction names the entry it replaces,
who and when), the state holds the corrected label, the budget does not count
the correction, and a correction of a round already trained on refits.
"""

import csv
import json

import numpy as np
import pytest
from _stubs import MaskFilter
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import ActiveLabelCleaner, load_cleaner

NAMES = np.array(["akiec", "df", "nv"])


def _data(n=100):
    X, y = make_classification(
        n, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    y_noisy = np.where(np.arange(n) % 4 == 0, (y + 1) % 3, y)
    return X, NAMES[y], NAMES[y_noisy]


def _cleaner(checkpoint):
    return ActiveLabelCleaner(
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=300),
        oracle=None,
        batch_size=5,
        n_rounds=4,
        checkpoint=checkpoint,
        random_state=0,
    )


def _journal(folder):
    with open(folder / "answers.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["entry"] for line in fh]


def _other(label):
    return NAMES[(list(NAMES).index(label) + 1) % 3]


def test_amend_in_the_open_round_keeps_both_entries(tmp_path):
    X, y, y_noisy = _data()
    folder = tmp_path / "c"
    cleaner = _cleaner(folder).fit(X, y_noisy)
    ask = cleaner.query(X)
    cleaner.teach(X, ask[:2], y[ask[:2]], finish=False)
    assert cleaner.budget_used_ == 2
    wrong = _other(y[ask[0]])
    with pytest.raises(ValueError, match="amend=True"):
        cleaner.teach(X, ask[:1], [wrong], finish=False)
    cleaner.teach(X, ask[:1], [wrong], finish=False, amend=True)
    assert cleaner.labels_[ask[0]] == wrong
    assert cleaner.budget_used_ == 2  # a correction is not a new label
    assert cleaner.relabel_log_["new_label"].tolist() == [wrong, y[ask[1]]]
    cleaner.teach(X, ask[:1], [wrong], finish=False, amend=True)  # no change
    first, second = _journal(folder)
    assert "amendment" not in first
    assert second["amendment"] is True and second["amends"] == [first["seq"]]
    assert second["indices"] == [int(ask[0])] and second["who"] and second["when"]
    # a fresh process replays both entries: the later one wins
    again = load_cleaner(folder, trusted=("_stubs",))
    assert again.labels_[ask[0]] == wrong and again.budget_used_ == 2
    # the round closes with the corrected answer
    again.teach(X, ask[2:], y[ask[2:]])
    assert again.n_rounds_ == 1 and again.history_[-1]["n_returned"] == 5
    assert load_cleaner(folder, trusted=("_stubs",)).labels_[ask[0]] == wrong


def test_amend_of_a_closed_round_refits_and_not_sure_returns_the_label(tmp_path):
    X, y, y_noisy = _data()
    folder = tmp_path / "c"
    cleaner = _cleaner(folder).fit(X, y_noisy)
    ask = cleaner.query(X)
    cleaner.teach(X, ask, y[ask])
    state = cleaner.campaign_.state
    assert cleaner.n_rounds_ == 1 and not state.needs_refit
    version, used = state.classifier_version, cleaner.budget_used_
    cleaner.teach(X, ask[:1], [_other(y[ask[0]])], amend=True)
    assert state.classifier_version == version + 1  # retrained at once
    assert not state.needs_refit and cleaner.budget_used_ == used
    # "not sure" after all: the label from before, abstained, budget back
    cleaner.teach(X, ask[1:2], [None], amend=True, finish=False)
    assert cleaner.abstained_mask_[ask[1]] and not cleaner.relabeled_mask_[ask[1]]
    assert cleaner.labels_[ask[1]] == y_noisy[ask[1]]
    assert cleaner.budget_used_ == used - 1 and state.needs_refit
    again = load_cleaner(folder, labels_only=True, trusted=("_stubs",))
    assert again.labels_[ask[0]] == _other(y[ask[0]])
    assert again.abstained_mask_[ask[1]] and again.budget_used_ == used - 1


def test_cli_teach_amend(tmp_path, capsys):
    from noisyactive.cli import main

    X, y, y_noisy = _data()
    folder = tmp_path / "c"
    _cleaner(str(folder)).fit(X, y_noisy)
    np.savez(tmp_path / "train.npz", X=X)
    common = ["--data", str(tmp_path / "train.npz"), "--trusted", "_stubs"]
    questions = tmp_path / "round1.csv"
    assert main(["query", str(folder), "--csv", str(questions), *common]) == 0
    with open(questions, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["label"] = y[int(row["index"])]
    _write(questions, rows)
    assert main(["teach", str(folder), str(questions), *common]) == 0
    capsys.readouterr()
    index = int(rows[0]["index"])
    rows[0]["label"] = _other(y[index])
    _write(questions, rows)
    with pytest.raises(SystemExit, match="--amend"):
        main(["teach", str(folder), str(questions), *common])
    assert main(["teach", str(folder), str(questions), "--amend", *common]) == 0
    cleaner = load_cleaner(folder, labels_only=True, trusted=("_stubs",))
    assert cleaner.labels_[index] == _other(y[index])
    assert cleaner.budget_used_ == 5 and cleaner.n_rounds_ == 1
    entries = _journal(folder)
    assert len(entries) == 2 and entries[1]["amendment"]
    assert entries[1]["indices"] == [index]  # the unchanged rows are skipped


def _write(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
