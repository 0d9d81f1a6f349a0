"""Long-tailed subsampling with the paper's Pareto rule.

``N_c = N_0 * r ** (-c / (k - 1))`` for ``c = 0..k-1``, where ``N_0`` is the
*smallest* original class count, ``r`` the imbalance factor and ``k`` the number
of classes. Class ``c = 0`` keeps ``N_0`` samples and class ``k - 1`` keeps
``N_0 / r``. Counts are floored, which reproduces the paper's NCT-CRC-HE-100K
numbers exactly (19,906 samples at ``r = 100``).
"""

import numbers

import numpy as np
from sklearn.utils import _safe_indexing

from noisyactive.utils._validation import check_labels, check_random_state_arg

__all__ = ["long_tailed_counts", "make_long_tailed"]

# Relative slack before flooring: r ** (-c / (k - 1)) is computed in floating
# point, and an exact integer such as 64 * 64 ** (-5 / 6) = 2 (evaluated as
# 1.9999999999999998) must not floor to 1. Kept far below the gap of genuine
# near-integers (16584.999998 for N_0 = 19723, r = 4, k = 9: relative 1e-10).
_FLOOR_RTOL = 1e-12


def _check_imbalance_factor(imbalance_factor):
    if isinstance(imbalance_factor, bool) or not isinstance(
        imbalance_factor, numbers.Real
    ):
        raise TypeError(
            "imbalance_factor must be a real number >= 1 (largest / smallest kept "
            f"class); got {imbalance_factor!r}."
        )
    if not np.isfinite(imbalance_factor) or imbalance_factor < 1:
        raise ValueError(
            "imbalance_factor must be a finite number >= 1 (largest / smallest kept "
            f"class); got {imbalance_factor!r}."
        )
    return float(imbalance_factor)


def long_tailed_counts(class_counts, imbalance_factor):
    """Per-class sample counts of the paper's long-tailed (Pareto) subsampling.

    Parameters
    ----------
    class_counts : array-like of int, shape (n_classes,)
        Original number of samples per class. Class ``c`` is the ``c``-th entry
        (as given): it is assigned ``N_0 * r ** (-c / (k - 1))`` samples, so the
        first class keeps the most and the last class the fewest. Only the
        smallest entry, ``N_0``, enters the formula.
    imbalance_factor : float >= 1
        Ratio ``r`` between the first and the last target count. ``1`` keeps
        ``N_0`` samples of every class (a balanced subsample).

    Returns
    -------
    counts : ndarray of int64, shape (n_classes,)
        ``floor(N_0 * r ** (-c / (k - 1)))``; non-increasing, ``counts[0] ==
        N_0`` and never above the original count of the class.

    Raises
    ------
    ValueError
        For fewer than 2 classes, non-positive counts, ``imbalance_factor < 1``,
        or when the last class would keep no sample (``N_0 / r < 1``).

    Examples
    --------
    >>> from noisyactive.datasets import long_tailed_counts
    >>> nct = [10407, 10566, 11512, 11557, 8896, 13536, 8763, 10446, 14317]
    >>> counts = long_tailed_counts(nct, 100)
    >>> counts.tolist()
    [8763, 4927, 2771, 1558, 876, 492, 277, 155, 87]
    >>> int(counts.sum())
    19906
    """
    r = _check_imbalance_factor(imbalance_factor)
    try:
        counts = np.asarray(class_counts)
    except Exception as exc:
        raise TypeError(f"class_counts must be a 1-D array of ints: {exc}") from exc
    if counts.ndim != 1 or counts.shape[0] < 2:
        raise ValueError(
            "class_counts must be a 1-D array with one count per class and at least "
            f"2 classes; got shape {counts.shape}."
        )
    if counts.dtype.kind not in "iuf" or np.any(counts != np.floor(counts)):
        raise TypeError(
            f"class_counts must hold whole numbers; got {counts.tolist()!r}."
        )
    if np.any(counts <= 0):
        raise ValueError(f"every class count must be positive; got {counts.tolist()}.")
    k = counts.shape[0]
    n0 = int(counts.min())
    exact = n0 * r ** (-np.arange(k) / (k - 1))
    out = np.floor(exact * (1 + _FLOOR_RTOL)).astype(np.int64)
    if out[-1] < 1:
        raise ValueError(
            f"imbalance_factor={r:g} is too large for the smallest class count "
            f"N_0={n0}: the last class would keep {exact[-1]:.3g} < 1 samples. Use "
            f"imbalance_factor <= {n0}."
        )
    return out


def make_long_tailed(
    X, y, *, imbalance_factor=100, random_state=None, return_indices=False
):
    """Subsample a data set into a long-tailed one with the paper's Pareto rule.

    Class ``c`` of the *sorted* classes (``np.unique(y)``) keeps
    ``long_tailed_counts(counts, imbalance_factor)[c]`` samples, drawn at
    random without replacement; so the first class in sorted order becomes the
    head and the last the tail. Reorder or relabel the classes beforehand to
    choose a different tail.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Samples of any number of dimensions (images ``(n, C, H, W)``, features
        ``(n, d)``, a 1-D array or list of image paths, a DataFrame).
    y : array-like of shape (n_samples,)
        Labels. Never modified.
    imbalance_factor : float >= 1, default=100
        Ratio between the largest and the smallest kept class.
    random_state : int, RandomState instance or None, default=None
        Seed of the per-class draws.
    return_indices : bool, default=False
        Also return the kept indices into ``X`` (sorted).

    Returns
    -------
    X_lt : same type as X
        Kept samples, in their original order.
    y_lt : ndarray of shape (n_kept,)
        Their labels.
    indices : ndarray of int64, shape (n_kept,)
        Only when ``return_indices=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.datasets import make_long_tailed
    >>> X = np.arange(40).reshape(20, 2)
    >>> y = np.repeat([0, 1], 10)
    >>> X_lt, y_lt = make_long_tailed(X, y, imbalance_factor=5, random_state=0)
    >>> np.bincount(y_lt).tolist()
    [10, 2]
    """
    y_arr = check_labels(y, min_classes=2)
    n = y_arr.shape[0]
    try:
        n_x = len(X)
    except TypeError as exc:
        raise TypeError(
            f"X must be an array-like with one entry per sample; got {type(X)}."
        ) from exc
    if n_x != n:
        raise ValueError(
            f"X and y must have the same number of samples; got {n_x} and {n}."
        )
    classes, inverse, counts = np.unique(y_arr, return_inverse=True, return_counts=True)
    target = long_tailed_counts(counts, imbalance_factor)
    rng = check_random_state_arg(random_state)
    keep = []
    for c in range(classes.shape[0]):
        members = np.flatnonzero(inverse == c)
        keep.append(rng.choice(members, size=int(target[c]), replace=False))
    indices = np.sort(np.concatenate(keep)).astype(np.int64)
    X_lt = _safe_indexing(X, indices)
    y_lt = y_arr[indices]
    if return_indices:
        return X_lt, y_lt, indices
    return X_lt, y_lt
