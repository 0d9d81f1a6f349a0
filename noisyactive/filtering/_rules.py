"""Final-selection rules: scoring objects that turn the per-sample records of a
fitted :class:`~noisyactive.NoisyLabelFilter` into its ``clean_mask_``.

A rule has ``name``, ``needs`` (the extra recordings it reads during training)
and ``decide(ctx, quota)``, returning a :class:`~sklearn.utils.Bunch` with
``keep`` (bool mask), ``score`` (lower = more likely clean, or None) and
``columns`` (the scores behind the decision, for ``issue_table_``). With
``quota="class"`` a rule keeps, in every noisy class, the estimated number of
clean samples (``class_clean_counts_``) with the lowest score; otherwise its
own threshold decides.
"""

import numpy as np
from sklearn.utils import Bunch

from noisyactive.filtering._candidates import (
    class_loss_mixture,
    confident_joint_mask,
    keep_lowest,
    keep_per_class,
    knn_label_agreement,
    majority_vote,
    vog_within_loss_bands,
)
from noisyactive.filtering._quota import class_keep_quotas

__all__ = [
    "SELECTION_RULES",
    "SelectionContext",
    "ScoreRule",
    "CoTeachingRule",
    "LossRule",
    "VOGRule",
    "LossBandVOGRule",
    "LossMixtureRule",
    "KNNRule",
    "ConfidentJointRule",
    "VoteRule",
    "make_rule",
]


class SelectionContext:
    """The per-sample records a rule reads (arrays of length n).

    ``embeddings`` are computed on first use by ``embed()``.
    """

    #: The per-sample arrays (None when not recorded).
    ARRAYS = (
        "loss",
        "loss_per_net",
        "vog",
        "vog_predicted",
        "vog_eval",
        "selection_rate",
        "coteaching_mask",
        "proba",
        "oos_proba",
    )

    def __init__(
        self, *, labels, n_classes, clean_counts, forget_rate, embed=None, **arrays
    ):
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n_classes = int(n_classes)
        self.clean_counts = np.asarray(clean_counts, dtype=float)
        self.forget_rate = float(forget_rate)
        self._embed, self._embeddings = embed, None
        for name in self.ARRAYS:
            setattr(self, name, arrays.get(name))

    @property
    def embeddings(self):
        if self._embeddings is None:
            self._embeddings = np.asarray(self._embed())
        return self._embeddings

    @property
    def noisy_counts(self):
        return np.bincount(self.labels, minlength=self.n_classes)

    def quotas(self):
        """Per-class keep counts: the estimated clean counts (at least 1)."""
        return class_keep_quotas(self.noisy_counts, self.clean_counts, 1.0)

    def n_keep(self):
        """Global keep count ``n - round(n * forget_rate)``."""
        n = self.labels.shape[0]
        return n - int(round(n * self.forget_rate))


class ScoreRule:
    """A rule from one score: ``quota="class"`` keeps the per-class quotas of
    the lowest scores; otherwise :meth:`own_keep` (default: the
    ``n (1 - forget_rate)`` lowest scores)."""

    name = "score"
    needs = frozenset()

    def scores(self, ctx):
        """``(score, columns)``."""
        raise NotImplementedError

    def own_keep(self, ctx, score):
        return keep_lowest(score, ctx.n_keep())

    def decide(self, ctx, quota=None):
        score, columns = self.scores(ctx)
        if quota == "class":
            keep = keep_per_class(score, ctx.labels, ctx.quotas())
        else:
            keep = self.own_keep(ctx, score)
        return Bunch(keep=np.asarray(keep, bool), score=score, columns=columns)


class LossRule(ScoreRule):
    """Small loss: of both networks (``net=None``) or of network 0 or 1."""

    def __init__(self, net=None):
        self.net = net
        self.name = "loss" if net is None else f"loss_net{net + 1}"

    def scores(self, ctx):
        if self.net is None:
            return ctx.loss, {}
        score = ctx.loss_per_net[self.net]
        return score, {self.name: score}


class CoTeachingRule(LossRule):
    """The in-training Co-teaching selection of the last epoch (network 1);
    with ``quota="class"``, per-class small loss."""

    def __init__(self):
        super().__init__()
        self.name = "coteaching"

    def own_keep(self, ctx, score):
        return ctx.coteaching_mask


class VOGRule(ScoreRule):
    """Smallest VOG: ``source`` "label" (the paper's), "predicted" (of the
    predicted class's gradient) or "eval" (eval-mode, un-augmented pass)."""

    _ATTR = {"label": "vog", "predicted": "vog_predicted", "eval": "vog_eval"}

    def __init__(self, source="label"):
        self.source = source
        self.name = self._ATTR[source]
        self.needs = frozenset() if source == "label" else frozenset({self.name})

    def scores(self, ctx):
        score = getattr(ctx, self._ATTR[self.source])
        return score, ({} if self.source == "label" else {self.name: score})


class LossBandVOGRule(VOGRule):
    """VOG ranked within ``n_bands`` equal-count bands of the loss
    (:func:`~noisyactive.filtering.vog_within_loss_bands`)."""

    def __init__(self, n_bands=10, source="label"):
        super().__init__(source)
        self.n_bands = n_bands
        self.name = f"{self.name}_loss_bands"

    def scores(self, ctx):
        vog = getattr(ctx, self._ATTR[self.source])
        score = vog_within_loss_bands(ctx.loss, vog, self.n_bands)
        return score, {"band_rank": score}


