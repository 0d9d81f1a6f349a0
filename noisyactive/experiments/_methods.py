"""The paper's methods and baselines, built from one configuration."""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import f1_score, recall_score

from noisyactive.active import ActiveLabelCleaner
from noisyactive.classifiers import NetClassifier
from noisyactive.filtering import NoisyLabelFilter

__all__ = [
    "METHODS",
    "PrefitMask",
    "RecordingCleaner",
    "make_filter",
    "make_classifier",
]

# name -> (phase-1 variant or None, start, query strategy)
METHODS = {
    "al_random": (None, "none", "random"),
    "al_entropy": (None, "none", "entropy"),
    "ce_al_random": (None, "noisy", "random"),
    "ce_al_entropy": (None, "noisy", "entropy"),
    "alc_coteaching": ("ct", "alc", "label_cleaning"),
    "ct_entropy": ("ct", "filter", "entropy"),
    "ct_vog_random": ("ct_vog", "filter", "random"),
    "ct_vog_entropy": ("ct_vog", "filter", "entropy"),
    "ct_vog_coreset": ("ct_vog", "filter", "coreset"),
    "cq_entropy": ("cq", "filter", "entropy"),
    "cq_vog_entropy": ("cq_vog", "filter", "entropy"),
}

LABELS = {
    "al_random": "AL only (random)",
    "al_entropy": "AL only (entropy)",
    "ce_al_random": "CE + AL (random)",
    "ce_al_entropy": "CE + AL (entropy)",
    "alc_coteaching": "ALC w/ CT (Bernhardt et al.)",
    "ct_entropy": "CT + entropy",
    "ct_vog_random": "CT-VOG + random",
    "ct_vog_entropy": "CT-VOG + entropy",
    "ct_vog_coreset": "CT-VOG + coreset",
    "cq_entropy": "CT class-quota + entropy",
    "cq_vog_entropy": "CT class-quota VOG + entropy",
}

FILTER_VARIANTS = {
    "ct": dict(mix_ratio=0.0, selection="batch"),
    "ct_vog": dict(selection="batch"),  # mix ratio and normalisation from config
    "cq": dict(mix_ratio=0.0, selection="class_quota"),
    "cq_vog": dict(selection="class_quota"),
}


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


def make_filter(config, variant, seed, noise_rate):
    """A :class:`NoisyLabelFilter` for a phase-1 variant of the configuration."""
    params = dict(
        _net_params(config, seed),
        max_epochs=config.get("epochs", 30),
        num_gradual=config.get("num_gradual", 10),
        vog_window=config.get("vog_window", 5),
        mix_ratio=config.get("mix_ratio", 0.5),
        vog_normalize=config.get("vog_normalize", "class"),
    )
    params.update(FILTER_VARIANTS[variant])
    rate = config.get("forget_rate", "true")
    params["forget_rate"] = noise_rate if rate == "true" else rate
    return NoisyLabelFilter(**params)


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


class RecordingCleaner(ActiveLabelCleaner):
    """:class:`ActiveLabelCleaner` that also scores the classifier on a held-out
    test set after phase 1 and after every round (for curves, never for
    decisions)."""

    def __init__(self, test_data=None, **kwargs):
        super().__init__(**kwargs)
        self.test_data = test_data

    def _record_test(self):
        if self.test_data is None or self.classifier_ is None:
            return
        X_test, y_test = self.test_data
        row = evaluate(self.classifier_, X_test, y_test, self.classes_)
        row["labels_used"] = int(self.budget_used_)
        self.test_curve_.append(row)

    def _start_campaign(self, *args, **kwargs):
        self.test_curve_ = []
        super()._start_campaign(*args, **kwargs)
        self._record_test()

    def _finish_round(self, *args, **kwargs):
        super()._finish_round(*args, **kwargs)
        self._record_test()

    @classmethod
    def _get_param_names(cls):
        return sorted(set(ActiveLabelCleaner._get_param_names()) | {"test_data"})
