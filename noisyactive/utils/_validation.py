"""The package's shared argument checks: one place per rule.

Each check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right
kind, wrong content) with a message that names the argument, says what it got
and what it expected, so a wrong call never surfaces as a raw numpy traceback.

- :func:`check_indices`: unique integer indices, optionally within
  ``[0, n_samples)``, within an allowed set, and bounded in number (query
  candidates, what a query strategy returned, the indices an expert answered).
- :func:`check_transition_matrix`: a row-stochastic ``(k, k)`` matrix, with one
  tolerance for every caller.
- :func:`check_float_array`: a finite float array of a given dimension
  (probabilities, embeddings).
- :func:`check_labels`, :func:`check_fraction`, :func:`check_random_state_arg`:
  label vectors, rates and seeds of the data utilities.
"""

import numbers

import numpy as np

__all__ = [
    "check_float_array",
    "check_fraction",
    "check_indices",
    "check_labels",
    "check_random_state_arg",
    "check_transition_matrix",
]

# Rows of a transition matrix may miss 1 by rounding (e.g. 0.1 + 0.2 + 0.7), but
# not by a typo; 1e-6 separates the two for any matrix a person or a float32
# estimate writes.
TRANSITION_ROW_TOLERANCE = 1e-6


def _listed(values, limit=10):
    values = list(values)
    more = f" (and {len(values) - limit} more)" if len(values) > limit else ""
    return f"{values[:limit]}{more}"


def check_indices(
    indices,
    *,
    n_samples=None,
    within=None,
    max_count=None,
    min_count=0,
    allow_mask=False,
    name="indices",
    within_name="the allowed indices",
):
    """Return ``indices`` as a 1-D ``intp`` array of unique integer indices.

    Parameters
    ----------
    indices : array-like of int
        The indices to check. With ``allow_mask=True`` a boolean mask of shape
        ``(n_samples,)`` is accepted too and turned into the indices of its True
        entries.
    n_samples : int, default=None
        When given, every index must lie in ``[0, n_samples)``.
    within : array-like of int, default=None
        When given, every index must be one of these (e.g. the candidates a
        strategy was offered).
    max_count : int, default=None
        When given, at most this many indices are allowed.
    min_count : int, default=0
        At least this many indices are required (1 refuses an empty array).
    allow_mask : bool, default=False
        Accept a boolean mask over ``n_samples`` samples (needs ``n_samples``).
    name : str, default="indices"
        How the messages call the argument, e.g. ``"candidates"`` or ``"the
        indices query function f returned"``.
    within_name : str, default="the allowed indices"
        How the messages call ``within``, e.g. ``"the candidates"``.

    Returns
    -------
    indices : ndarray of intp of shape (n_indices,)
        The indices in the order given.

    Raises
    ------
    TypeError
        If ``indices`` is None, not integer, or a boolean array where a mask is
        not allowed.
    ValueError
        If it is not 1-D, has too few or too many entries, an index is out of
        range or not allowed, or an index repeats.

    Examples
    --------
    >>> from noisyactive.utils import check_indices
    >>> check_indices([3, 1], n_samples=5, within=[1, 2, 3])
    array([3, 1])
    >>> check_indices([1, 1], name="candidates")
    Traceback (most recent call last):
    ...
    ValueError: candidates contain duplicate indices [1]; pass each index once.
    """
    if indices is None:
        raise TypeError(f"{name} is None; expected a 1-D array of integer indices.")
    arr = np.asarray(indices)
    if arr.dtype == bool and arr.size:
        if not allow_mask:
            raise TypeError(
                f"{name} is a boolean array; pass integer indices (e.g. "
                "np.flatnonzero(mask))."
            )
        if n_samples is None or arr.shape != (n_samples,):
            raise ValueError(
                f"{name} given as a boolean mask must have one entry per sample "
                f"({n_samples}); got shape {arr.shape}."
            )
        arr = np.flatnonzero(arr)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of integer indices; got shape {arr.shape}."
        )
    if arr.size == 0:
        arr = np.empty(0, dtype=np.intp)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer indices; got dtype {arr.dtype}.")
    if arr.size < min_count:
        raise ValueError(
            f"{name} holds {arr.size} indices; at least {min_count} are required."
        )
    if max_count is not None and arr.size > max_count:
        raise ValueError(
            f"{name} holds {arr.size} indices but at most {max_count} were asked for."
        )
    if arr.size and n_samples is not None and (arr.min() < 0 or arr.max() >= n_samples):
        outside = arr[(arr < 0) | (arr >= n_samples)]
        raise ValueError(
            f"{name} must be indices in [0, {n_samples}) ({n_samples} samples); "
            f"got {_listed(outside.tolist())}."
        )
    if within is not None and arr.size:
        outside = ~np.isin(arr, np.asarray(within))
        if outside.any():
            raise ValueError(
                f"{name} hold indices that are not among {within_name}: "
                f"{_listed(arr[outside].tolist())}."
            )
    arr = arr.astype(np.intp, copy=False)
    if arr.size > 1:
        values, counts = np.unique(arr, return_counts=True)
        if counts.max() > 1:
            repeated = _listed(values[counts > 1].tolist())
            raise ValueError(
                f"{name} contain duplicate indices {repeated}; pass each index once."
            )
    return arr


