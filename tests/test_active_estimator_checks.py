"""scikit-learn's estimator checks over ActiveLabelCleaner with fast parameters."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import validate_data

from noisyactive.active import ActiveLabelCleaner


class EveryFifthNoisyFilter(ClassifierMixin, BaseEstimator):
    """Phase-1 stand-in: every 5th sample is left out of the clean part."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.classes_ = np.unique(y)
        self.clean_mask_ = np.arange(X.shape[0]) % 5 != 4
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class AbstainingOracle:
    """An expert who never knows: every round runs, nothing is relabeled."""

    def __call__(self, ids, X_subset):
        return [None] * len(ids)

    def __repr__(self):  # stable test ids
        return "AbstainingOracle()"


ESTIMATORS = [
    ActiveLabelCleaner(
        estimator=EveryFifthNoisyFilter(),
        classifier=LogisticRegression(),
        oracle=AbstainingOracle(),
        batch_size=2,
        n_rounds=2,
        random_state=0,
    ),
    ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        start="noisy",
        refit="scratch",
        batch_size=0.1,
        n_rounds=1,
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
