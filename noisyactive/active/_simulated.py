"""Simulated annotators of given accuracies (benchmarks and tests).

Each :class:`SimulatedAnnotator` answers the true label with probability
``accuracy``, and otherwise a wrong class drawn from a noise matrix: by
default most of its errors go to one *confusable* class per class (a fixed
structure, as readers confuse look-alike lesions or digits), the rest spread
evenly. An answer is a pure function of the annotator's seed and the sample,
so a resumed campaign asking again gets the same answer.
"""

import numpy as np

__all__ = ["SimulatedAnnotator", "confusable_noise", "simulated_annotators"]


def confusable_noise(n_classes, *, partner=None, share=0.7):
    """A noise matrix (zero diagonal, rows summing to one): ``share`` of class
    ``k``'s errors go to ``partner[k]`` (default ``k + 1`` modulo the
    classes), the rest evenly to the other wrong classes.

    Examples
    --------
    >>> from noisyactive.active._simulated import confusable_noise
    >>> confusable_noise(4, share=0.7)[0].round(2).tolist()
    [0.0, 0.7, 0.15, 0.15]
    """
    k = int(n_classes)
    partner = (np.arange(k) + 1) % k if partner is None else np.asarray(partner)
    noise = np.zeros((k, k))
    if k > 2:
        noise[:] = (1.0 - share) / (k - 2)
    noise[np.arange(k), partner] = share if k > 2 else 1.0
    np.fill_diagonal(noise, 0.0)
    return noise / noise.sum(axis=1, keepdims=True)


class SimulatedAnnotator:
    """One simulated annotator: ``annotator(ids, X_subset) -> labels``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; ``ids`` index it.
    accuracy : float in (0, 1]
    noise : ndarray of shape (n_classes, n_classes), default=None
        Where errors go (rows: true class, over ``np.unique(y_true)``);
        None: :func:`confusable_noise`.
    seed : int, default=0
    """

    def __init__(self, y_true, accuracy, *, noise=None, seed=0):
        self.y_true, self.accuracy = y_true, accuracy
        self.noise, self.seed = noise, seed

    def __deepcopy__(self, memo):
        return self  # never changes: clones share it

    def __repr__(self):
        return f"SimulatedAnnotator(accuracy={self.accuracy}, seed={self.seed})"

    def __call__(self, ids, X_subset=None):
        classes, y = np.unique(np.asarray(self.y_true), return_inverse=True)
        noise = self.noise
        if noise is None:
            noise = confusable_noise(classes.size)
        out = []
        for i in np.asarray(ids, dtype=np.int64).tolist():
            rng = np.random.default_rng([int(self.seed), i])
            true = y[i]
            if rng.random() < self.accuracy:
                out.append(true)
            else:
                out.append(rng.choice(classes.size, p=noise[true]))
        return classes[np.asarray(out, dtype=np.intp)]


def simulated_annotators(y_true, accuracies, *, noise=None, seed=0):
    """``{name: SimulatedAnnotator}`` for ``accuracies`` (a dict name ->
    accuracy, or a list: names ``"annotator_0"``...), a dict oracle.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active import simulated_annotators
    >>> oracle = simulated_annotators(np.arange(4) % 2, {"a": 1.0, "b": 0.0})
    >>> oracle["a"]([0, 1]).tolist(), oracle["b"]([0, 1]).tolist()
    ([0, 1], [1, 0])
    """
    if not isinstance(accuracies, dict):
        accuracies = {f"annotator_{j}": a for j, a in enumerate(accuracies)}
    return {
        name: SimulatedAnnotator(y_true, acc, noise=noise, seed=seed * 1000 + j)
        for j, (name, acc) in enumerate(accuracies.items())
    }
