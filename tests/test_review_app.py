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


def _client(session, **kwargs):
    """A test client of the page carrying its token, as the page's script does."""
    app = create_app(session, **kwargs)
    client = app.test_client()
    client.environ_base["HTTP_X_REVIEW_TOKEN"] = app.config["token"]
    return client


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
    client = _client(session)
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
    client = _client(ReviewSession(checkpoint, X))
    _wait_idle(client)
    _, open_ = _stored_open(checkpoint, X)
    response = client.get(f"/image/{open_[0]}")
    assert response.mimetype == "image/png"
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(response.data))
    assert min(image.size) >= 256  # 8 x 8 pixels enlarged to be judged
    assert client.get(f"/image/{len(X)}").status_code == 404


def test_answer_is_saved_at_once_and_unknown_label_refused(campaign):
    checkpoint, X = campaign
    client = _client(ReviewSession(checkpoint, X))
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
    client = _client(ReviewSession(checkpoint, X), auto_next=True)
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
    changed = json.loads(json.dumps(round1 + round2))
    first_answer = changed[0]["annotations"][0]["result"][0]["value"]
    first_answer["choices"] = ["mel"]  # was "nv", applied in round 1
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    index = round1[0]["data"]["noisyactive_index"]
    with pytest.raises(ValueError, match=f"samples {index} \\('nv' applied"):
        import_label_studio(session, tmp_path / "changed.json", amend=False)
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
    # an annotation changed in Label Studio is a correction: applied (the
    # journal keeps both answers), not counted as a new label, retrained on
    version = cleaner.campaign_.state.classifier_version
    n = import_label_studio(session, tmp_path / "changed.json")
    assert n == 1 and n.amended == 1
    cleaner, _ = _stored_open(checkpoint, X)
    assert cleaner.labels_[index] == "mel" and cleaner.budget_used_ == 4
    state = cleaner.campaign_.state
    assert state.classifier_version == version + 1 and not state.needs_refit
    entries = [json.loads(line)["entry"] for line in open(checkpoint / "answers.jsonl")]
    answered = [e for e in entries if index in e["indices"]]
    assert len(answered) == 2 and answered[1]["amendment"]
    assert answered[1]["amends"] == [answered[0]["seq"]]


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
    row = out[int(rows[0][0])]
    assert row["final_label"] == "mel" and row["label_quality"] == "1.0000"
    assert row["source"] == (
        "confirmed" if row["given_label"] == "mel" else "corrected"
    )
    assert any("quality" in c for c in out[0]) and any("suggest" in c for c in out[0])
    for row in out:
        assert row["is_label_issue"] in ("True", "False")
        assert row["suggested_label"] in CLASSES
        assert 0 <= float(row["label_quality"]) <= 1
    # a round closed by `teach`: `labelstudio export` hands out the next one,
    # as `query` does (never an empty task file)
    folder = tmp_path / "ls"
    assert main(["labelstudio", "export", str(checkpoint), str(folder), *data]) == 0
    assert "3 tasks written" in capsys.readouterr().out
    tasks = json.loads((folder / "tasks.json").read_text())
    cleaner, open_ = _stored_open(checkpoint, X)
    assert cleaner.n_rounds_ == 1 and len(tasks) == 3
    assert [t["data"]["noisyactive_index"] for t in tasks] == open_
    # once the budget is spent: a non-zero exit saying why, nothing written
    session = ReviewSession(checkpoint, X)
    session.answer(open_, ["nv"] * 3, finish=True)  # 5 of 6 labels used
    with pytest.warns(UserWarning, match="only 1 labels"):
        main(["labelstudio", "export", str(checkpoint), str(folder), *data])
    last = json.loads((folder / "tasks.json").read_text())
    session.answer([last[0]["data"]["noisyactive_index"]], ["nv"], finish=True)
    with pytest.raises(SystemExit, match="budget"):
        main(["labelstudio", "export", str(checkpoint), str(tmp_path / "ls3"), *data])
    assert not (tmp_path / "ls3").exists()


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
    client = _client(ReviewSession(checkpoint, X))
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
        client.environ_base["HTTP_X_REVIEW_TOKEN"] = server.token
        own = f"http://127.0.0.1:{server.port}"
        assert client.get("/api/status", base_url=own).status_code == 200
        local = f"http://localhost:{server.port}"
        assert client.get("/api/status", base_url=local).status_code == 200
        rebound = f"http://evil.example:{server.port}"  # DNS rebinding
        assert client.get("/api/status", base_url=rebound).status_code == 403
        refused = client.post("/api/next", json={}, base_url=rebound)
        assert refused.status_code == 403
    finally:
        server.close()


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
    server.close()
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


