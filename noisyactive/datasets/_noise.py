"""Synthetic label noise: symmetric, pair-flip and transition-matrix noise.

The paper (Khanal et al., MICCAI 2024) corrupts the training labels with
*symmetric* noise: with probability ``p`` a label is replaced by a class drawn
uniformly among the *other* classes, so a flipped label is never its own class
and the realised flip rate is ``p`` (not ``p * (k - 1) / k`` as with the
"draw uniformly among all classes" variant).
"""

import numpy as np

from noisyactive.utils._validation import (
    check_fraction,
    check_labels,
    check_random_state_arg,
    check_transition_matrix,
)

__all__ = ["inject_label_noise", "noise_transition_matrix"]

_KINDS = ("symmetric", "pairflip", "transition")


def _resolve_classes(y, classes):
    """Return ``(classes, index_of_each_label)`` with clear errors."""
    if classes is None:
        classes, idx = np.unique(y, return_inverse=True)
    else:
        classes = check_labels(classes, name="classes")
        if np.unique(classes).shape[0] != classes.shape[0]:
            raise ValueError(f"classes must not contain duplicates; got {classes!r}.")
        # Keep the user's order: it fixes the rows of a transition matrix and
        # the cyclic order of pair flips.
        try:
            sorter = np.argsort(classes, kind="stable")
            pos = np.searchsorted(classes, y, sorter=sorter).clip(0, len(classes) - 1)
            idx = sorter[pos]
            known = classes[idx] == y
        except TypeError as exc:
            raise TypeError(
                f"labels in y and classes have incompatible types ({y.dtype} vs "
                f"{classes.dtype}): {exc}"
            ) from exc
        if not np.all(known):
            unknown = np.unique(y[~np.asarray(known, dtype=bool)])[:10]
            raise ValueError(
                f"y contains labels that are not in classes: {unknown.tolist()}; "
                f"classes is {classes.tolist()}."
            )
    if classes.shape[0] < 2:
        raise ValueError(
            f"label noise needs at least 2 classes; got {classes.shape[0]} "
            f"({classes.tolist()}). Pass classes=... if some classes are absent "
            "from y."
        )
    return classes, np.asarray(idx).ravel()


