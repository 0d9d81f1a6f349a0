"""The paper's methods and baselines, built from one configuration."""

import copy
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import f1_score, recall_score

from noisyactive.active import ActiveLabelCleaner
from noisyactive.active._state import refine_noise_rates
from noisyactive.config._models import make_classifier, make_filter
from noisyactive.config._schema import as_config
from noisyactive.filtering import ConfidentJointRule

__all__ = [
    "ALCCoTeaching",
    "ALCTrainer",
    "AuditedCoTeaching",
    "AUDIT_SHARE",
    "METHODS",
    "Method",
    "RESCORED_VARIANTS",
    "PrefitMask",
    "RecordingOracle",
    "TestCurve",
    "make_cleaner",
    "make_filter",
    "make_classifier",
    "method_label",
]


class Method(tuple):
    """``(phase1, start, strategy, refit)``: the phase-1 variant (None: no
    filter), the cleaner's ``start``, the query strategy and a forced
    ``refit`` (None: the configuration's)."""

    def __new__(cls, phase1, start, strategy, refit=None):
        return super().__new__(cls, (phase1, start, strategy, refit))


METHODS = {
    "al_random": Method(None, "none", "random"),
    "al_entropy": Method(None, "none", "entropy"),
    # CE + AL (the paper's): the noisy-trained net trained on, each round, all
    # data with the current labels, refit as the configuration says; the
    # "finetune" / "retrain" variants force one way (duplicates are dropped).
    "ce_al_random": Method(None, "noisy", "random"),
    "ce_al_entropy": Method(None, "noisy", "entropy"),
    "ce_al_finetune_entropy": Method(None, "noisy", "entropy", "finetune"),
    "ce_al_retrain_entropy": Method(None, "noisy", "entropy", "scratch"),
    "alc_coteaching": Method("ct", "alc", "label_cleaning_ambiguity"),
    "cleanlab_entropy": Method("cleanlab", "filter", "entropy"),
    "ct_entropy": Method("ct", "filter", "entropy"),
    "ct_vog_random": Method("ct_vog", "filter", "random"),
    "ct_vog_entropy": Method("ct_vog", "filter", "entropy"),
    "ct_vog_coreset": Method("ct_vog", "filter", "coreset"),
    "cq_entropy": Method("cq", "filter", "entropy"),
    "cq_vog_entropy": Method("cq_vog", "filter", "entropy"),
    # Issue 27's candidates: plain Co-teaching's fit, another final selection.
    "ct_knn_entropy": Method("ct_knn", "filter", "entropy"),
    "ct_gmm_entropy": Method("ct_gmm", "filter", "entropy"),
    "ct_cj_entropy": Method("ct_cj", "filter", "entropy"),
    # Issue 25: Co-teaching refit at the rate (global and per class) its
    # estimate combined with an audit of one round's budget gives; the audit
    # replaces the first round, so the budget is every method's.
    "ct_audit_entropy": Method("ct", "audit", "entropy"),
    # ... and its fits' clean sets chosen by the per-class loss mixture, whose
    # prior is then the audited clean counts.
    "ct_audit_gmm_entropy": Method("ct_gmm", "audit", "entropy"),
    # Each round spends AUDIT_SHARE of its batch on kept samples (the cleaner's
    # ``audit_share``): the loss mixture keeps more wrong labels than
    # Co-teaching, which the rejected-only rounds never see.
    "ct_share_entropy": Method("ct", "filter", "entropy"),
    "ct_gmm_share_entropy": Method("ct_gmm", "filter", "entropy"),
}

#: Methods whose rounds also audit kept samples: method -> ``audit_share``.
AUDIT_SHARE = {"ct_share_entropy": 0.3, "ct_gmm_share_entropy": 0.3}

