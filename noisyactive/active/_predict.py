"""Prediction with a cleaner's classifier (a mixin of ``ActiveLabelCleaner``)."""

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from noisyactive.active._checks import check_input, classifier_has
from noisyactive.active._ranking import expand_proba

__all__ = ["CleanerPredictionMixin"]


class CleanerPredictionMixin:
    """``predict``, ``predict_proba`` and ``decision_function`` through
    ``classifier_``, over the cleaner's ``classes_``."""

    def _fitted_classifier(self, X):
        check_is_fitted(self)
        X = check_input(self, X, input_is_paths=self.campaign_.state.input_is_paths)
        if self.classifier_ is None:
            raise NotFittedError(
                "ActiveLabelCleaner has no classifier yet: no clean part with at "
                "least two classes existed so far (start='none' trains nothing "
                "before the first answers). Relabel samples first (an oracle in "
                "fit, or query/teach)."
            )
        return X

    def predict(self, X):
        """Predict classes with ``classifier_``."""
        X = self._fitted_classifier(X)
        return self.classifier_.predict(X)

    @available_if(classifier_has("predict_proba", default=True))
    def predict_proba(self, X):
        """Class probabilities, one column per ``classes_`` (0 for classes the
        classifier never saw in the clean part)."""
        X = self._fitted_classifier(X)
        proba = self.classifier_.predict_proba(X)
        return expand_proba(proba, self.classifier_.classes_, self.classes_)

    @available_if(classifier_has("decision_function", default=False))
    def decision_function(self, X):
        """``classifier_.decision_function`` (when it knows every class)."""
        X = self._fitted_classifier(X)
        if not np.array_equal(self.classifier_.classes_, self.classes_):
            raise ValueError(
                "decision_function is undefined while the classifier has not "
                "seen every class; use predict_proba."
            )
        return self.classifier_.decision_function(X)
