"""Grouped, stratified train / validation / test split.

Several HAM10000 images show the same lesion; if one lesion lands in training
and another image of it in test, the test score leaks. The split therefore
assigns whole groups (lesions) to splits, greedily, so that each class is
divided in the requested proportions as closely as whole groups allow.
"""

import numbers

import numpy as np

from noisyactive.utils._validation import check_labels, check_random_state_arg

__all__ = ["grouped_train_val_test_split"]


def _check_sizes(sizes):
    try:
        s = np.asarray(sizes, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"sizes must be three numbers (train, val, test); got {sizes!r}."
        ) from exc
    if s.shape != (3,) or not all(isinstance(v, numbers.Real) for v in sizes):
        raise ValueError(
            f"sizes must be three numbers (train, val, test); got {sizes!r}."
        )
    if np.any(~np.isfinite(s)) or np.any(s < 0) or s[0] <= 0:
        raise ValueError(
            "sizes must be non-negative shares with a positive training share; got "
            f"{sizes!r}."
        )
    if not np.isclose(s.sum(), 1.0, atol=1e-6):
        raise ValueError(f"sizes must sum to 1; got {sizes!r} (sum {s.sum():g}).")
    return s


def grouped_train_val_test_split(
    y, groups, *, sizes=(0.7, 0.1, 0.2), random_state=None
):
    """Split sample indices into train / validation / test by group, per class.

    Every group (e.g. HAM10000's ``lesion_id``) goes to exactly one split.
    Groups are visited from the largest to the smallest (ties in a random order
    set by ``random_state``) and each goes to the split whose per-class counts
    it brings closest to the targets ``sizes[s] * n_c``, measured by the
    squared deviation relative to each class's size. Classes are thus split
    approximately in the requested proportions, exactly so only when groups
    are small; a class with a single group ends up in one split.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    groups : array-like of shape (n_samples,)
        Group of each sample; samples of one group never cross splits.
    sizes : (float, float, float), default=(0.7, 0.1, 0.2)
        Shares of train, validation and test; non-negative, summing to 1. A
        zero share gives an empty split.
    random_state : int, RandomState instance or None, default=None
        Order of equally sized groups, hence the split.

    Returns
    -------
    train_idx, val_idx, test_idx : ndarray of int64
        Sorted sample indices, disjoint and covering ``range(n_samples)``.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.datasets import grouped_train_val_test_split
    >>> y = np.repeat(["a", "b"], 100)
    >>> groups = np.arange(200) // 2  # two images per lesion
    >>> tr, va, te = grouped_train_val_test_split(y, groups, random_state=0)
    >>> len(tr), len(va), len(te)
    (140, 20, 40)
    >>> set(groups[tr]) & set(groups[te])
    set()
    """
    y = check_labels(y)
    groups = check_labels(groups, name="groups")
    if groups.shape[0] != y.shape[0]:
        raise ValueError(
            f"y and groups must have the same length; got {y.shape[0]} and "
            f"{groups.shape[0]}."
        )
    share = _check_sizes(sizes)
    rng = check_random_state_arg(random_state)

    _, y_idx = np.unique(y, return_inverse=True)
    _, g_idx = np.unique(groups, return_inverse=True)
    y_idx, g_idx = y_idx.ravel(), g_idx.ravel()
    n_groups, n_classes = g_idx.max() + 1, y_idx.max() + 1
    counts = np.zeros((n_groups, n_classes))
    np.add.at(counts, (g_idx, y_idx), 1)
    class_total = counts.sum(axis=0)
    target = share[:, None] * class_total[None, :]
    current = np.zeros_like(target)
    closed = share == 0  # a zero share must stay empty

    order = rng.permutation(n_groups)
    # Large groups first: they are the hard ones to place; small ones fill gaps.
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    assign = np.empty(n_groups, dtype=np.int64)
    for g in order:
        cls = np.flatnonzero(counts[g])
        n_g = counts[g, cls]
        # Change of sum_c (current - target)^2 / n_c if group g joins split s.
        delta = ((2.0 * (current[:, cls] - target[:, cls]) + n_g) * n_g) / class_total[
            cls
        ]
        cost = delta.sum(axis=1)
        cost[closed] = np.inf
        s = int(np.argmin(cost))
        assign[g] = s
        current[s, cls] += n_g

    split_of_sample = assign[g_idx]
    return tuple(
        np.flatnonzero(split_of_sample == s).astype(np.int64) for s in range(3)
    )
