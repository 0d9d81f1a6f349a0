"""The classifier as one more voter (``consensus="crowdlab"``): the pure
function on exact arrays, the votes a campaign records, its checkpoint."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import ActiveLabelCleaner, load_cleaner, simulated_annotators
from noisyactive.active._consensus import crowdlab
from noisyactive.active._files import read_state, write_state

# Annotator 2 agrees with the others only as often as answering the most
# common class would; sample 3 is a tie between annotators 0 and 2.
IDX = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
ANN = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 2]
LAB = [0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1]
PROBA = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4], [0.5, 0.5]])


def test_crowdlab_weights_and_posterior_exact():
    post, weight, model_weight = crowdlab(IDX, ANN, LAB, 5, 3, 2, PROBA)
    # majority [0, 1, 1, 0 (the model breaks the tie)]: the most common
    # class is right half the time, e0 = 0.5; agreement with the others:
    # annotator 0 (1 + 1/2 + 1 + 0) / 4, annotator 1 (1 + 1/2 + 1) / 3,
    # annotator 2 (1 + 0 + 1 + 0) / 4 -> weights 1 - e / e0
    np.testing.assert_allclose(weight, [0.25, 2 / 3, 1e-6])
    # the model agrees with the majority everywhere: 1 * sqrt(11 / 4 answers)
    assert model_weight == pytest.approx(np.sqrt(2.75))
    # an answer's likelihood: mean agreement with the majority, (1 + 2/3 + 1
    # + 1/2) / 4; sample 3 by hand
    likely = (1 + 2 / 3 + 1 + 1 / 2) / 4
    w0, w2, wm = 0.25, 1e-6, np.sqrt(2.75)
    c0 = w0 * likely + w2 * (1 - likely) + wm * 0.6
    c1 = w0 * (1 - likely) + w2 * likely + wm * 0.4
    np.testing.assert_allclose(post[3], np.array([c0, c1]) / (w0 + w2 + wm))
    np.testing.assert_array_equal(post[:4].argmax(1), [0, 1, 1, 0])
    assert np.isnan(post[4]).all()  # never answered: no consensus
    np.testing.assert_allclose(post[:4].sum(1), 1)


def test_crowdlab_without_model_votes_follows_the_weighted_answers():
    no_votes = np.full_like(PROBA, np.nan)
    post, weight, _ = crowdlab(IDX, ANN, LAB, 5, 3, 2, no_votes)
    # no tie-break by the model: sample 3 stays open and e0 = 1/3 (2 of the
    # 3 majorities are class 1); annotators 0 (agreement 0.625) and 2 (0.5)
    # do no better than that, annotator 1 (5/6) does
    np.testing.assert_allclose(weight, [1e-6, 1 - (1 / 6) / (1 / 3), 1e-6])
    np.testing.assert_allclose(post[3], [0.5, 0.5])  # two weightless answers
    np.testing.assert_array_equal(post[:3].argmax(1), [0, 1, 1])
    # a model that disagrees with every majority gets the floor weight
    wrong = np.array([[0.1, 0.9], [0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    _, _, model_weight = crowdlab(IDX, ANN, LAB, 5, 3, 2, wrong)
    assert model_weight == pytest.approx(1e-6 * np.sqrt(2.75))


def _data():
    X, y = make_classification(
        300, n_features=8, n_informative=5, n_classes=3, random_state=2
    )
    rng = np.random.default_rng(0)
    y_noisy = np.where(rng.random(y.size) < 0.3, (y + 1) % 3, y)
    return X, y, y_noisy


def _cleaner(y, **kwargs):
    params = dict(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        oracle=simulated_annotators(y, {"a": 0.9, "b": 0.8, "c": 0.65}, seed=0),
        start="noisy",
        batch_size=20,
        n_rounds=3,
        consensus="crowdlab",
        random_state=0,
    )
    return ActiveLabelCleaner(**{**params, **kwargs})


def test_campaign_records_the_model_votes_and_reopens(tmp_path):
    X, y, y_noisy = _data()
    cleaner = _cleaner(y, checkpoint=tmp_path).fit(X, y_noisy)
    state = cleaner.campaign_.state
    asked = np.unique(cleaner.answers_["index"])
    assert asked.size == 60 and cleaner.budget_used_ == 180
    votes = state.model_votes
    assert votes.shape == (300, 3)
    assert (
        np.isfinite(votes[asked]).all() and np.isnan(np.delete(votes, asked, 0)).all()
    )
    np.testing.assert_allclose(votes[asked].sum(1), 1)
    # the consensus is CROWDLAB's on those votes
    t = cleaner.answers_
    codes = np.searchsorted(["a", "b", "c"], t["annotator"])
    post, _, _ = crowdlab(t["index"], codes, t["label_code"], 300, 3, 3, votes)
    settled = np.isfinite(post[:, 0])
    np.testing.assert_array_equal(
        cleaner.labels_[settled], cleaner.classes_[post[settled].argmax(1)]
    )
    again = load_cleaner(tmp_path, labels_only=True)
    np.testing.assert_array_equal(again.labels_, cleaner.labels_)
    assert again.annotator_accuracy_ == cleaner.annotator_accuracy_
    # a format-3 checkpoint (no votes) opens; the model has not voted there
    header, arrays = read_state(tmp_path)
    assert header["format_version"] == 4
    header["format_version"] = 3
    del arrays["model_votes"]
    header["consensus"] = "dawid_skene"
    write_state(tmp_path, header, arrays)
    old = load_cleaner(tmp_path, labels_only=True)
    assert old.campaign_.state.model_votes.size == 0
    assert len(old.answers_) == 180


def test_damaged_model_votes_are_refused(tmp_path):
    from noisyactive.active import CheckpointCorruptedError

    X, y, y_noisy = _data()
    _cleaner(y, checkpoint=tmp_path, n_rounds=1).fit(X, y_noisy)
    header, arrays = read_state(tmp_path)
    arrays["model_votes"] = arrays["model_votes"][:, :2]
    write_state(tmp_path, header, arrays)
    with pytest.raises(CheckpointCorruptedError, match="model_votes has shape"):
        load_cleaner(tmp_path, labels_only=True)


def test_annotator_accuracy_is_the_agreement_with_the_consensus():
    X, y, y_noisy = _data()
    cleaner = _cleaner(y).fit(X, y_noisy)
    t = cleaner.answers_
    for name, estimate in cleaner.annotator_accuracy_.items():
        rows = t[t["annotator"] == name]
        consensus = cleaner.labels_[rows["index"]]
        assert estimate == pytest.approx((rows["label_code"] == consensus).mean())
    # and close to what each simulated annotator really did
    realized = {
        name: (
            t["label_code"][t["annotator"] == name]
            == y[t["index"][t["annotator"] == name]]
        ).mean()
        for name in ("a", "b", "c")
    }
    assert (
        max(abs(cleaner.annotator_accuracy_[k] - v) for k, v in realized.items()) < 0.1
    )


def test_model_votes_unchecked_without_answers_are_still_refused(tmp_path):
    # A crafted state with no answer table must not skip the votes' check.
    from noisyactive.active import CheckpointCorruptedError

    X, y, y_noisy = _data()
    _cleaner(y, checkpoint=tmp_path, n_rounds=1).fit(X, y_noisy)
    header, arrays = read_state(tmp_path)
    for key in [k for k in arrays if k.startswith("answers_")]:
        del arrays[key]
    arrays["model_votes"] = np.full(arrays["model_votes"].shape, 2.0)
    write_state(tmp_path, header, arrays)
    with pytest.raises(CheckpointCorruptedError, match="outside"):
        load_cleaner(tmp_path, labels_only=True)


def test_samples_answered_before_the_model_voted_get_no_vote():
    # A sample answered before the classifier voted on it (the audit, a
    # start="none" round) gets no vote later: the model has been trained on
    # its answer by then. Unanswered samples get theirs.
    from noisyactive.active._annotators import record_model_votes

    X, y, y_noisy = _data()
    cleaner = _cleaner(y, n_rounds=1).fit(X, y_noisy)
    state, answered = cleaner.campaign_.state, np.unique(cleaner.answers_["index"])
    fresh = np.setdiff1d(np.arange(300), answered)[:5]
    state.model_votes = np.full((300, 3), np.nan)
    both = np.r_[answered[:5], fresh]
    record_model_votes(state, both, np.full((10, 3), 1 / 3))
    assert np.isnan(state.model_votes[answered[:5]]).all()
    assert np.isfinite(state.model_votes[fresh]).all()