def noise_transition_matrix(n_classes, noise_rate, *, kind="symmetric"):
    """Transition matrix ``T[i, j] = P(noisy = j | true = i)`` of a noise model.

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    noise_rate : float in [0, 1]
        Probability that a label is flipped.
    kind : {"symmetric", "pairflip"}, default="symmetric"
        ``"symmetric"`` spreads ``noise_rate`` uniformly over the other classes;
        ``"pairflip"`` moves it all to the next class (cyclically).

    Returns
    -------
    T : ndarray of shape (n_classes, n_classes)
        Row-stochastic matrix.

    Examples
    --------
    >>> from noisyactive.datasets import noise_transition_matrix
    >>> noise_transition_matrix(3, 0.4).round(2)
    array([[0.6, 0.2, 0.2],
           [0.2, 0.6, 0.2],
           [0.2, 0.2, 0.6]])
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer):
        raise TypeError(f"n_classes must be an int >= 2; got {n_classes!r}.")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2; got {n_classes}.")
    p = check_fraction(noise_rate, "noise_rate")
    if kind == "symmetric":
        T = np.full((n_classes, n_classes), p / (n_classes - 1))
    elif kind == "pairflip":
        T = np.roll(np.eye(n_classes), 1, axis=1) * p
    else:
        raise ValueError(f"kind must be 'symmetric' or 'pairflip'; got {kind!r}.")
    np.fill_diagonal(T, 1.0 - p)
    return T


def inject_label_noise(
    y,
    noise_rate,
    *,
    kind="symmetric",
    transition_matrix=None,
    classes=None,
    random_state=None,
    return_mask=False,
):
    """Corrupt labels with synthetic noise, independently per sample.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels (int, str, ...). Never modified.
    noise_rate : float in [0, 1] or None
        Probability that a sample's label is flipped (``"symmetric"`` and
        ``"pairflip"``). Ignored with a transition matrix, whose rows alone set
        the flip probabilities (pass ``None`` there).
    kind : {"symmetric", "pairflip", "transition"}, default="symmetric"
        - ``"symmetric"`` (the paper's rule): a flipped label becomes a class
          drawn uniformly among the *other* classes.
        - ``"pairflip"``: a flipped label becomes the next class in the order of
          ``classes`` (cyclically, the last class goes to the first).
        - ``"transition"``: every label of class ``classes[i]`` is redrawn from
          row ``i`` of ``transition_matrix`` (it may stay the same).
    transition_matrix : array-like of shape (n_classes, n_classes), default=None
        Row-stochastic matrix ``T[i, j] = P(noisy = classes[j] | true =
        classes[i])``. Passing it implies ``kind="transition"``.
    classes : array-like, default=None
        All classes, in the order used by ``"pairflip"`` and by the rows of
        ``transition_matrix``. Default: ``np.unique(y)`` (sorted). Pass it when
        some classes do not occur in ``y``. At least 2 classes are required.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws; an int gives the same noise on every call.
    return_mask : bool, default=False
        Also return the boolean mask of changed samples (``y_noisy != y``).

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        New array of noisy labels with the dtype of ``y`` (widened for strings
        when ``classes`` holds longer names).
    flipped : ndarray of bool, shape (n_samples,)
        Only when ``return_mask=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.datasets import inject_label_noise
    >>> y = np.repeat([0, 1, 2], 4)
    >>> y_noisy, flipped = inject_label_noise(y, 0.5, random_state=0, return_mask=True)
    >>> bool(np.all(y_noisy[flipped] != y[flipped]))
    True
    >>> inject_label_noise(["a", "b", "c"], 1.0, kind="pairflip")
    array(['b', 'c', 'a'], dtype='<U1')
    """
    if transition_matrix is not None and kind == "symmetric":
        kind = "transition"
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
    if kind == "transition":
        if transition_matrix is None:
            raise ValueError(
                "kind='transition' needs transition_matrix=... (an (n_classes, "
                "n_classes) row-stochastic array)."
            )
        if noise_rate is not None:
            check_fraction(noise_rate, "noise_rate")
    elif transition_matrix is not None:
        raise ValueError(
            f"transition_matrix was given together with kind={kind!r}; pass "
            "kind='transition' (or leave kind at its default) to use the matrix."
        )
    else:
        if noise_rate is None:
            raise ValueError(f"noise_rate is required for kind={kind!r}.")
        noise_rate = check_fraction(noise_rate, "noise_rate")
    if not isinstance(return_mask, bool | np.bool_):
        raise TypeError(f"return_mask must be a bool; got {return_mask!r}.")

    y_arr = check_labels(y)
    classes, idx = _resolve_classes(y_arr, classes)
    n_classes = classes.shape[0]
    rng = check_random_state_arg(random_state)

    if kind == "transition":
        T = check_transition_matrix(transition_matrix, n_classes)
        cum = np.cumsum(T, axis=1)
        u = rng.random_sample(y_arr.shape[0])
        # Inverse-CDF draw from row T[idx]; the clip guards against a last
        # cumulative value of 0.9999999 below u.
        new_idx = (cum[idx] <= u[:, None]).sum(axis=1).clip(max=n_classes - 1)
        change = new_idx != idx
    else:
        change = rng.random_sample(y_arr.shape[0]) < noise_rate
        n_flip = int(change.sum())
        if kind == "symmetric":
            # An offset in 1..k-1 is a uniform draw among the *other* classes.
            offset = rng.randint(1, n_classes, size=n_flip)
        else:
            offset = np.ones(n_flip, dtype=int)
        new_idx = idx.copy()
        new_idx[change] = (idx[change] + offset) % n_classes

    out_dtype = y_arr.dtype
    if out_dtype.kind in "US":
        # Wider class names must not be truncated on assignment.
        out_dtype = np.promote_types(out_dtype, classes.dtype)
    y_noisy = y_arr.astype(out_dtype, copy=True)
    y_noisy[change] = classes[new_idx[change]]
    if return_mask:
        return y_noisy, np.asarray(y_noisy != y_arr, dtype=bool)
    return y_noisy
