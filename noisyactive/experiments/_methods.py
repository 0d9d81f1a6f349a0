"""The paper's methods and baselines, built from one configuration."""

import copy
import time

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import f1_score, recall_score

from noisyactive.active import ActiveLabelCleaner
from noisyactive.classifiers import NetClassifier
from noisyactive.filtering import NoisyLabelFilter

__all__ = [
    "METHODS",
    "Method",
    "PrefitMask",
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
}

FILTER_VARIANTS = {
    "ct": dict(mix_ratio=0.0, selection="batch"),
    "ct_vog": dict(selection="batch"),  # mix ratio and normalisation from config
    "cq": dict(mix_ratio=0.0, selection="class_quota"),
    "cq_vog": dict(selection="class_quota"),
}


def vog_name(config):
    """``"CT-VOG (raw, m = 0.5)"``-style name of the VOG phase 1 of a config."""
    kind = "class-normalised" if config.get("vog_normalize", "class") else "raw"
    return f"VOG {kind}, m = {config.get('mix_ratio', 0.5):g}"


def method_label(method, config):
    """Display name saying which VOG (raw / class-normalised) and which m."""
    if method in _BASE_LABELS:
        return _BASE_LABELS[method]
    if method.startswith("ce_al_"):
        how = "fine-tuned" if config.get("refit") == "finetune" else "retrained"
        return f"CE + AL, {how} on all ({method.rsplit('_', 1)[1]})"
    phase1, _, strategy, _ = METHODS[method]
    family = "CT class-quota" if phase1.startswith("cq") else "CT"
    return f"{family} ({vog_name(config)}) + {strategy}"


def vog_off(config):
    """Whether ``config`` runs VOG at m = 0, where "CT-VOG" is plain Co-teaching."""
    return float(config.get("mix_ratio", 0.5)) == 0.0


def duplicate_methods(methods, config):
    """Methods identical to another requested one under ``config`` (dropped,
    not run): VOG at m = 0 is plain Co-teaching; CE + AL forced to the refit
    the configuration uses anyway is CE + AL."""
    same = {}
    forced = "ce_al_finetune_entropy" if config.get("refit") == "finetune" else None
    forced = forced or "ce_al_retrain_entropy"
    same[forced] = "ce_al_entropy"
    if vog_off(config):
        same.update(ct_vog_entropy="ct_entropy", cq_vog_entropy="cq_entropy")
    return {m: same[m] for m in methods if m in same and same[m] in methods}


def _net_params(config, seed):
    return dict(
        module=config.get("module", "small_cnn"),
        module_kwargs=config.get("module_kwargs"),
        weights=config.get("weights"),
        batch_size=config.get("batch_size", 64),
        lr=config.get("lr", 0.05),
        augment=config.get("augment", False),
        device=config.get("device", "auto"),
        random_state=seed,
    )


def make_filter(config, variant, seed, noise_rate, *, epochs=None, forget_rate=None):
    """A :class:`NoisyLabelFilter` for a phase-1 variant of the configuration.

    ``forget_rate`` in the config: ``"true"`` (the injected rate, an upper
    reference), ``"auto"`` (the filter's own estimate) or a number.
    """
    params = dict(
        _net_params(config, seed),
        max_epochs=epochs or config.get("epochs", 30),
        num_gradual=config.get("num_gradual", 10),
        vog_window=config.get("vog_window", 5),
        mix_ratio=config.get("mix_ratio", 0.5),
        vog_normalize=config.get("vog_normalize", "class"),
    )
    params.update(FILTER_VARIANTS[variant])
    rate = config.get("forget_rate", "auto")
    params["forget_rate"] = noise_rate if rate == "true" else rate
    if forget_rate is not None:
        params["forget_rate"] = forget_rate
    return NoisyLabelFilter(**params)


def warm_start(filt):
    """A ``module`` for the next :class:`NoisyLabelFilter` fit that starts from
    ``filt``'s two trained networks (a copy of each, in turn), so that fit
    fine-tunes Co-teaching instead of training it from scratch."""
    bodies = [copy.deepcopy(net.body).cpu() for net in filt.net_.ensemble()]
    built = []

    def trained_network(**kwargs):
        body = copy.deepcopy(bodies[len(built) % len(bodies)])
        built.append(body)
        return body

    return trained_network


def make_finetune_filter(config, seed, previous, forget_rate):
    """Co-teaching fine-tuned from ``previous`` for ``refit_epochs`` epochs at
    the classifier's fine-tune learning rate (lr / 10, constant) and a constant
    forget rate: the training budget every method gets per round."""
    filt = make_filter(
        config,
        "ct",
        seed,
        forget_rate,
        epochs=config.get("refit_epochs", 5),
        forget_rate=forget_rate,
    )
    return filt.set_params(
        module=warm_start(previous),
        lr=config.get("lr", 0.05) / 10,
        lr_schedule=None,
        num_gradual=0,
    )


def make_classifier(config, seed, epochs=None):
    """The plain cross-entropy classifier trained on the clean part."""
    return NetClassifier(
        **_net_params(config, seed),
        max_epochs=epochs or config.get("classifier_epochs", config.get("epochs", 30)),
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
        row["wall_s"] = time.perf_counter() - self._t0
        self.rows.append(row)


def make_cleaner(curve, **params):
    """An :class:`ActiveLabelCleaner` that reports to ``curve`` every round."""
    return ActiveLabelCleaner(on_round_end=curve, **params)
