"""scikit-learn's estimator checks over ActiveLabelCleaner with fast parameters."""

from _stubs import MaskFilter
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from noisyactive.active import ActiveLabelCleaner


class AbstainingOracle:
    """An expert who never knows: every round runs, nothing is relabeled."""

    def __call__(self, ids, X_subset):
        return [None] * len(ids)

    def __repr__(self):  # stable test ids
        return "AbstainingOracle()"


ESTIMATORS = [
    ActiveLabelCleaner(
        estimator=MaskFilter(),
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
