"""The embedded default data set: scikit-learn's digits as a tiny image set.

scikit-learn ships the 1,797 8x8 handwritten digits with its wheel, so every
test and the demo run offline. :func:`make_noisy_digits` turns them into the
paper's setting in one call: long-tailed, split, and noisy on the training
split only.
"""

import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from noisyactive.datasets._long_tail import make_long_tailed
from noisyactive.datasets._noise import inject_label_noise
from noisyactive.utils._validation import check_fraction, check_random_state_arg

__all__ = ["load_digits_images", "make_noisy_digits"]


def load_digits_images(*, return_X_y=True, as_float=False):
    """Load scikit-learn's bundled digits as single-channel images.

    The original grey levels 0..16 are scaled to 0..255 as
    ``round(v * 255 / 16)`` so that the images look like any other uint8 image
    to the networks and augmentations (0 stays 0 and 16 becomes 255).

    Parameters
    ----------
    return_X_y : bool, default=True
        Return ``(images, labels)``; otherwise a :class:`~sklearn.utils.Bunch`.
    as_float : bool, default=False
        Return float32 images in [0, 1] instead of uint8 images in [0, 255].

    Returns
    -------
    images : ndarray of shape (1797, 1, 8, 8)
        uint8 (or float32 with ``as_float=True``).
    labels : ndarray of int64, shape (1797,)
        Digits 0..9.
    bunch : Bunch
        With ``return_X_y=False``: ``images``, ``labels``, ``classes``,
        ``DESCR``.

    Examples
    --------
    >>> from noisyactive.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype.name, int(X.max()), y.shape
    ((1797, 1, 8, 8), 'uint8', 255, (1797,))
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    if as_float:
        images = images.astype(np.float32) / np.float32(255.0)
    labels = digits.target.astype(np.int64)
    if return_X_y:
        return images, labels
    return Bunch(
        images=images,
        labels=labels,
        classes=np.arange(10, dtype=np.int64),
        DESCR=(
            "scikit-learn's optical recognition of handwritten digits (1,797 "
            "images, 10 classes), grey levels 0..16 scaled to 0..255, shape "
            "(n, 1, 8, 8)."
        ),
    )


def _check_size(value, name):
    check_fraction(value, name, high_open=True)
    return float(value)


def make_noisy_digits(
    *,
    imbalance_factor=15,
    noise_rate=0.4,
    noise_kind="symmetric",
    test_size=0.2,
    val_size=0.1,
    balanced_eval=False,
    as_float=False,
    random_state=0,
):
    """Long-tailed, noisy digits split into train / validation / test.

    The paper's protocol on the embedded data: long-tail the whole set with
    :func:`make_long_tailed`, split it stratified into train / validation /
    test, and corrupt the *training* labels only with
    :func:`inject_label_noise`. With the defaults the rarest digit (9) keeps 11
    images, about 7 of them in the training split.

    Parameters
    ----------
    imbalance_factor : float >= 1, default=15
        Largest / smallest class; ``1`` keeps every class at 174 images.
    noise_rate : float in [0, 1], default=0.4
        Flip probability of a training label.
    noise_kind : {"symmetric", "pairflip"}, default="symmetric"
        Noise model, see :func:`inject_label_noise`.
    test_size, val_size : float in [0, 1), default=0.2 and 0.1
        Shares of the (long-tailed) data for the test and validation splits.
        ``val_size=0`` gives an empty validation split.
    balanced_eval : bool, default=False
        If True, split the full balanced digits first and long-tail only the
        training split, so validation and test keep every class at equal size
        (steadier macro-F1 on such a small set; not the paper's protocol).
    as_float : bool, default=False
        float32 images in [0, 1] instead of uint8.
    random_state : int, RandomState instance or None, default=0
        Seeds the subsampling, the splits and the noise.

    Returns
    -------
    data : Bunch
        ``X_train``, ``y_train`` (noisy), ``y_train_true``, ``noise_mask``
        (``y_train != y_train_true``), ``X_val``, ``y_val``, ``X_test``,
        ``y_test`` (true labels), ``train_indices``, ``val_indices``,
        ``test_indices`` (into :func:`load_digits_images`), ``classes`` and
        ``params`` (the arguments used).

    Examples
    --------
    >>> from noisyactive.datasets import make_noisy_digits
    >>> d = make_noisy_digits(random_state=0)
    >>> d.X_train.shape[1:], d.X_train.dtype.name
    ((1, 8, 8), 'uint8')
    >>> bool(0.3 < d.noise_mask.mean() < 0.5)
    True
    """
    test_size = _check_size(test_size, "test_size")
    val_size = _check_size(val_size, "val_size")
    if test_size + val_size >= 1:
        raise ValueError(
            "test_size + val_size must be < 1 to leave a training split; got "
            f"{test_size} + {val_size}."
        )
    if not isinstance(balanced_eval, bool | np.bool_):
        raise TypeError(f"balanced_eval must be a bool; got {balanced_eval!r}.")
    if isinstance(random_state, numbers.Integral) or random_state is None:
        params_seed = random_state
    else:
        params_seed = "RandomState instance"
    rng = check_random_state_arg(random_state)
    X, y = load_digits_images(as_float=as_float)
    all_idx = np.arange(y.shape[0])

    def seed():
        # Fresh int seeds keep each step reproducible on its own.
        return int(rng.randint(np.iinfo(np.int32).max))

    if balanced_eval:
        pool = all_idx
    else:
        _, _, pool = make_long_tailed(
            all_idx,
            y,
            imbalance_factor=imbalance_factor,
            random_state=seed(),
            return_indices=True,
        )
    rest, test_idx = (
        train_test_split(
            pool, test_size=test_size, stratify=y[pool], random_state=seed()
        )
        if test_size > 0
        else (pool, pool[:0])
    )
    if val_size > 0:
        train_idx, val_idx = train_test_split(
            rest,
            test_size=val_size / (1.0 - test_size),
            stratify=y[rest],
            random_state=seed(),
        )
    else:
        train_idx, val_idx = rest, rest[:0]
    if balanced_eval:
        _, _, kept = make_long_tailed(
            train_idx,
            y[train_idx],
            imbalance_factor=imbalance_factor,
            random_state=seed(),
            return_indices=True,
        )
        train_idx = train_idx[kept]
    train_idx, val_idx, test_idx = (np.sort(i) for i in (train_idx, val_idx, test_idx))
    y_train_true = y[train_idx]
    y_train, noise_mask = inject_label_noise(
        y_train_true,
        noise_rate,
        kind=noise_kind,
        classes=np.arange(10, dtype=np.int64),
        random_state=seed(),
        return_mask=True,
    )
    return Bunch(
        X_train=X[train_idx],
        y_train=y_train,
        y_train_true=y_train_true,
        noise_mask=noise_mask,
        X_val=X[val_idx],
        y_val=y[val_idx],
        X_test=X[test_idx],
        y_test=y[test_idx],
        train_indices=train_idx,
        val_indices=val_idx,
        test_indices=test_idx,
        classes=np.arange(10, dtype=np.int64),
        params={
            "imbalance_factor": imbalance_factor,
            "noise_rate": noise_rate,
            "noise_kind": noise_kind,
            "test_size": test_size,
            "val_size": val_size,
            "balanced_eval": balanced_eval,
            "as_float": as_float,
            "random_state": params_seed,
        },
    )