#: Phase-1 variants that are the ``"ct"`` variant's fit with another final
#: selection (:meth:`~noisyactive.NoisyLabelFilter.rescore`, no second
#: training): variant -> a ``final_selection`` value.
RESCORED_VARIANTS = {
    "ct_knn": "knn",
    "ct_gmm": "gmm_loss",
    "ct_cj": ConfidentJointRule("prune_by_class"),
}

_BASE_LABELS = {
    "al_random": "AL only (random)",
    "al_entropy": "AL only (entropy)",
    "ce_al_finetune_entropy": "CE + AL, fine-tuned on all (entropy)",
    "ce_al_retrain_entropy": "CE + AL, retrained on all (entropy)",
    "alc_coteaching": "ALC w/ CT (Bernhardt et al. score)",
    "cleanlab_entropy": "cleanlab prune_by_class + entropy",
    "ct_entropy": "CT (m = 0) + entropy",
    "cq_entropy": "CT class-quota (m = 0) + entropy",
    "ct_knn_entropy": "CT (m = 0), kNN label agreement + entropy",
    "ct_gmm_entropy": "CT (m = 0), per-class loss mixture + entropy",
    "ct_cj_entropy": "CT (m = 0), cleanlab prune_by_class on its cross-fit + entropy",
    "ct_audit_entropy": "CT (m = 0) refit at the audited rate + entropy",
    "ct_audit_gmm_entropy": (
        "CT (m = 0) refit at the audited rate, per-class loss mixture + entropy"
    ),
    "ct_share_entropy": "CT (m = 0) + entropy, 30 % of each round on kept samples",
    "ct_gmm_share_entropy": (
        "CT (m = 0), per-class loss mixture + entropy, 30 % of each round on kept "
        "samples"
    ),
}


def vog_name(config):
    """``"CT-VOG (raw, m = 0.5)"``-style name of the VOG phase 1 of a config."""
    config = as_config(config)
    kind = "class-normalised" if config.vog_normalize else "raw"
    return f"VOG {kind}, m = {config.mix_ratio:g}"


def method_label(method, config):
    """Display name saying which VOG (raw / class-normalised) and which m."""
    if method in _BASE_LABELS:
        return _BASE_LABELS[method]
    config = as_config(config)
    if method.startswith("ce_al_"):
        how = "fine-tuned" if config.refit == "finetune" else "retrained"
        return f"CE + AL, {how} on all ({method.rsplit('_', 1)[1]})"
    phase1, _, strategy, _ = METHODS[method]
    family = "CT class-quota" if phase1.startswith("cq") else "CT"
    return f"{family} ({vog_name(config)}) + {strategy}"


def vog_off(config):
    """Whether ``config`` runs VOG at m = 0, where "CT-VOG" is plain Co-teaching."""
    return float(as_config(config).mix_ratio) == 0.0


def duplicate_methods(methods, config):
    """Methods identical to another requested one under ``config`` (dropped,
    not run): VOG at m = 0 is plain Co-teaching; CE + AL forced to the refit
    the configuration uses anyway is CE + AL."""
    config = as_config(config)
    same = {}
    if config.refit == "finetune":
        forced = "ce_al_finetune_entropy"
    else:
        forced = "ce_al_retrain_entropy"
    same[forced] = "ce_al_entropy"
    if vog_off(config):
        same.update(ct_vog_entropy="ct_entropy", cq_vog_entropy="cq_entropy")
    return {m: same[m] for m in methods if m in same and same[m] in methods}


def make_finetune_filter(config, seed, previous, forget_rate):
    """Co-teaching fine-tuned from ``previous``'s two networks (``warm_start``)
    for ``refit_epochs`` epochs at the classifier's fine-tune learning rate
    (lr / 10, constant) and a constant forget rate: the training budget every
    method gets per round."""
    config = as_config(config)
    filt = make_filter(
        config,
        "ct",
        seed,
        forget_rate,
        epochs=config.refit_epochs,
        forget_rate=forget_rate,
    )
    filt.set_params(lr=config.lr / 10, lr_schedule=None, num_gradual=0)
    return copy.deepcopy(previous).set_params(
        **{**filt.get_params(deep=False), "warm_start": True}
    )


