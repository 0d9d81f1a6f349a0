"""Query strategies: which noisy samples to send to the expert next.

Every strategy is a small scikit-learn estimator with
``rank(estimator, X, candidates, n, *, labels=None, labeled_mask=None,
random_state=None) -> (indices, scores)`` and ``query(...) -> indices``, and a
pure scoring function beside it: uncertainty (entropy, margin, least confidence),
core-set k-center greedy [1]_, and the label-cleaning rankings of Bernhardt et
al. [2]_ (cross-entropy alone, ``"label_cleaning"``, or with their ambiguity
term, ``"label_cleaning_ambiguity"``), as used by Khanal et al. [3]_.
:func:`get_query_strategy` turns a name, a strategy object or a plain callable
into such an object.

References
----------
.. [1] Sener, O., & Savarese, S. (2018). Active Learning for Convolutional
   Neural Networks: A Core-Set Approach. ICLR.
.. [2] Bernhardt, M., Castro, D. C., Tanno, R., et al. (2022). Active label
   cleaning for improved dataset quality under resource constraints. Nature
   Communications, 13, 1161.
.. [3] Khanal, B., et al. (2024). Active Label Refinement for Robust Training of
   Imbalanced Medical Image Classification Tasks in the Presence of High Label
   Noise. MICCAI.
"""

from noisyactive.query._base import BaseQueryStrategy
from noisyactive.query._coreset import CoreSetSampling
from noisyactive.query._k_center import k_center_greedy
from noisyactive.query._label_cleaning import LabelCleaningSampling
from noisyactive.query._random import RandomSampling
from noisyactive.query._registry import (
    QUERY_STRATEGIES,
    CallableStrategy,
    get_query_strategy,
)
from noisyactive.query._scores import (
    entropy_scores,
    label_cleaning_ambiguity_scores,
    label_cleaning_scores,
    least_confidence_scores,
    margin_scores,
)
from noisyactive.query._second_opinion import (
    SecondOpinionSampling,
    second_opinion_scores,
)
from noisyactive.query._uncertainty import (
    EntropySampling,
    LeastConfidenceSampling,
    MarginSampling,
)

__all__ = [
    "BaseQueryStrategy",
    "CallableStrategy",
    "CoreSetSampling",
    "EntropySampling",
    "LabelCleaningSampling",
    "LeastConfidenceSampling",
    "MarginSampling",
    "QUERY_STRATEGIES",
    "RandomSampling",
    "SecondOpinionSampling",
    "entropy_scores",
    "get_query_strategy",
    "k_center_greedy",
    "label_cleaning_ambiguity_scores",
    "label_cleaning_scores",
    "least_confidence_scores",
    "margin_scores",
    "second_opinion_scores",
]
