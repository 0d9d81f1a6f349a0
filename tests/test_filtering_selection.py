"""Final-selection candidates on tiny exact arrays, and the filter's issue table."""

import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from noisyactive import NoisyLabelFilter
from noisyactive.datasets import inject_label_noise
from noisyactive.filtering import (
    SELECTION_RULES,
    ConfidentJointRule,
    CoTeachingRule,
    KNNRule,
    LossBandVOGRule,
    LossMixtureRule,
    LossRule,
    SelectionContext,
    VOGRule,
    VoteRule,
    class_loss_mixture,
    confident_joint_mask,
    keep_lowest,
    keep_per_class,
    knn_label_agreement,
    majority_vote,
    predicted_class_vog_gradients,
    vog_gradients,
    vog_within_loss_bands,
)
from noisyactive.filtering._final import issue_table

# --- pure functions ---------------------------------------------------------------


def test_predicted_class_vog_is_label_vog_of_the_argmax():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 3.0]])
    h = torch.tensor([[1.0, -2.0], [0.5, 4.0]])
    got = predicted_class_vog_gradients(logits, h)
    assert torch.allclose(got, vog_gradients(logits, h, torch.tensor([0, 2])))
    p = torch.softmax(logits, 1).max(1).values
    assert torch.allclose(got[:, 0], p - 1)
    assert torch.allclose(got[:, 1:], (p - 1)[:, None] * h)


def test_vog_within_loss_bands_exact():
    loss = [0.4, 0.1, 0.3, 0.2, 0.9, 0.8]
    vog = [0.0, 5.0, 1.0, 2.0, 0.1, 0.2]
    # bands of 2 by loss: {1, 3}, {2, 0}, {5, 4}; inside, ascending VOG.
    order = [3, 1, 0, 2, 4, 5]
    expected = np.empty(6)
    expected[order] = np.arange(6) / 6
    np.testing.assert_array_equal(vog_within_loss_bands(loss, vog, 3), expected)
    # One band: plain VOG order. NaN VOG: plain loss order.
    np.testing.assert_array_equal(
        vog_within_loss_bands(loss, vog, 1), np.array([0, 5, 3, 4, 1, 2]) / 6
    )
    nan = vog_within_loss_bands(loss, [np.nan] * 6, 1)
    np.testing.assert_array_equal(nan, np.array([3, 0, 2, 1, 5, 4]) / 6)


def test_class_loss_mixture_exact_and_monotone():
    loss = [0.01, 0.012, 0.011, 2.0, 2.5, 0.3, 0.3]
    labels = [0, 0, 0, 0, 0, 1, 1]
    p = class_loss_mixture(loss, labels, [0.6, 0.5])
    np.testing.assert_allclose(p, [0, 0, 0, 1, 1, 0.5, 0.5], atol=1e-6)
    rng = np.random.default_rng(0)
    loss = np.r_[rng.lognormal(-3, 1.0, 60), rng.lognormal(1, 0.2, 40)]
    p = class_loss_mixture(loss, np.zeros(100, int), [0.6])
    order = np.argsort(loss)
    assert (np.diff(p[order]) >= 0).all()  # never more noisy for a smaller loss
    assert (p[:60] < 0.5).mean() > 0.95 and (p[60:] > 0.5).all()


def test_knn_label_agreement_exact_and_duplicates():
    emb = [[1, 0], [1, 0.1], [1, 0.2], [0, 1], [0.1, 1], [0.2, 1]]
    dis, agree, label = knn_label_agreement(emb, [0, 0, 1, 1, 1, 1], 2)
    assert dis.tolist() == [0.0, 0.0, 1.0, -1.0, -1.0, -1.0]
    assert agree.tolist() == [0.5, 0.5, 0.0, 1.0, 1.0, 1.0]
    assert label.tolist() == [0, 0, 0, 1, 1, 1]
    # Exact duplicates: a sample is never counted as its own neighbour.
    dis, agree, _ = knn_label_agreement(
        [[1, 0]] * 3 + [[0, 1]] * 3, [0] * 3 + [1] * 3, 2
    )
    assert agree.tolist() == [1.0] * 6


def test_keep_helpers_and_vote():
    assert keep_lowest([0.3, np.nan, 0.2, 0.1], 3).tolist() == [True, False, True, True]
    assert keep_per_class([3, 1, 2, 9, 8], [0, 0, 0, 1, 1], [1, 2]).tolist() == [
        False,
        True,
        False,
        True,
        True,
    ]
    assert majority_vote([[1, 0], [1, 1]]).tolist() == [True, False]  # 1 of 2: not kept