class LossMixtureRule(ScoreRule):
    """Per-class two-Gaussian mixture on the loss with the estimated clean
    share as its weights (:func:`~noisyactive.filtering.class_loss_mixture`);
    kept when ``P(noisy) < 0.5``."""

    name = "gmm_loss"

    def scores(self, ctx):
        share = ctx.clean_counts / np.maximum(ctx.noisy_counts, 1)
        p = class_loss_mixture(ctx.loss, ctx.labels, share)
        return p, {"gmm_noisy_prob": p}

    def own_keep(self, ctx, score):
        return score < 0.5


class KNNRule(ScoreRule):
    """Label agreement among ``n_neighbors`` nearest neighbours in network 1's
    embedding (:func:`~noisyactive.filtering.knn_label_agreement`); kept when
    the given label is a plurality of the neighbours' labels."""

    name = "knn"

    def __init__(self, n_neighbors=10):
        self.n_neighbors = n_neighbors

    def scores(self, ctx):
        dis, agree, label = knn_label_agreement(
            ctx.embeddings, ctx.labels, self.n_neighbors, ctx.n_classes
        )
        return dis, {"knn_agreement": agree, "knn_label": label}

    def own_keep(self, ctx, score):
        return score <= 0


class ConfidentJointRule(ScoreRule):
    """cleanlab's ``find_label_issues(filter_by=...)`` keep mask on the
    out-of-sample probabilities of the cross-fit when it ran, else on the
    networks' (in-sample) probabilities; score ``1 - p(given label)``.
    Needs cleanlab."""

    def __init__(self, filter_by="confident_learning"):
        self.filter_by = filter_by
        self.name = (
            "confident_joint"
            if filter_by == "confident_learning"
            else f"cleanlab_{filter_by}"
        )

    def _probs(self, ctx):
        return ctx.proba if ctx.oos_proba is None else ctx.oos_proba

    def scores(self, ctx):
        probs = self._probs(ctx)
        p_given = probs[np.arange(ctx.labels.shape[0]), ctx.labels]
        return 1.0 - p_given, {"self_confidence": p_given}

    def own_keep(self, ctx, score):
        return confident_joint_mask(ctx.labels, self._probs(ctx), self.filter_by)


class VoteRule:
    """Majority vote (more than half) of member rules, each deciding with the
    same ``quota``; score: the share of members voting "noisy"."""

    def __init__(self, members, name="vote"):
        self.members = list(members)
        self.name = name

    @property
    def needs(self):
        return frozenset().union(*(m.needs for m in self.members))

    def decide(self, ctx, quota=None):
        columns, masks = {}, []
        for member in self.members:
            d = member.decide(ctx, quota)
            columns.update(d.columns)
            columns[f"vote_{member.name}"] = d.keep
            masks.append(d.keep)
        score = 1.0 - np.mean(masks, axis=0)
        return Bunch(keep=majority_vote(masks), score=score, columns=columns)


#: ``final_selection`` names and the rules they build.
SELECTION_RULES = {
    "coteaching": CoTeachingRule,
    "loss": LossRule,
    "vog": VOGRule,
    "vog_predicted": lambda: VOGRule("predicted"),
    "vog_eval": lambda: VOGRule("eval"),
    "vog_loss_bands": LossBandVOGRule,
    "gmm_loss": LossMixtureRule,
    "knn": KNNRule,
    "knn_vote": lambda: VoteRule(
        [LossRule(0), LossRule(1), KNNRule()], name="knn_vote"
    ),
    "confident_joint": ConfidentJointRule,
    "ensemble": lambda: VoteRule(
        [CoTeachingRule(), KNNRule(), ConfidentJointRule()], name="ensemble"
    ),
}


def resolve_final_selection(final_selection, selection, mix_ratio):
    """The ``final_selection`` that ``"auto"`` stands for: the per-class loss
    mixture (``"gmm_loss"``) in place of plain Co-teaching's small-loss mask
    (``selection="batch"``, ``mix_ratio=0``), the mask it beat on the
    benchmarks; None (Co-teaching's own mask) when a VOG mix or a class quota
    was asked for. Any other value is returned as it is.

    Examples
    --------
    >>> resolve_final_selection("auto", "batch", 0.0)
    'gmm_loss'
    >>> resolve_final_selection("auto", "batch", 0.3) is None
    True
    >>> resolve_final_selection("auto", "class_quota", 0.0) is None
    True
    >>> resolve_final_selection("knn", "class_quota", 0.5)
    'knn'
    """
    if not (isinstance(final_selection, str) and final_selection == "auto"):
        return final_selection
    plain = selection == "batch" and float(mix_ratio) == 0.0
    return "gmm_loss" if plain else None


def make_rule(spec):
    """The rule of a ``final_selection`` value: None (none), a name of
    :data:`SELECTION_RULES`, or an object with ``decide``.

    Examples
    --------
    >>> make_rule("gmm_loss").name, make_rule(None)
    ('gmm_loss', None)
    """
    if spec is None or hasattr(spec, "decide"):
        return spec
    return SELECTION_RULES[spec]()