def check_transition_matrix(
    matrix, n_classes, *, atol=TRANSITION_ROW_TOLERANCE, name="transition_matrix"
):
    """Return a validated row-stochastic ``(n_classes, n_classes)`` float64 matrix.

    ``matrix[i, j] = P(noisy label = j | true label = i)``: entries finite and
    non-negative, every row summing to 1 within ``atol``. The rows are then
    divided by their sums, so they sum to 1 up to float64 rounding.

    Parameters
    ----------
    matrix : array-like of shape (n_classes, n_classes)
        The transition matrix.
    n_classes : int
        Number of classes (rows and columns).
    atol : float, default=1e-6
        Largest accepted deviation of a row sum from 1.
    name : str, default="transition_matrix"
        How the messages call the argument.

    Returns
    -------
    matrix : ndarray of float64 of shape (n_classes, n_classes)

    Raises
    ------
    TypeError
        If ``matrix`` is not numeric.
    ValueError
        For a wrong shape, a negative or non-finite entry, or a row that does
        not sum to 1.

    Examples
    --------
    >>> from noisyactive.utils import check_transition_matrix
    >>> check_transition_matrix([[0.9, 0.1], [0.2, 0.8]], 2)
    array([[0.9, 0.1],
           [0.2, 0.8]])
    """
    try:
        T = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a numeric (n_classes, n_classes) array: {exc}"
        ) from exc
    if T.shape != (n_classes, n_classes):
        raise ValueError(
            f"{name} must have shape ({n_classes}, {n_classes}) (rows: true class, "
            f"columns: noisy class); got shape {T.shape}."
        )
    if not np.all(np.isfinite(T)) or np.any(T < 0):
        raise ValueError(f"{name} must contain finite, non-negative probabilities.")
    row_sums = T.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > atol)
    if bad.size:
        raise ValueError(
            f"every row of {name} must sum to 1 (row i is the distribution of the "
            f"noisy label given true class i); rows {_listed(bad.tolist())} sum to "
            f"{_listed(row_sums[bad].round(6).tolist())}."
        )
    return T / row_sums[:, None]


def check_float_array(
    values,
    *,
    name,
    ndim=2,
    min_columns=0,
    keep_float32=True,
    shape_hint="(n, d)",
):
    """Return ``values`` as a finite float array with ``ndim`` dimensions.

    Parameters
    ----------
    values : array-like
        Numbers to check.
    name : str
        How the messages call the argument.
    ndim : int, default=2
        Required number of dimensions.
    min_columns : int, default=0
        For 2-D arrays, the least number of columns (e.g. 1 class).
    keep_float32 : bool, default=True
        Keep float32 input as float32 (half the memory and time of float64);
        everything else is converted to float64.
    shape_hint : str, default="(n, d)"
        The expected shape as written in messages, e.g. ``"(n_samples,
        n_classes)"``.

    Returns
    -------
    array : ndarray of float32 or float64
        A view of ``values`` when it already is such an array.

    Raises
    ------
    TypeError
        If ``values`` cannot be converted to numbers.
    ValueError
        For the wrong number of dimensions, too few columns or a NaN or
        infinite value.

    Examples
    --------
    >>> from noisyactive.utils import check_float_array
    >>> check_float_array([[1, 2]], name="embeddings")
    array([[1., 2.]])
    """
    try:
        arr = np.asarray(values)
        if arr.dtype != np.float32 or not keep_float32:
            arr = arr.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a numeric array of shape {shape_hint}; could not "
            f"convert it ({exc})."
        ) from exc
    if arr.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D of shape {shape_hint}; got shape {arr.shape}."
        )
    if ndim == 2 and arr.shape[1] < min_columns:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns; expected at least {min_columns} "
            f"(shape {shape_hint})."
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


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