def test_confident_joint_mask_tiny():
    pytest.importorskip("cleanlab")
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    probs = np.array([[0.9, 0.1]] * 3 + [[0.05, 0.95]] + [[0.1, 0.9]] * 4)
    assert (
        confident_joint_mask(labels, probs).tolist()
        == [True] * 3 + [False] + [True] * 4
    )


def test_confident_joint_without_cleanlab(monkeypatch):
    monkeypatch.setitem(sys.modules, "cleanlab", None)
    monkeypatch.setitem(sys.modules, "cleanlab.filter", None)
    with pytest.raises(ImportError, match="pip install cleanlab"):
        confident_joint_mask([0, 1], [[0.9, 0.1], [0.1, 0.9]])


# --- rules on a hand-made context ------------------------------------------------


@pytest.fixture
def ctx():
    labels = np.array([0, 0, 0, 0, 1, 1])
    return SelectionContext(
        labels=labels,
        n_classes=2,
        clean_counts=np.array([2.0, 1.0]),
        forget_rate=0.5,
        embed=lambda: np.array([[1, 0], [1, 0.1], [0, 1], [1, 0.2], [0, 1], [0.1, 1]]),
        loss=np.array([0.1, 0.2, 3.0, 0.3, 0.5, 0.4]),
        loss_per_net=np.array(
            [[0.1, 0.2, 3.0, 0.3, 0.5, 0.4], [0.5, 0.1, 0.2, 4, 3, 2]]
        ),
        vog=np.array([0.3, 0.2, 0.0, 0.1, 0.5, 0.4]),
        coteaching_mask=np.array([True, True, False, False, False, True]),
        proba=np.array(
            [[0.9, 0.1]] * 2 + [[0.2, 0.8]] + [[0.9, 0.1]] + [[0.3, 0.7]] * 2
        ),
    )


def test_score_rules_global_and_class_quota(ctx):
    assert LossRule().decide(ctx).keep.tolist() == [1, 1, 0, 1, 0, 0]
    # Per class: 2 of class 0, 1 of class 1.
    assert LossRule().decide(ctx, "class").keep.tolist() == [1, 1, 0, 0, 0, 1]
    assert LossRule(1).decide(ctx).keep.tolist() == [1, 1, 1, 0, 0, 0]
    assert CoTeachingRule().decide(ctx).keep.tolist() == ctx.coteaching_mask.tolist()
    assert VOGRule().decide(ctx).keep.tolist() == [0, 1, 1, 1, 0, 0]
    band = LossBandVOGRule(n_bands=2).decide(ctx)
    assert band.keep.tolist() == [1, 1, 0, 1, 0, 0]  # the misfit 2 stays out
    assert VOGRule("eval").needs == {"vog_eval"}


