"""Argument checks shared by the data utilities.

Every check raises ``ValueError``/``TypeError`` with a message that names the
argument, says what was received and what is expected, so that a wrong call
never surfaces as a raw numpy traceback.
"""

import numbers

import numpy as np

__all__ = ["check_labels", "check_fraction", "check_random_state_arg"]


def check_labels(y, *, name="y", min_classes=1):
    """Return ``y`` as a validated, non-empty 1-D numpy array.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels; integers, strings or any other hashable, sortable values.
    name : str, default="y"
        Argument name used in error messages.
    min_classes : int, default=1
        Minimum number of distinct labels required.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        The labels as an array (a view when ``y`` already is one).

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, is empty, contains NaN or has too few classes.
    """
    try:
        arr = np.asarray(y)
    except Exception as exc:  # ragged lists and similar
        raise TypeError(
            f"{name} must be a 1-D array-like of labels; could not convert it to "
            f"an array ({exc})."
        ) from exc
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per sample); got an array of shape "
            f"{arr.shape}. Use y.ravel() if it is a column vector."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one label is required.")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(
            f"{name} contains NaN; every sample needs a label (drop unlabelled rows "
            "first)."
        )
    if arr.dtype.kind == "O":
        # Mixed object arrays (e.g. 1 and "1") cannot be sorted into classes.
        try:
            np.unique(arr)
        except TypeError as exc:
            raise TypeError(
                f"{name} mixes label types that cannot be compared ({exc}); use "
                "labels of one type (all str or all int)."
            ) from exc
    if min_classes > 1:
        n_classes = np.unique(arr).shape[0]
        if n_classes < min_classes:
            raise ValueError(
                f"{name} has {n_classes} distinct class(es); at least {min_classes} "
                "are required."
            )
    return arr


def check_fraction(value, name, *, low=0.0, high=1.0, high_open=False):
    """Check that ``value`` is a real number in ``[low, high]`` (or ``[low, high)``).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Argument name used in error messages.
    low, high : float
        Bounds of the allowed interval.
    high_open : bool, default=False
        Exclude ``high`` from the interval.

    Returns
    -------
    value : float
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number in [{low}, {high}{')' if high_open else ']'}"
            f"; got {value!r} of type {type(value).__name__}."
        )
    value = float(value)
    too_high = value >= high if high_open else value > high
    if not np.isfinite(value) or value < low or too_high:
        interval = f"[{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}; got {value!r}.")
    return value


def check_random_state_arg(random_state):
    """Turn ``random_state`` into a ``RandomState`` with a clear error message.

    Thin wrapper over :func:`sklearn.utils.check_random_state` so that the error
    names the argument.
    """
    from sklearn.utils import check_random_state

    try:
        return check_random_state(random_state)
    except ValueError as exc:
        raise ValueError(
            "random_state must be None, an int or a numpy RandomState; got "
            f"{random_state!r}."
        ) from exc
