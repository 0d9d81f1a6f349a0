"""Training helpers of a campaign: seeding, fitting with validation data, the
phase-1 noise rates and the validation macro-F1."""

import contextlib
import inspect
import sys

from sklearn.metrics import f1_score

__all__ = [
    "fit_maybe_with_validation",
    "macro_f1",
    "phase1_rates",
    "seed_if_unset",
    "torch_seeded",
]


def seed_if_unset(estimator, seed):
    # A sub-estimator left at random_state=None would make two runs (or a run
    # and its resumption) differ; the cleaner's seed decides instead.
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=seed)
    return estimator


def fit_maybe_with_validation(estimator, X, y, validation):
    accepts = "X_val" in inspect.signature(estimator.fit).parameters
    if validation is not None and accepts:
        return estimator.fit(X, y, X_val=validation[0], y_val=validation[1])
    return estimator.fit(X, y)


@contextlib.contextmanager
def torch_seeded(seed):
    """Global torch RNG (dropout) seeded per training, then put back."""
    if "torch" not in sys.modules:
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def phase1_rates(estimator, classes):
    rates = getattr(estimator, "class_noise_rates_", None)
    if rates is not None and len(rates) == len(classes):
        return [float(r) for r in rates]
    rate = getattr(estimator, "forget_rate_", None)
    return None if rate is None else [float(rate)] * len(classes)


def macro_f1(classifier, validation):
    pred = classifier.predict(validation[0])
    return float(f1_score(validation[1], pred, average="macro", zero_division=0))