class PrefitMask(BaseEstimator):
    """Phase-1 stand-in that returns a clean mask computed beforehand, so methods
    sharing one phase-1 fit do not train it again."""

    def __init__(self, clean_mask=None, classifier=None):
        self.clean_mask = clean_mask
        self.classifier = classifier

    def fit(self, X, y, **fit_params):
        self.clean_mask_ = np.asarray(self.clean_mask, dtype=bool)
        self.classes_ = np.unique(y)
        return self

    def _make_classifier(self):
        return clone(self.classifier)


def evaluate(classifier, X_test, y_test, classes):
    pred = classifier.predict(X_test)
    return {
        "macro_f1": float(f1_score(y_test, pred, average="macro", zero_division=0)),
        "recall_per_class": recall_score(
            y_test, pred, labels=classes, average=None, zero_division=0
        ).tolist(),
    }


class TestCurve:
    """``on_round_end`` callback: test macro-F1 of the cleaner's classifier after
    round 0 and after every round (for curves, never for decisions)."""

    __test__ = False  # not a pytest class

    def __init__(self, X_test, y_test, classes):
        self.X_test, self.y_test, self.classes = X_test, y_test, classes
        self.rows, self._t0 = [], time.perf_counter()

    def __call__(self, cleaner, record=None):
        if cleaner.classifier_ is None:  # AL only before its first answers
            return
        row = evaluate(cleaner.classifier_, self.X_test, self.y_test, self.classes)
        row["labels_used"] = int(cleaner.budget_used_)
        if hasattr(cleaner.classifier_, "forget_rate_"):  # ALC's Co-teaching
            row["forget_rate"] = cleaner.classifier_.forget_rate_
        row["wall_s"] = time.perf_counter() - self._t0
        self.rows.append(row)


def make_cleaner(curve, **params):
    """An :class:`ActiveLabelCleaner` that reports to ``curve`` every round;
    its rounds are the paper's (``audit_share=0``: only rejected samples are
    asked) unless ``audit_share`` is given (``AUDIT_SHARE``)."""
    params.setdefault("audit_share", 0.0)
    return ActiveLabelCleaner(on_round_end=curve, **params)


class RecordingOracle:
    """An oracle that remembers every id it was asked (ALC's answered set)."""

    def __init__(self, oracle):
        self.oracle, self.asked = oracle, []

    def __call__(self, ids, X_subset):
        self.asked.extend(int(i) for i in ids)
        return self.oracle(ids, X_subset)


class _Shared:
    """Holds an object that clones and deep copies share (a fitted filter)."""

    def __init__(self, value):
        self.value = value

    def __deepcopy__(self, memo):
        return self


class AuditedCoTeaching(BaseEstimator):
    """Phase 1 of ``ct_audit_entropy`` inside :class:`ActiveLabelCleaner`:
    its first fit (``forget_rate="auto"``) is plain Co-teaching's fit
    ``first`` (shared, not trained again); after the audit the cleaner sets
    ``forget_rate`` and ``transition_matrix`` (the audited rates) and the
    fit trains Co-teaching anew with them. ``final_selection`` (e.g.
    ``"gmm_loss"``) decides both fits' clean sets: the first by
    :meth:`~noisyactive.NoisyLabelFilter.rescore`."""

    def __init__(
        self,
        first=None,
        config=None,
        seed=0,
        forget_rate="auto",
        transition_matrix=None,
        final_selection=None,
    ):
        self.first = first
        self.config = config
        self.seed = seed
        self.forget_rate = forget_rate
        self.transition_matrix = transition_matrix
        self.final_selection = final_selection

    @classmethod
    def around(cls, first, config, seed, final_selection=None):
        """The estimator whose first fit is the fitted filter ``first``."""
        return cls(_Shared(first), config, seed, final_selection=final_selection)

    def fit(self, X, y, X_val=None, y_val=None):
        if self.forget_rate == "auto":
            self.filter_ = self.first.value
            mask = self.filter_.clean_mask_
            if self.final_selection is not None:
                mask, _ = self.filter_.rescore(X, self.final_selection)
        else:
            rate = self.forget_rate
            filt = make_filter(self.config, "ct", self.seed, rate, forget_rate=rate)
            filt.set_params(
                transition_matrix=self.transition_matrix,
                final_selection=self.final_selection,
            )
            self.filter_ = filt.fit(X, y, X_val=X_val, y_val=y_val)
            mask = self.filter_.clean_mask_
        for name in ("classes_", "forget_rate_", "class_noise_rates_"):
            setattr(self, name, getattr(self.filter_, name))
        self.clean_mask_ = np.asarray(mask, dtype=bool)
        self.noise_estimate_ = self.filter_.noise_estimate_
        return self