def test_mixture_knn_cleanlab_and_vote_rules(ctx):
    gmm = LossMixtureRule().decide(ctx)
    assert gmm.keep.tolist() == [True, True, False, True, False, False]
    knn = KNNRule(n_neighbors=2).decide(ctx)
    assert knn.keep.tolist() == [True, True, False, True, True, True]
    assert knn.columns["knn_label"].tolist() == [0, 0, 1, 0, 1, 1]
    cj = ConfidentJointRule()
    np.testing.assert_allclose(cj.scores(ctx)[0], [0.1, 0.1, 0.8, 0.1, 0.3, 0.3])
    vote = VoteRule([LossRule(0), LossRule(1), KNNRule(n_neighbors=2)]).decide(ctx)
    assert vote.keep.tolist() == [True, True, False, True, False, False]
    assert {"vote_loss_net1", "vote_loss_net2", "vote_knn"} <= set(vote.columns)
    np.testing.assert_allclose(vote.score, [0, 0, 2 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_issue_table_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    table = issue_table({"a": [1, 2], "kept": [True, False]})
    assert isinstance(table, dict) and table["kept"].tolist() == [True, False]


# --- the filter ---------------------------------------------------------------------

FIT = dict(
    module_kwargs={"hidden_sizes": (32,)},
    forget_rate=0.3,
    num_gradual=2,
    vog_window=2,
    max_epochs=6,
    lr=0.1,
    batch_size=64,
    random_state=0,
)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        300, 10, n_informative=6, n_classes=3, class_sep=2.0, random_state=0
    )
    y_noisy, flipped = inject_label_noise(y, 0.3, random_state=0, return_mask=True)
    return X.astype(np.float32), np.array(["a", "b", "c"])[y_noisy], flipped


@pytest.fixture(scope="module")
def recorded(data):
    X, y, _ = data
    rule = VoteRule([VOGRule("predicted"), VOGRule("eval")])
    return NoisyLabelFilter(final_selection=rule, **FIT).fit(X, y)


def test_coteaching_issue_table_columns_and_kept(data):
    X, y, _ = data
    f = NoisyLabelFilter(final_selection=None, **FIT).fit(X, y)
    t = f.issue_table_
    assert list(t.columns) == [
        "given_label",
        "suggested_label",
        "loss",
        "vog",
        "selection_rate",
        "kept",
    ]
    assert len(t) == len(y) and (t["given_label"].to_numpy() == y).all()
    assert (t["kept"].to_numpy() == f.clean_mask_).all()
    assert (t["suggested_label"].to_numpy() == f.predict(X)).all()


def test_default_is_the_loss_mixture_for_plain_coteaching_only(data):
    """``final_selection="auto"``: the per-class loss mixture decides the mask
    of plain Co-teaching (its P(noisy) < 0.5, with the Co-teaching mask kept
    beside it in the table); a VOG mix keeps its own mask."""
    X, y, _ = data
    f = NoisyLabelFilter(**FIT).fit(X, y)
    t = f.issue_table_
    for column in ("gmm_noisy_prob", "selection_score", "coteaching_kept"):
        assert column in t
    np.testing.assert_array_equal(f.clean_mask_, t["gmm_noisy_prob"].to_numpy() < 0.5)
    np.testing.assert_array_equal(t["kept"].to_numpy(), f.clean_mask_)
    keep, _ = f.rescore(X, "gmm_loss")
    np.testing.assert_array_equal(keep, f.clean_mask_)
    coteaching, _ = f.rescore(X, None)
    np.testing.assert_array_equal(coteaching, t["coteaching_kept"].to_numpy())

    vog = NoisyLabelFilter(**dict(FIT, mix_ratio=0.5)).fit(X, y)
    assert "gmm_noisy_prob" not in vog.issue_table_


def test_recordings_leave_training_unchanged(data, recorded):
    X, y, _ = data
    plain = NoisyLabelFilter(final_selection=None, **FIT).fit(X, y)
    t = recorded.issue_table_
    assert (t["coteaching_kept"].to_numpy() == plain.clean_mask_).all()
    np.testing.assert_array_equal(recorded.loss_scores_, plain.loss_scores_)
    assert np.isfinite(t["vog_predicted"]).all() and np.isfinite(t["vog_eval"]).all()
    assert recorded.vog_buffer_nbytes_ == 2 * plain.vog_buffer_nbytes_


@pytest.mark.parametrize("name", sorted(SELECTION_RULES))
@pytest.mark.parametrize("quota", [None, "class"])
def test_every_rule_through_rescore(data, recorded, name, quota):
    if name in ("confident_joint", "ensemble"):
        pytest.importorskip("cleanlab")
    X, y, flipped = data
    keep, table = recorded.rescore(X, name, final_quota=quota)
    assert keep.dtype == bool and keep.shape == (len(y),)
    assert (table["kept"].to_numpy() == keep).all()
    assert "selection_score" in table and (~flipped)[keep].mean() > 0.6
    if quota == "class" and not name.endswith(("vote", "ensemble")):
        np.testing.assert_array_equal(
            np.bincount(np.unique(y, return_inverse=True)[1][keep]),
            np.floor(recorded.class_clean_counts_ + 1e-9),
        )


def test_final_selection_sets_clean_mask(data, recorded):
    X, y, _ = data
    f = NoisyLabelFilter(final_selection="gmm_loss", final_quota="class", **FIT)
    f.fit(X, y)
    keep, _ = recorded.rescore(X, "gmm_loss", final_quota="class")
    assert (f.clean_mask_ == keep).all()
    assert (f.issue_table_["kept"].to_numpy() == f.clean_mask_).all()
    with pytest.raises(ValueError, match="vog_eval"):
        f.rescore(X, "vog_eval")
    with pytest.raises(ValueError, match="training data"):
        f.rescore(X[:10], "loss")
