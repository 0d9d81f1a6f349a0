"""Random sampling: the baseline every other strategy is compared against."""

import numpy as np
from sklearn.utils import check_random_state

from noisyactive.query._base import BaseQueryStrategy, _top_n

__all__ = ["RandomSampling"]


class RandomSampling(BaseQueryStrategy):
    """Query candidates uniformly at random.

    Each candidate gets a uniform random priority in [0, 1); the highest
    priorities are queried first and returned as the scores. The estimator is
    not used (it may be ``None``), so this strategy also works before any
    classifier has been trained.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the draw. The ``random_state`` argument of :meth:`rank`
        overrides it (the cleaner passes one seed per round). With an int the
        same call returns the same indices every time.

    See Also
    --------
    EntropySampling, CoreSetSampling

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.query import RandomSampling
    >>> X = np.zeros((10, 2))
    >>> idx = RandomSampling(random_state=0).query(None, X, np.arange(10), 3)
    >>> idx.shape, len(set(idx.tolist()))
    ((3,), 3)
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        seed = self.random_state if random_state is None else random_state
        rng = check_random_state(seed)
        priorities = rng.random_sample(candidates.shape[0])
        indices, scores = _top_n(candidates, priorities, n)
        return indices, np.asarray(scores, dtype=np.float64)