class ALCTrainer:
    """Co-teaching as ALC trains it each round (Bernhardt et al. 2022, as the
    paper adapts it): round 0 is phase 1's fit ``first``; later rounds lower the
    forget rate to the share of labels still wrong (the original noise rate as
    :func:`~noisyactive.active._state.refine_noise_rates` refines it from the
    answers, phase 1's rates as the prior, minus the labels changed so far) and
    train Co-teaching on all samples with their current labels for the same
    epochs as every method (``refit="finetune"``: the previous networks for
    ``refit_epochs``; ``"scratch"``: anew for ``epochs``).

    Shared, not copied, by the clones the cleaner makes of
    :class:`ALCCoTeaching` (it carries the previous round's networks).
    """

    def __init__(self, config, seed, first, y_noisy, y_true, classes, oracle):
        self.config, self.seed, self.first = as_config(config), seed, first
        self.classes = np.asarray(classes)
        self.y_enc = np.searchsorted(self.classes, y_noisy)
        self.true_enc = np.searchsorted(self.classes, y_true)
        self.oracle, self.previous = oracle, None

    def __deepcopy__(self, memo):
        return self

    def __call__(self, X, y, X_val=None, y_val=None):
        if self.previous is None:  # round 0: phase 1's Co-teaching
            self.previous = self.first
            return self.first
        answered = np.unique(np.asarray(self.oracle.asked, dtype=int))
        changed = int((self.y_enc[answered] != self.true_enc[answered]).sum())
        rate0 = float(self.first.forget_rate_)
        original, _ = refine_noise_rates(
            self.y_enc,
            answered,
            self.true_enc[answered],
            self.first.clean_mask_,
            len(self.classes),
            prior=getattr(self.first, "class_noise_rates_", rate0),
        )
        rate = max(0.0, original - changed / len(self.y_enc))
        if self.config.refit == "finetune":
            nxt = make_finetune_filter(self.config, self.seed, self.previous, rate)
        else:
            nxt = make_filter(self.config, "ct", self.seed, rate, forget_rate=rate)
        self.previous = nxt.fit(X, y, X_val=X_val, y_val=y_val)
        return self.previous


class ALCCoTeaching(ClassifierMixin, BaseEstimator):
    """The "classifier" of the ALC baseline inside :class:`ActiveLabelCleaner`:
    each fit asks ``trainer`` (an :class:`ALCTrainer`) for this round's
    Co-teaching filter, whose predictions rank the next round."""

    def __init__(self, trainer=None):
        self.trainer = trainer

    def fit(self, X, y, X_val=None, y_val=None):
        self.filter_ = self.trainer(X, y, X_val, y_val)
        self.classes_ = self.filter_.classes_
        self.forget_rate_ = float(self.filter_.forget_rate_)
        return self

    def predict_proba(self, X):
        return self.filter_.predict_proba(X)

    def predict(self, X):
        return self.filter_.predict(X)
