"""The review page's server side (Flask test client) and the Label Studio and
CSV round trips on a real, tiny campaign fitted on arrays."""

import csv
import json
import time

import numpy as np
import pytest

from noisyactive.review import (
    ReviewSession,
    export_label_studio,
    import_label_studio,
)
from noisyactive.review._app import create_app

CLASSES = ["bkl", "mel", "nv"]


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array([CLASSES[i % 3] for i in range(n)])
    X = rng.normal(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    for i in range(n):
        X[i, 0, :, 3 * (i % 3) : 3 * (i % 3) + 2] += 2.0
    flip = rng.random(n) < 0.3
    y[flip] = np.roll(y, 1)[flip]
    return X, y


@pytest.fixture
def campaign(tmp_path):
    from noisyactive.active import ActiveLabelCleaner
    from noisyactive.classifiers import NetClassifier
    from noisyactive.filtering import NoisyLabelFilter

    X, y = _data()
    net = dict(module="small_cnn", batch_size=32, random_state=0)
    cleaner = ActiveLabelCleaner(
        estimator=NoisyLabelFilter(
            max_epochs=2, num_gradual=1, vog_window=2, forget_rate=0.2, **net
        ),
        classifier=NetClassifier(max_epochs=1, **net),
        oracle=None,
        batch_size=3,
        n_rounds=2,
        checkpoint=str(tmp_path / "campaign"),
        random_state=0,
    )
    cleaner.fit(X, y)
    return tmp_path / "campaign", X


def _wait_idle(client, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.get("/api/status").get_json()
        if status["training"]["state"] != "training":
            return status
        time.sleep(0.1)
    raise AssertionError("training did not finish")


def _stored_open(checkpoint, X):
    from noisyactive.active import load_cleaner

    cleaner = load_cleaner(checkpoint)
    return cleaner, [r["index"] for r in cleaner.pending_table(X)]


def test_array_campaign_needs_the_training_data(campaign):
    checkpoint, _ = campaign
    with pytest.raises(ValueError, match="pass X"):
        ReviewSession(checkpoint)


def test_page_lists_open_samples_with_test_hooks(campaign):
    checkpoint, X = campaign
    session = ReviewSession(checkpoint, X)
    client = create_app(session).test_client()
    status = _wait_idle(client)  # a fresh campaign: round 1 is handed out
    assert status["progress"]["batch"] == 3 and status["progress"]["open"] == 3
    html = client.get("/").get_data(as_text=True)
    _, open_ = _stored_open(checkpoint, X)
    for index in open_:
        assert f'data-index="{index}"' in html
    for name in CLASSES:
        assert html.count(f'data-label="{name}"') == 3
    assert html.count('data-label=""') == 3
    assert "0</span> of" in html and "budget left" in html


def test_array_samples_are_served_as_png(campaign):
    checkpoint, X = campaign
    client = create_app(ReviewSession(checkpoint, X)).test_client()
    _wait_idle(client)
    response = client.get("/image/4")
    assert response.mimetype == "image/png"
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(response.data))
    assert min(image.size) >= 256  # 8 x 8 pixels enlarged to be judged
    assert client.get(f"/image/{len(X)}").status_code == 404


def test_answer_is_saved_at_once_and_unknown_label_refused(campaign):
    checkpoint, X = campaign
    client = create_app(ReviewSession(checkpoint, X)).test_client()
    _wait_idle(client)
    _, open_ = _stored_open(checkpoint, X)
    bad = client.post("/api/answer", json={"index": open_[0], "label": "zebra"})
    assert bad.status_code == 400 and "bkl" in bad.get_json()["error"]
    assert _stored_open(checkpoint, X)[1] == open_
    ok = client.post("/api/answer", json={"index": open_[0], "label": "mel"})
    assert ok.get_json()["progress"]["answered"] == 1
    cleaner, now_open = _stored_open(checkpoint, X)  # a fresh reader sees it
    assert now_open == open_[1:] and cleaner.n_rounds_ == 0
    early = client.post("/api/next", json={})
    assert early.status_code == 409  # two questions are still open


def test_auto_next_retrains_when_the_batch_is_answered(campaign):
    checkpoint, X = campaign
    client = create_app(ReviewSession(checkpoint, X), auto_next=True).test_client()
    _wait_idle(client)
    _, first = _stored_open(checkpoint, X)
    for index, label in zip(first, ["mel", "", "nv"]):
        client.post("/api/answer", json={"index": index, "label": label})
    status = _wait_idle(client)
    assert status["training"]["state"] == "done"
    cleaner, second = _stored_open(checkpoint, X)
    assert cleaner.n_rounds_ == 1 and len(second) == 3
    assert not set(second) & set(first)
    assert cleaner.labels_[first[0]] == "mel" and cleaner.labels_[first[2]] == "nv"


def _label_studio_round(campaign, tmp_path):
    checkpoint, X = campaign
    session = ReviewSession(checkpoint, X)
    session.next_round()
    folder = tmp_path / "ls"
    export_label_studio(session, folder, document_root=str(tmp_path))
    tasks = json.loads((folder / "tasks.json").read_text())
    open_ = [row["index"] for row in session.pending()]
    assert [t["data"]["noisyactive_index"] for t in tasks] == open_
    for task in tasks:  # array samples written as PNG files, local-file URLs
        index = task["data"]["noisyactive_index"]
        assert task["data"]["image"] == f"/data/local-files/?d=ls/images/{index}.png"
        assert (folder / "images" / f"{index}.png").read_bytes()[:4] == b"\x89PNG"
        assert task["predictions"][0]["result"][0]["value"]["choices"][0] in CLASSES
    # what Label Studio's JSON export of that project looks like once annotated
    export = _annotated(tasks, ["nv", None, "bkl"])
    (tmp_path / "export.json").write_text(json.dumps(export))
    assert import_label_studio(session, tmp_path / "export.json") == 3
    cleaner, _ = _stored_open(checkpoint, X)
    assert cleaner.n_rounds_ == 1  # the complete batch was applied
    assert cleaner.labels_[open_[0]] == "nv" and cleaner.labels_[open_[2]] == "bkl"
    assert cleaner.budget_used_ == 2
    return session, export


def _annotated(tasks, answers, first_id=1):
    export = []
    for k, (task, answer) in enumerate(zip(tasks, answers), start=first_id):
        result = (
            []
            if answer is None
            else [
                {
                    "id": f"r{k}",
                    "from_name": "label",
                    "to_name": "image",
                    "type": "choices",
                    "origin": "manual",
                    "value": {"choices": [answer]},
                }
            ]
        )
        export.append(
            dict(
                task,
                id=k,
                annotations=[
                    {
                        "id": k,
                        "completed_by": 1,
                        "result": result,
                        "was_cancelled": answer is None,
                        "ground_truth": False,
                        "created_at": "2024-05-02T08:00:00Z",
                        "updated_at": "2024-05-02T08:00:00Z",
                        "lead_time": 2.5,
                        "task": k,
                    }
                ],
            )
        )
    return export


def test_label_studio_round_trip(campaign, tmp_path):
    _label_studio_round(campaign, tmp_path)


def test_label_studio_cumulative_export_and_other_campaigns(campaign, tmp_path):
    checkpoint, X = campaign
    session, round1 = _label_studio_round(campaign, tmp_path)
    session.next_round()
    export_label_studio(session, tmp_path / "ls2", document_root=str(tmp_path))
    tasks = json.loads((tmp_path / "ls2" / "tasks.json").read_text())
    second = [t["data"]["noisyactive_index"] for t in tasks]
    # the project keeps round 1's annotated tasks: Label Studio exports them all
    round2 = _annotated(tasks, ["mel", "mel", None], first_id=4)
    conflicting = json.loads(json.dumps(round1 + round2))
    first_answer = conflicting[0]["annotations"][0]["result"][0]["value"]
    first_answer["choices"] = ["mel"]  # was "nv", applied in round 1
    (tmp_path / "conflict.json").write_text(json.dumps(conflicting))
    index = round1[0]["data"]["noisyactive_index"]
    with pytest.raises(ValueError, match=f"samples {index} \\('nv' applied"):
        import_label_studio(session, tmp_path / "conflict.json")
    foreign = json.loads(json.dumps(round2))
    foreign[1]["data"]["noisyactive_campaign"] = "0123456789abcdef"
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    with pytest.raises(ValueError, match="task 5 was written for another campaign"):
        import_label_studio(session, tmp_path / "foreign.json")
    assert _stored_open(checkpoint, X)[1] == second  # nothing recorded
    (tmp_path / "all.json").write_text(json.dumps(round1 + round2))
    assert import_label_studio(session, tmp_path / "all.json") == 3  # round 2 only
    cleaner, _ = _stored_open(checkpoint, X)
    assert cleaner.n_rounds_ == 2 and cleaner.budget_used_ == 4
    assert cleaner.labels_[second[0]] == "mel" and cleaner.labels_[index] == "nv"


def test_cli_query_teach_export(campaign, tmp_path, capsys):
    from noisyactive.cli import main

    checkpoint, X = campaign
    np.savez(tmp_path / "train.npz", X=X)
    data = ["--data", str(tmp_path / "train.npz")]
    questions = tmp_path / "round1.csv"
    assert main(["query", str(checkpoint), "--csv", str(questions), *data]) == 0
    assert "3 questions written" in capsys.readouterr().out
    with open(questions, newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == [
        "index",
        "path",
        "current_label",
        "suggested_label",
        "confidence",
        "label",
        "allowed_labels",
    ]
    header, rows = 0, lines[1:]
    assert all(row[-1] == "bkl | mel | nv" for row in rows)
    for row, answer in zip(rows, ["mel", "", "bkl"]):
        row[-2] = answer
    with open(questions, "w", newline="") as fh:
        csv.writer(fh).writerows(lines[: header + 1] + rows)
    assert main(["teach", str(checkpoint), str(questions), *data]) == 0
    cleaner, _ = _stored_open(checkpoint, X)
    assert cleaner.labels_[int(rows[0][0])] == "mel" and cleaner.budget_used_ == 2
    cleaned = tmp_path / "cleaned.csv"
    assert main(["export", str(checkpoint), str(cleaned), *data]) == 0
    with open(cleaned, newline="") as fh:
        out = list(csv.DictReader(fh))
    assert len(out) == len(X)
    assert out[int(rows[0][0])]["final_label"] == "mel"
    assert out[int(rows[0][0])]["source"] == "relabeled"


def test_cli_labelstudio_export_and_import_without_finishing(campaign, tmp_path):
    from noisyactive.cli import main

    checkpoint, X = campaign
    np.savez(tmp_path / "train.npz", X=X)
    data = ["--data", str(tmp_path / "train.npz")]
    ReviewSession(checkpoint, X).next_round()
    folder = tmp_path / "ls"
    argv = ["labelstudio", "export", str(checkpoint), str(folder), *data]
    assert main([*argv, "--url-prefix", "https://img.example/derm"]) == 0
    tasks = json.loads((folder / "tasks.json").read_text())
    assert len(tasks) == 3
    assert tasks[0]["data"]["image"].startswith("https://img.example/derm/")
    assert '<Choice value="mel"/>' in (folder / "labeling_config.xml").read_text()
    for task in tasks:
        task["annotations"] = [
            {
                "result": [
                    {
                        "from_name": "label",
                        "to_name": "image",
                        "type": "choices",
                        "value": {"choices": ["nv"]},
                    }
                ],
                "was_cancelled": False,
            }
        ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    argv = ["labelstudio", "import", str(checkpoint), str(tmp_path / "export.json")]
    assert main([*argv, "--no-finish", *data]) == 0
    cleaner, open_ = _stored_open(checkpoint, X)
    assert open_ == [] and cleaner.n_rounds_ == 0  # recorded, not applied yet


def test_cross_site_and_non_json_posts_are_refused(campaign):
    checkpoint, X = campaign
    client = create_app(ReviewSession(checkpoint, X)).test_client()
    _wait_idle(client)
    _, open_ = _stored_open(checkpoint, X)
    body = json.dumps({"index": open_[0], "label": "mel"})
    # a cross-site form/fetch without a CORS preflight: text/plain
    plain = client.post(
        "/api/answer",
        data=body,
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert plain.status_code == 403
    plain = client.post("/api/answer", data=body, content_type="text/plain")
    assert plain.status_code == 415
    evil = client.post(
        "/api/answer",
        data=body,
        content_type="application/json",
        headers={"Origin": "http://evil.example"},
    )
    assert evil.status_code == 403
    assert client.post("/api/next", data="{}").status_code == 415
    assert _stored_open(checkpoint, X)[1] == open_  # nothing recorded
    ok = client.post(
        "/api/answer",
        json={"index": open_[0], "label": "mel"},
        headers={"Origin": "http://localhost"},
    )
    assert ok.status_code == 200


def test_server_answers_only_to_its_own_host(campaign):
    from noisyactive.review import ReviewServer

    checkpoint, X = campaign
    server = ReviewServer(checkpoint, X, port=0)
    try:
        client = server.app.test_client()
        own = f"http://127.0.0.1:{server.port}"
        assert client.get("/api/status", base_url=own).status_code == 200
        local = f"http://localhost:{server.port}"
        assert client.get("/api/status", base_url=local).status_code == 200
        rebound = f"http://evil.example:{server.port}"  # DNS rebinding
        assert client.get("/api/status", base_url=rebound).status_code == 403
        refused = client.post("/api/next", json={}, base_url=rebound)
        assert refused.status_code == 403
    finally:
        server._server.server_close()


def _own_module_campaign(folder):
    # a campaign whose estimator is a class of the user's own module (_stubs)
    from _stubs import MaskFilter
    from sklearn.linear_model import LogisticRegression

    from noisyactive.active import ActiveLabelCleaner

    X, y = _data(n=30)
    X = X.reshape(len(X), -1)
    ActiveLabelCleaner(
        estimator=MaskFilter(),
        classifier=LogisticRegression(max_iter=200),
        oracle=None,
        batch_size=3,
        n_rounds=2,
        checkpoint=str(folder),
        random_state=0,
    ).fit(X, y)
    return X


def test_campaigns_of_own_modules_open_with_trusted(tmp_path, capsys):
    import os

    from noisyactive.active import UntrustedCheckpointError, load_cleaner
    from noisyactive.cli import main
    from noisyactive.review import ReviewServer

    folder = tmp_path / "own"
    X = _own_module_campaign(folder)
    with pytest.raises(UntrustedCheckpointError):
        ReviewSession(folder, X)
    session = ReviewSession(folder, X, trusted=("_stubs",))
    open_ = [int(i) for i in session.next_round()]
    assert [row["index"] for row in session.pending()] == open_
    assert len(open_) == 3
    # another process changes the checkpoint: the reload needs trusted= too
    other = load_cleaner(folder, trusted=("_stubs",))
    other.teach(X, [open_[0]], [other.classes_[0]], finish=False)
    os.utime(folder / os.listdir(folder)[0])
    assert session.progress()["answered"] == 1
    server = ReviewServer(folder, X, port=0, trusted=("_stubs",))
    server._server.server_close()
    np.savez(tmp_path / "train.npz", X=X)
    common = [str(folder), "--data", str(tmp_path / "train.npz")]
    with pytest.raises(SystemExit, match="--trusted MODULE"):
        main(["export", *common, str(tmp_path / "out.csv")])
    out = str(tmp_path / "out.csv")
    assert main(["export", *common, out, "--trusted", "_stubs"]) == 0
    assert (
        main(
            [
                "query",
                *common,
                "--csv",
                str(tmp_path / "q.csv"),
                "--trusted",
                "os",
                "--trusted",
                "_stubs",
            ]
        )
        == 0
    )


def test_trainer_does_not_wait_on_a_training_session():
    import threading

    from noisyactive.review._app import Trainer

    class Busy:
        # progress() needs the lock next_round holds for the whole refit
        def __init__(self):
            self.lock, self.entered, self.release = (
                threading.Lock(),
                threading.Event(),
                threading.Event(),
            )
            self.rounds, self.end_message = 0, None

        def progress(self):
            with self.lock:
                return {"open": 0}

        def next_round(self):
            with self.lock:
                self.rounds += 1
                self.entered.set()
                self.release.wait(10)
                return np.arange(3)

    session = Busy()
    trainer = Trainer(session)
    assert trainer.start()
    assert session.entered.wait(10)
    started = time.time()
    assert not trainer.start()  # busy: refused at once, not after the refit
    assert time.time() - started < 1
    session.release.set()
    deadline = time.time() + 10
    while trainer.status()["state"] == "training" and time.time() < deadline:
        time.sleep(0.01)
    assert trainer.status()["state"] == "done" and session.rounds == 1