# -- a small, strict local server (issue 23, finding 5) ---------------------------


@pytest.fixture(scope="module")
def _asked(tmp_path_factory):
    """One campaign with round 1 handed out, fitted once for the tests below."""
    folder = tmp_path_factory.mktemp("asked") / "campaign"
    X, y = _data()
    from noisyactive.active import ActiveLabelCleaner
    from noisyactive.classifiers import NetClassifier
    from noisyactive.filtering import NoisyLabelFilter

    net = dict(module="small_cnn", batch_size=32, random_state=0)
    cleaner = ActiveLabelCleaner(
        estimator=NoisyLabelFilter(
            max_epochs=2, num_gradual=1, vog_window=2, forget_rate=0.2, **net
        ),
        classifier=NetClassifier(max_epochs=1, **net),
        oracle=None,
        batch_size=3,
        n_rounds=2,
        checkpoint=str(folder),
        random_state=0,
    )
    cleaner.fit(X, y)
    cleaner.query(X)
    return folder, X


@pytest.fixture
def asked(_asked, tmp_path):
    """A copy of the asked campaign, its strict client and its open questions."""
    import shutil

    folder, X = _asked
    checkpoint = tmp_path / "campaign"
    shutil.copytree(folder, checkpoint)
    app = create_app(ReviewSession(checkpoint, X))
    client = app.test_client()
    token = app.config["token"]
    client.environ_base["HTTP_X_REVIEW_TOKEN"] = token
    _, open_ = _stored_open(checkpoint, X)
    assert len(open_) == 3
    return checkpoint, X, client, token, open_


def _files(checkpoint):
    """Every checkpoint file's bytes (the locks aside)."""
    skip = {"campaign.lock", "lock-holder.json", "review.lock"}
    return {
        p.name: p.read_bytes()
        for p in sorted(checkpoint.iterdir())
        if p.is_file() and p.name not in skip
    }


def _refused(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert isinstance(error, str) and error
    return error


def test_every_request_needs_the_token(asked):
    checkpoint, X, client, token, open_ = asked
    before = _files(checkpoint)
    answer = {"index": open_[0], "label": "mel"}
    for headers in ({}, {"X-Review-Token": "wrong"}, {"X-Review-Token": "é"}):
        client.environ_base.pop("HTTP_X_REVIEW_TOKEN")
        for response in (
            client.post("/api/answer", json=answer, headers=headers),
            client.post("/api/next", json={}, headers=headers),
            client.get("/api/status", headers=headers),
            client.get("/", headers=headers),
            client.get(f"/image/{open_[0]}", headers=headers),
            client.get(f"/image/{open_[0]}?token=wrong", headers=headers),
        ):
            assert "token" in _refused(response, 403)
        client.environ_base["HTTP_X_REVIEW_TOKEN"] = token
    assert _files(checkpoint) == before
    del client.environ_base["HTTP_X_REVIEW_TOKEN"]
    # the page and its images take the token from the URL, as printed
    page = client.get(f"/?token={token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/image/{open_[0]}?token={token}" in html
    assert f'"token": "{token}"' in html  # the script sends it as a header
    assert client.get(f"/image/{open_[0]}?token={token}").status_code == 200
    assert client.get("/static/review.js").status_code == 200  # no secret there
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    ok = client.post("/api/answer", json=answer, headers={"X-Review-Token": token})
    assert ok.status_code == 200 and ok.get_json()["progress"]["answered"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"index": 1.0, "label": "mel"},
        {"index": 3.9, "label": "mel"},
        {"index": True, "label": "mel"},
        {"index": "3", "label": "mel"},
        {"index": None, "label": "mel"},
        {"index": [3], "label": "mel"},
        {"index": 10**30, "label": "mel"},
        {"index": -1, "label": "mel"},
        {"index": 60, "label": "mel"},
        {"index": "OPEN"},
        {"label": "mel"},
        {"index": "OPEN", "label": 1},
        {"index": "OPEN", "label": ["mel"]},
        {"index": "OPEN", "label": "zebra"},
        {"index": "OPEN", "label": "mel", "finish": True},
        ["OPEN", "mel"],
        "OPEN",
    ],
)
def test_malformed_answers_are_400(asked, body):
    checkpoint, X, client, token, open_ = asked

    def fill(value):
        if value == "OPEN":
            return open_[0]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    before = _files(checkpoint)
    _refused(client.post("/api/answer", json=fill(body)), 400)
    raw = b'{"index": %d.0, "label": "mel"}' % open_[0]
    _refused(client.post("/api/answer", data=raw, content_type="application/json"), 400)
    _refused(
        client.post("/api/answer", data=b"{nope", content_type="application/json"), 400
    )
    assert _files(checkpoint) == before
    assert _stored_open(checkpoint, X)[1] == open_


