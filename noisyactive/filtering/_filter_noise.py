"""The noise-rate estimate of :class:`~noisyactive.NoisyLabelFilter` (a mixin)."""

import sys
import warnings

from noisyactive.base import NETWORK_PARAMS
from noisyactive.classifiers import NetClassifier
from noisyactive.filtering._noise_cross_fit import CrossFitNoiseEstimator
from noisyactive.filtering._noise_estimator import (
    as_noise_bunch,
    check_cross_fit_counts,
)

__all__ = ["NoiseEstimateMixin"]


class NoiseEstimateMixin:
    """How ``forget_rate="auto"`` is estimated (``noise_estimator``)."""

    def _estimates_in_warmup(self):
        return (
            isinstance(self.noise_estimator, str)
            and self.noise_estimator == "loss_mixture"
        )

    def _check_cross_fit_counts(self, y_enc):
        if isinstance(self.noise_estimator, str):  # an object checks its input
            check_cross_fit_counts(y_enc, self.classes_)

    def _noise_estimator_object(self):
        """The object whose ``estimate(X, y)`` runs before training."""
        if not isinstance(self.noise_estimator, str):
            return self.noise_estimator
        epochs = max(1, self.max_epochs // 2)
        clf = self._make_classifier().set_params(
            max_epochs=epochs, verbose=self.verbose
        )
        estimator = CrossFitNoiseEstimator(clf, random_state=self.random_state)
        if self.verbose:  # minutes before phase 1's first epoch on a CPU
            fits = estimator.n_repeats * estimator.n_splits
            print(
                f"{type(self).__name__}: estimating the noise rate "
                f"(forget_rate='auto'): {fits} classifiers of {epochs} epoch(s), "
                "each on part of the data, before phase 1 trains",
                file=sys.stderr,
                flush=True,
            )
        return estimator

    def _estimate_noise(self, X, y_enc):
        """The pre-training estimate of ``forget_rate="auto"`` (cross-fitted
        with this filter's network at half its epochs, before it memorises the
        noisy labels of its half, or the user's ``noise_estimator``), as a
        Bunch; its warnings are emitted at the caller of fit."""
        estimator = self._noise_estimator_object()
        noise = as_noise_bunch(estimator.estimate(X, y_enc), len(self.classes_))
        if isinstance(self.noise_estimator, str):
            noise.method = self.noise_estimator
        else:
            noise.method = type(self.noise_estimator).__name__
        for message in noise.warnings:  # attributed to the caller of fit
            warnings.warn(message, UserWarning, stacklevel=4)
        return noise

    def _make_classifier(self):
        """An unfitted plain cross-entropy classifier of the same network family
        (what :class:`~noisyactive.ActiveLabelCleaner` trains by default)."""
        return NetClassifier(**{name: getattr(self, name) for name in NETWORK_PARAMS})
