"""Turning what a user passes as X into arrays a network can train on."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import validate_data

from noisyactive.datasets import load_images

__all__ = ["default_cache_dir", "is_path_input", "prepare_input"]


def default_cache_dir():
    """``$NOISYACTIVE_CACHE``, else ``~/.cache/noisyactive`` (decoded images)."""
    env = os.environ.get("NOISYACTIVE_CACHE")
    return str(Path(env) if env else Path.home() / ".cache" / "noisyactive")


_LAYOUT_CHANNELS = (1, 3, 4)


def is_path_input(X):
    """True when X is a 1-D sequence of file paths."""
    if isinstance(X, str | os.PathLike):
        return False
    if isinstance(X, np.ndarray):
        if X.ndim != 1:
            return False
        if X.dtype.kind in "US":
            return True
        return X.dtype == object and X.size > 0 and isinstance(X[0], str | os.PathLike)
    if isinstance(X, list | tuple) and X:
        return isinstance(X[0], str | os.PathLike)
    return False


def _to_nchw(X, expected_channels=None):
    """Channels-first view of a 4-D image array, guessing the layout."""
    first, last = X.shape[1], X.shape[3]
    if expected_channels is not None:
        if first == expected_channels:
            return X
        if last == expected_channels:
            return np.ascontiguousarray(X.transpose(0, 3, 1, 2))
        raise ValueError(
            f"X has images of shape {X.shape[1:]}, but the estimator was fitted on "
            f"images with {expected_channels} channel(s) (NCHW or NHWC)."
        )
    if first in _LAYOUT_CHANNELS:
        return X
    if last in _LAYOUT_CHANNELS:
        return np.ascontiguousarray(X.transpose(0, 3, 1, 2))
    raise ValueError(
        f"Cannot tell the channel axis of images of shape {X.shape[1:]}: expected "
        "(n, C, H, W) or (n, H, W, C) with C in 1, 3 or 4."
    )


def prepare_input(estimator, X, y=None, *, reset, image_size=224, cache_dir=None):
    """Validate X (and y) for a network estimator.

    Accepts 2-D float features, 4-D images (uint8 or float, NCHW or NHWC) and 1-D
    arrays of image paths (decoded once, resized to ``image_size`` and cached by
    :func:`noisyactive.datasets.load_images`). On ``reset`` the input kind and shape
    are stored on the estimator (``input_kind_``, ``input_shape_``,
    ``n_features_in_``); otherwise X is checked against them.

    Returns
    -------
    X : ndarray
        float32 2-D features, or uint8/float32 images in NCHW.
    y : ndarray or None
    """
    if is_path_input(X):
        size = image_size if image_size is not None else 224
        if cache_dir == "auto":
            cache_dir = default_cache_dir()
        X = load_images(
            np.asarray(X, dtype=object),
            size=size,
            cache_dir=cache_dir,
            verbose=bool(getattr(estimator, "verbose", 0)),
        )
    elif not hasattr(X, "ndim"):
        X = np.asarray(X) if not hasattr(X, "__array__") else X
    ndim = getattr(X, "ndim", 2)
    if ndim == 4:
        kind = "image"
        X = np.asarray(X)
        if X.dtype != np.uint8:
            X = check_array(
                X, allow_nd=True, dtype=np.float32, ensure_all_finite=True, copy=False
            )
        elif X.shape[0] == 0:
            raise ValueError(
                "Found array with 0 sample(s) while a minimum of 1 is required."
            )
        if y is not None:
            y = np.asarray(y)
            check_consistent_length(X, y)
        if reset:
            X = _to_nchw(X)
            estimator.input_kind_ = kind
            estimator.input_shape_ = tuple(int(s) for s in X.shape[1:])
            estimator.n_features_in_ = int(np.prod(X.shape[1:]))
        else:
            _check_kind(estimator, kind)
            X = _to_nchw(X, expected_channels=estimator.input_shape_[0])
            if tuple(X.shape[1:]) != tuple(estimator.input_shape_):
                raise ValueError(
                    f"X has images of shape {tuple(X.shape[1:])} (C, H, W), but the "
                    f"estimator was fitted on {tuple(estimator.input_shape_)}."
                )
        return X, y
    if ndim not in (1, 2):
        raise ValueError(
            f"X must be 2-D features (n_samples, n_features), 4-D images "
            f"(n, C, H, W) or (n, H, W, C), or a 1-D array of image paths; got an "
            f"array with {ndim} dimensions."
        )
    if not reset:
        _check_kind(estimator, "tabular")
    kwargs = {"dtype": np.float32, "ensure_all_finite": True, "reset": reset}
    if y is None:
        X = validate_data(estimator, X, **kwargs)
    else:
        X, y = validate_data(estimator, X, y, **kwargs)
    if reset:
        estimator.input_kind_ = "tabular"
        estimator.input_shape_ = (int(X.shape[1]),)
    return X, y


def _check_kind(estimator, kind):
    fitted = getattr(estimator, "input_kind_", kind)
    if fitted != kind:
        raise ValueError(
            f"The estimator was fitted on {fitted} input but X is {kind} input."
        )
