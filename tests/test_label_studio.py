"""Label Studio files: tasks with pre-annotations out, the JSON export back in."""

import json
import xml.etree.ElementTree as ET

import pytest

from noisyactive.review import labeling_config, read_label_studio_answers
from noisyactive.review._label_studio import label_studio_tasks, local_file_url

ROWS = [
    {
        "index": 7,
        "path": "/data/derm/a.jpg",
        "current_label": "nv",
        "suggested_label": "mel",
        "confidence": 0.81,
    },
    {
        "index": 2,
        "path": "/data/derm/b.jpg",
        "current_label": "mel",
        "suggested_label": "mel",
        "confidence": None,
    },
]


def _annotation(choice, *, cancelled=False, when="2024-05-01T10:00:00.000000Z"):
    result = (
        []
        if choice is None
        else [
            {
                "id": "Xy7_k2PqLm",
                "from_name": "label",
                "to_name": "image",
                "type": "choices",
                "origin": "manual",
                "value": {"choices": [choice]},
            }
        ]
    )
    return {
        "id": 101,
        "completed_by": 1,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": when,
        "updated_at": when,
        "lead_time": 3.2,
        "task": 1,
        "project": 4,
    }


def _export_task(task_id, index, annotations):
    """A task as Label Studio's "JSON" export writes it."""
    return {
        "id": task_id,
        "annotations": annotations,
        "file_upload": "tasks.json",
        "drafts": [],
        "predictions": [],
        "data": {
            "image": "/data/local-files/?d=derm/a.jpg",
            "noisyactive_index": index,
            "path": "/data/derm/a.jpg",
            "current_label": "nv",
        },
        "meta": {},
        "created_at": "2024-05-01T09:00:00.000000Z",
        "updated_at": "2024-05-01T10:00:00.000000Z",
        "inner_id": task_id,
        "total_annotations": len(annotations),
        "cancelled_annotations": 0,
        "total_predictions": 0,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": 4,
        "updated_by": 1,
        "comment_authors": [],
    }


def test_import_reads_choices_skips_and_newest_annotation(tmp_path):
    export = [
        _export_task(1, 7, [_annotation("mel")]),
        _export_task(2, 2, [_annotation(None, cancelled=True)]),  # skipped: abstain
        _export_task(3, 5, []),  # not annotated yet: left open
        _export_task(
            4,
            9,
            [
                _annotation("nv", when="2024-05-01T10:00:00Z"),
                _annotation("bkl", when="2024-05-02T08:00:00Z"),
            ],
        ),
    ]
    path = tmp_path / "project-4-at-2024-05-02.json"
    path.write_text(json.dumps(export))
    indices, labels = read_label_studio_answers(path)
    assert indices == [7, 2, 9]
    assert labels == ["mel", "", "bkl"]


def test_import_refuses_foreign_tasks_and_several_choices(tmp_path):
    foreign = _export_task(1, 0, [_annotation("mel")])
    del foreign["data"]["noisyactive_index"]
    (tmp_path / "a.json").write_text(json.dumps([foreign]))
    with pytest.raises(ValueError, match="task 1 has no data.noisyactive_index"):
        read_label_studio_answers(tmp_path / "a.json")
    double = _export_task(3, 0, [_annotation("mel")])
    double["annotations"][0]["result"][0]["value"]["choices"] = ["mel", "nv"]
    (tmp_path / "b.json").write_text(json.dumps([double]))
    with pytest.raises(ValueError, match="task 3: several choices"):
        read_label_studio_answers(tmp_path / "b.json")


def test_tasks_carry_image_and_prediction_with_score():
    refs = [local_file_url(r["path"], "/data") for r in ROWS]
    tasks = label_studio_tasks(ROWS, image_refs=refs, model_version="round 1")
    assert tasks[0]["data"]["image"] == "/data/local-files/?d=derm/a.jpg"
    assert tasks[0]["data"]["noisyactive_index"] == 7
    (prediction,) = tasks[0]["predictions"]
    assert prediction["score"] == pytest.approx(0.81)
    assert prediction["model_version"] == "round 1"
    (result,) = prediction["result"]
    assert result == {
        "from_name": "label",
        "to_name": "image",
        "type": "choices",
        "value": {"choices": ["mel"]},
    }
    assert "score" not in tasks[1]["predictions"][0]
    with pytest.raises(ValueError, match="not below the Label Studio document root"):
        local_file_url("/elsewhere/x.jpg", "/data")


def test_labeling_config_names_match_the_tasks():
    root = ET.fromstring(labeling_config(["mel", "nv", 'a "b"']))
    image, choices = root.find("Image"), root.find("Choices")
    assert image.get("value") == "$image" and image.get("name") == "image"
    assert choices.get("name") == "label" and choices.get("toName") == "image"
    assert choices.get("choice") == "single"
    assert [c.get("value") for c in choices] == ["mel", "nv", 'a "b"']


def test_tasks_carry_the_campaign_and_foreign_ones_are_refused(tmp_path):
    refs = [local_file_url(r["path"], "/data") for r in ROWS]
    tasks = label_studio_tasks(ROWS, image_refs=refs, campaign="c0ffee")
    assert all(t["data"]["noisyactive_campaign"] == "c0ffee" for t in tasks)
    assert (
        "noisyactive_campaign"
        not in label_studio_tasks(ROWS, image_refs=refs)[0]["data"]
    )
    task = _export_task(1, 7, [_annotation("mel")])
    task["data"]["noisyactive_campaign"] = "c0ffee"
    older = _export_task(2, 2, [_annotation("nv")])  # no fingerprint: accepted
    (tmp_path / "e.json").write_text(json.dumps([task, older]))
    assert read_label_studio_answers(tmp_path / "e.json", campaign="c0ffee") == (
        [7, 2],
        ["mel", "nv"],
    )
    with pytest.raises(ValueError, match="task 1 was written for another campaign"):
        read_label_studio_answers(tmp_path / "e.json", campaign="beef")