def test_answers_only_for_the_open_questions(asked):
    checkpoint, X, client, token, open_ = asked
    before = _files(checkpoint)
    other = next(i for i in range(len(X)) if i not in open_)
    error = _refused(
        client.post("/api/answer", json={"index": other, "label": "mel"}), 409
    )
    assert f"Sample {other} is not an open question of round 1" in error
    assert _files(checkpoint) == before
    ok = client.post("/api/answer", json={"index": open_[0], "label": "mel"})
    assert ok.status_code == 200
    after = _files(checkpoint)
    # answered already in this round: the answer is changed (a correction,
    # journaled beside the first answer), not a second label
    again = client.post("/api/answer", json={"index": open_[0], "label": "nv"})
    assert again.status_code == 200
    assert _files(checkpoint) != after
    cleaner, now_open = _stored_open(checkpoint, X)
    assert now_open == open_[1:] and cleaner.budget_used_ == 1
    assert cleaner.labels_[open_[0]] == "nv"
    lines = (checkpoint / "answers.jsonl").read_text().splitlines()
    assert [json.loads(line)["entry"].get("amendment") for line in lines] == [
        None,
        True,
    ]
    page = client.get("/").get_data(as_text=True)
    assert 'id="answered-items"' in page and "undo / change" in page


def test_big_bodies_are_413(asked):
    checkpoint, X, client, token, open_ = asked
    before = _files(checkpoint)
    padding = "x" * (20 << 20)
    big = {"index": open_[0], "label": "mel", "padding": padding}
    _refused(client.post("/api/answer", json=big), 413)

    # no Content-Length: werkzeug's limited stream refuses as it reads
    import io

    response = client.post(
        "/api/answer",
        input_stream=io.BytesIO(json.dumps(big).encode()),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
    )
    assert response.status_code in (400, 413)
    assert _files(checkpoint) == before


def test_images_only_of_open_or_answered_samples(asked):
    checkpoint, X, client, token, open_ = asked
    other = next(i for i in range(len(X)) if i not in open_)
    before = _files(checkpoint)
    assert "neither an open question" in _refused(client.get(f"/image/{other}"), 403)
    _refused(client.get(f"/image/{len(X)}"), 404)
    assert client.get(f"/image/{open_[0]}").mimetype == "image/png"
    client.post("/api/answer", json={"index": open_[0], "label": "mel"})
    assert client.get(f"/image/{open_[0]}").status_code == 200  # answered
    assert _files(checkpoint) != before  # the answer only


