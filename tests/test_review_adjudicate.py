"""Adjudication mode of the review page (server side, Flask test client): a
senior reader sees each sample's earlier answers with their annotator and the
agreement; independent readers see none of them, not even through the
working label; the adjudicator's answer is recorded with its annotator."""

import re

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.review import ReviewServer, ReviewSession
from noisyactive.review._app import create_app
from noisyactive.review._reviewers import earlier_answers


def _ask_tell(folder, X, y, **kwargs):
    """A fitted ask/tell campaign on logistic regressions in ``folder``."""
    from noisyactive.active import ActiveLabelCleaner

    params = dict(oracle=None, start="noisy", batch_size=3, n_rounds=2)
    return ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        checkpoint=str(folder),
        random_state=0,
        **{**params, **kwargs},
    ).fit(X, y)


@pytest.fixture
def three_reads(tmp_path):
    """An ask/tell campaign wanting three answers per sample, round 1 open."""
    X, y = make_classification(
        90, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    cleaner = _ask_tell(
        tmp_path / "campaign", X, y, consensus="majority", max_answers_per_sample=3
    )
    cleaner.query(X)
    return tmp_path / "campaign", X, y


def _client(session, **kwargs):
    app = create_app(session, **kwargs)
    client = app.test_client()
    client.environ_base["HTTP_X_REVIEW_TOKEN"] = app.config["token"]
    return client


def _answer(client, index, label, who):
    response = client.post(
        "/api/answer", json={"index": int(index), "label": label, "annotator": who}
    )
    assert response.status_code == 200, response.get_json()


def _cards(html):
    """``{index: card html}`` of the open questions."""
    main = html.split('<main id="items">')[1].split("</main>")[0]
    parts = re.split(r'(?=<article class="item" data-index=")', main)[1:]
    return {int(re.search(r'data-index="(\d+)"', p).group(1)): p for p in parts}


def test_adjudicator_sees_the_earlier_answers_and_the_agreement(three_reads):
    from noisyactive.active import load_cleaner

    checkpoint, X, y = three_reads
    session = ReviewSession(checkpoint, X)
    a, b, c = session.pending()
    given = {r["index"]: r["current_label"] for r in (a, b, c)}
    other = {i: str((int(given[i]) + 1) % 3) for i in given}
    client = _client(session)  # independent reads (the default)
    _answer(client, a["index"], other[a["index"]], "alice")
    _answer(client, a["index"], other[a["index"]], "bob")
    _answer(client, b["index"], other[b["index"]], "alice")
    _answer(client, b["index"], given[b["index"]], "bob")

    # Independent: carol sees neither answer, and the given label rather than
    # the working label (alice's and bob's answer on sample a).
    html = client.get("/", query_string={"reviewer": "carol"}).get_data(as_text=True)
    cards = _cards(html)
    assert sorted(cards) == sorted(given)
    assert "alice" not in html and "bob" not in html and "Answers so far" not in html
    for i, card in cards.items():
        assert f'<dd class="current">{given[i]}</dd>' in card

    judge = _client(ReviewSession(checkpoint, X), adjudicate=True)
    html = judge.get("/", query_string={"reviewer": "carol"}).get_data(as_text=True)
    cards = _cards(html)
    assert "adjudication" in html
    card = cards[a["index"]]
    assert re.findall(r'data-annotator="(\w+)"', card) == ["alice", "bob"]
    assert f"alice</span>: {other[a['index']]}</li>" in card
    assert f"100 %\n        on {other[a['index']]}" in card
    card = cards[b["index"]]
    assert f"bob</span>: {given[b['index']]}</li>" in card
    assert "50 %" in card and "(a tie: open)" in card
    assert "none" in cards[c["index"]] and "&ndash;" in cards[c["index"]]
    # bob, adjudicating, sees only alice's answers and only sample c is new
    html = judge.get("/", query_string={"reviewer": "bob"}).get_data(as_text=True)
    assert sorted(_cards(html)) == [c["index"]]

    _answer(judge, b["index"], given[b["index"]], "carol")  # settles the tie
    stored = load_cleaner(checkpoint, labels_only=True)
    rows = stored.answers_[stored.answers_["index"] == b["index"]]
    assert rows["annotator"].tolist() == ["alice", "bob", "carol"]
    assert stored.labels_[b["index"]] == int(given[b["index"]])
    np.testing.assert_allclose(stored.agreement_[b["index"]], 2 / 3)
    seen = earlier_answers(ReviewSession(checkpoint, X), [b["index"]])[b["index"]]
    assert [w for w, _ in seen["answers"]] == ["alice", "bob", "carol"]
    assert seen["consensus"] == given[b["index"]]


def test_independent_readers_see_the_given_label_not_the_working_one(three_reads):
    checkpoint, X, _ = three_reads
    session = ReviewSession(checkpoint, X)
    row = session.pending()[0]
    i, given = row["index"], row["current_label"]
    flipped = str((int(given) + 1) % 3)
    client = _client(session)
    _answer(client, i, flipped, "alice")  # the working label is now alice's
    html = client.get("/", query_string={"reviewer": "bob"}).get_data(as_text=True)
    card = _cards(html)[i]
    assert f'<dd class="current">{given}</dd>' in card and "Given label" in card
    _answer(client, i, str((int(given) + 2) % 3), "bob")
    html = client.get("/", query_string={"reviewer": "bob"}).get_data(as_text=True)
    answered = html.split('<div id="answered-items">')[1]
    assert f'data-index="{i}"' in answered
    assert f'<dd class="current">{given}</dd>' in answered
    assert f'<dd class="current">{flipped}</dd>' not in answered


def test_adjudication_needs_several_answers_per_sample(tmp_path):
    X, y = make_classification(60, n_features=4, n_classes=2, random_state=0)
    _ask_tell(tmp_path / "one", X, y, n_rounds=1)  # one expert
    with pytest.raises(ValueError, match="one answer per sample"):
        create_app(ReviewSession(tmp_path / "one", X), adjudicate=True)
    with pytest.raises(ValueError, match="one answer per sample"):
        ReviewServer(tmp_path / "one", X, port=0, adjudicate=True)
    # the command line's flag reaches the server (which gets the folder: the
    # refused server let it go)
    from noisyactive.cli._main import main

    np.savez(tmp_path / "train.npz", X=X)
    argv = ["review", str(tmp_path / "one"), "--data", str(tmp_path / "train.npz")]
    with pytest.raises(SystemExit, match="one answer per sample"):
        main([*argv, "--port", "0", "--adjudicate"])
