"""Loading the data of an experiment: embedded digits, HAM10000, or a user's data."""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from noisyactive._netcore._inputs import default_cache_dir
from noisyactive.config._schema import as_config
from noisyactive.datasets import (
    grouped_train_val_test_split,
    inject_label_noise,
    load_ham10000,
    load_image_csv,
    load_image_folder,
    load_images,
    make_long_tailed,
    make_noisy_digits,
)

__all__ = ["load_experiment_data"]


def _split_and_corrupt(X, y, config, rng_seed, groups=None, test=None):
    sizes = tuple(config.split)
    if test is not None:  # a separate test set: split train / validation only
        if len(sizes) != 2:
            raise ValueError(
                f"With a separate test set ('test_path') the split is (train, "
                f"validation), e.g. [0.8, 0.2]; got {list(sizes)}."
            )
        idx = np.arange(len(y))
        tr, va = train_test_split(
            idx, train_size=sizes[0], stratify=y, random_state=rng_seed
        )
        te = None
    elif groups is not None:
        tr, va, te = grouped_train_val_test_split(
            y, groups, sizes=sizes, random_state=rng_seed
        )
    else:
        idx = np.arange(len(y))
        tr, rest = train_test_split(
            idx, train_size=sizes[0], stratify=y, random_state=rng_seed
        )
        va, te = train_test_split(
            rest,
            train_size=sizes[1] / (sizes[1] + sizes[2]),
            stratify=y[rest],
            random_state=rng_seed,
        )
    y_train_true = y[tr]
    noise = float(config.noise_rate)
    y_train = (
        inject_label_noise(y_train_true, noise, random_state=rng_seed)
        if noise > 0
        else y_train_true.copy()
    )
    X_test, y_test = (X[te], y[te]) if test is None else test
    return Bunch(
        X_train=X[tr],
        y_train=y_train,
        y_train_true=y_train_true,
        X_val=X[va],
        y_val=y[va],
        X_test=X_test,
        y_test=np.asarray(y_test),
        classes=np.unique(y),
    )


def load_experiment_data(config, seed):
    """Train (noisy) / validation / test data for ``config["dataset"]``.

    ``dataset`` is ``"digits"`` (embedded, long-tailed), ``"ham10000"``
    (``path`` to the folder with ``metadata.csv``; split grouped by lesion),
    ``"folder"`` (class-per-folder images at ``path``; with ``test_path``, a
    class-per-folder test set used as it is, and ``split`` is (train,
    validation)), ``"csv"`` (``path,label`` rows at ``path``) or ``"npz"``
    (arrays ``X``, ``y`` and optionally ``y_true`` or predefined
    ``X_train``/``y_train``/...). Noise (``noise_rate``, symmetric, 0.4 unless
    the config says otherwise) is injected into the training split only; with
    ``noise_rate`` 0 the given labels are taken as they are (already noisy).
    ``y_train_true`` is None when the true labels are unknown.
    """
    config = as_config(config)
    kind = config.dataset
    size = config.image_size
    cache = config.cache_dir or default_cache_dir()
    if kind == "digits":
        d = make_noisy_digits(
            imbalance_factor=config.imbalance_factor or 15,
            noise_rate=config.noise_rate,
            balanced_eval=config.balanced_eval,
            random_state=seed,
        )
        d.classes = np.unique(np.r_[d.y_train_true, d.y_test])
        return d
    if kind == "ham10000":
        ham = load_ham10000(config.path, size=size, cache_dir=cache)
        return _split_and_corrupt(
            np.asarray(ham.images), np.asarray(ham.labels), config, seed, ham.groups
        )
    if kind in ("folder", "csv"):
        if kind == "folder":
            paths, labels = load_image_folder(config.path)
        else:
            paths, labels = load_image_csv(config.path)
        X = load_images(paths, size=size, cache_dir=cache)
        X, labels = np.asarray(X), np.asarray(labels)
        if config.imbalance_factor:
            X, labels = make_long_tailed(
                X,
                labels,
                imbalance_factor=config.imbalance_factor,
                random_state=seed,
            )
        test = None
        if config.test_path:  # e.g. NCT's CRC-VAL-HE-7K, kept as it is
            test_paths, test_labels = load_image_folder(config.test_path)
            test = (
                np.asarray(load_images(test_paths, size=size, cache_dir=cache)),
                np.asarray(test_labels),
            )
        return _split_and_corrupt(X, labels, config, seed, test=test)
    if kind == "npz":
        arrays = np.load(config.path, allow_pickle=False)
        if "X_train" in arrays:
            d = Bunch(**{k: arrays[k] for k in arrays.files})
            d.setdefault("y_train_true", None)
            d.classes = np.unique(np.r_[d.y_train, d.y_test])
            return d
        d = _split_and_corrupt(arrays["X"], arrays["y"], config, seed)
        if "y_true" in arrays and not config.noise_rate:
            d.y_train_true = None  # given labels are noisy; truth unknown here
        return d
    raise ValueError(
        f"Unknown dataset {kind!r}: expected 'digits', 'ham10000', 'folder', 'csv' "
        "or 'npz'."
    )
