"""A Label Studio export with two annotators per task keeps both answers."""

import copy
import json

import pytest

review_app = pytest.importorskip("test_review_app")
campaign = review_app.campaign  # the fixture


def test_two_annotations_per_task_are_both_kept(campaign, tmp_path):
    from noisyactive.active import load_cleaner
    from noisyactive.review import (
        ReviewSession,
        export_label_studio,
        import_label_studio,
    )

    checkpoint, X = campaign
    cleaner = load_cleaner(checkpoint)
    cleaner.set_params(max_answers_per_sample=2, consensus="majority")
    with cleaner.campaign_.locked():
        cleaner.campaign_.save()
    session = ReviewSession(checkpoint, X)
    session.next_round()
    folder = tmp_path / "ls"
    export_label_studio(session, folder, document_root=str(tmp_path))
    tasks = json.loads((folder / "tasks.json").read_text())
    first = review_app._annotated(tasks, ["nv", "mel", "bkl"])
    second = review_app._annotated(tasks, ["nv", "bkl", "bkl"])
    export = copy.deepcopy(first)
    for task, other in zip(export, second):
        extra = dict(other["annotations"][0], id=100 + task["id"])
        extra["completed_by"] = {"id": 2, "email": "reader2@example.org"}
        task["annotations"].append(extra)
    (tmp_path / "export.json").write_text(json.dumps(export))
    assert import_label_studio(session, tmp_path / "export.json") == 6
    stored = load_cleaner(checkpoint)
    answers = stored.answers_
    assert len(answers) == 6
    assert sorted(set(answers["annotator"])) == ["1", "reader2@example.org"]
    assert stored.n_rounds_ == 1  # both answers wanted per sample: applied
    open_ = [t["data"]["noisyactive_index"] for t in tasks]
    assert stored.labels_[open_[0]] == "nv" and stored.labels_[open_[2]] == "bkl"
    assert not stored.relabeled_mask_[open_[1]]  # mel vs bkl: a tie, left open
    assert stored.agreement_[open_[1]] == 0.5
    assert import_label_studio(session, tmp_path / "export.json") == 0  # repeats