def test_crafted_input_paths_are_not_served(asked, tmp_path):
    from PIL import Image

    from noisyactive.review._images import ImageRefusedError, read_input_image

    checkpoint, X, client, token, open_ = asked
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "id_rsa.png").write_bytes(b"-----BEGIN PRIVATE KEY----- hunter2")
    Image.new("RGB", (4, 4), "red").save(secret / "outside.png")
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (4, 4), "blue").save(images / "ok.jpg")
    Image.new("RGB", (4, 4), "blue").save(images / "scan.tif")
    (images / "link.png").symlink_to(secret / "outside.png")
    (images / "inner.png").symlink_to(images / "ok.jpg")
    (images / "folder.png").mkdir()
    import os

    os.mkfifo(images / "fifo.png")
    assert read_input_image(images / "ok.jpg")[1] == "image/jpeg"
    assert read_input_image(images / "inner.png")[1] == "image/jpeg"  # stays inside
    data, mimetype = read_input_image(images / "scan.tif")
    assert mimetype == "image/png" and data[:4] == b"\x89PNG"
    for name, why in [
        ("link.png", "symlink leading out"),
        ("folder.png", "not a regular file|cannot be opened"),
        ("fifo.png", "not a regular file"),
    ]:
        with pytest.raises(ImageRefusedError, match=why):
            read_input_image(images / name)
    with pytest.raises(ImageRefusedError, match="not an image"):
        read_input_image(secret / "id_rsa.png")
    with pytest.raises(FileNotFoundError):
        read_input_image(images / "gone.png")
    # a checkpoint whose recorded input paths name those files
    session = client.application.config["session"]
    paths = np.array([str(images / "ok.jpg")] * len(X), dtype=object)
    paths[open_[0]] = str(secret / "id_rsa.png")
    paths[open_[1]] = str(images / "link.png")
    paths[open_[2]] = str(images / "gone.png")
    session.paths = paths
    refused = client.get(f"/image/{open_[0]}")
    assert "not an image" in _refused(refused, 403)
    assert b"hunter2" not in refused.data
    assert "symlink" in _refused(client.get(f"/image/{open_[1]}"), 403)
    _refused(client.get(f"/image/{open_[2]}"), 404)
    other = next(i for i in range(len(X)) if i not in open_)
    _refused(client.get(f"/image/{other}"), 403)  # a real image, never asked


def test_errors_are_json_with_their_status(asked, monkeypatch):
    from noisyactive.active import CheckpointLockedError

    checkpoint, X, client, token, open_ = asked
    _refused(client.get("/nowhere"), 404)
    _refused(client.get("/api/answer"), 405)
    _refused(client.post("/api/answer", data="{}", content_type="text/plain"), 415)
    session = client.application.config["session"]

    def locked():
        raise CheckpointLockedError("The checkpoint folder 'x' is in use by process 7")

    monkeypatch.setattr(session, "progress", locked)
    assert "in use by process 7" in _refused(client.get("/api/status"), 409)

    def broken():
        raise KeyError("boom")

    monkeypatch.setattr(session, "progress", broken)
    assert "boom" in _refused(client.get("/api/status"), 500)


def test_one_server_per_folder_refused_at_start(asked):
    from noisyactive.review import ReviewServer, ReviewServerRunningError

    checkpoint, X, client, token, open_ = asked
    first = ReviewServer(checkpoint, X, port=0)
    try:
        assert first.url.startswith(f"http://127.0.0.1:{first.port}/?token=")
        assert first.url.endswith(first.token) and len(first.token) >= 32
        with pytest.raises(ReviewServerRunningError, match="Another review server"):
            ReviewServer(checkpoint, X, port=0)
        # the command says so and stops, before any answer
        from noisyactive.cli import main

        np.savez(checkpoint.parent / "train.npz", X=X)
        data = ["--data", str(checkpoint.parent / "train.npz")]
        with pytest.raises(SystemExit, match="noisyactive: Another review server"):
            main(["review", str(checkpoint), "--port", "0", *data])
    finally:
        first.close()
    second = ReviewServer(checkpoint, X, port=0)  # the folder is free again
    assert second.token != first.token  # a new secret for every launch
    second.close()


def test_access_log_masks_the_token(asked, caplog):
    import logging
    import urllib.request

    from noisyactive.review import ReviewServer

    checkpoint, X, client, token, open_ = asked
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = ReviewServer(checkpoint, X, port=0).start()
    try:
        url = server.url.replace("/?token=", "/api/status?token=")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
    finally:
        server.stop()
    assert "GET /api/status?token=... " in caplog.text
    assert server.token not in caplog.text
