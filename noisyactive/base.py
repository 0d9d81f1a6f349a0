"""The public base of noisyactive's network estimators.

:class:`BaseNetEstimator` owns what :class:`~noisyactive.NetClassifier` and
:class:`~noisyactive.NoisyLabelFilter` share: the network parameters (declared
once, in :data:`NETWORK_PARAMS` and ``_parameter_constraints``), input handling
(features, images, image paths), device and precision, the configuration of the
skorch net built in ``fit`` (``net_``), validation data and the best-validation
epoch, prediction and embeddings. A subclass writes ``__init__`` (sklearn needs
the parameters in its signature) and ``fit``.
"""

import copy
import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import nn

from noisyactive._netcore._callbacks import RestoreBestEpoch
from noisyactive._netcore._factory import (
    NAMED_MODULES,
    SPLITTABLE,
    NetworkFactory,
    _autocast_dtype,
    auto_small_input,
    cpu_bf16_supported,
    input_stats,
    resolve_device,
)
from noisyactive._netcore._inputs import default_cache_dir, prepare_input
from noisyactive.nets import pretrained_input_norm
from noisyactive.nets._frozen import TrunkFeatureCache
from noisyactive.utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    Real,
    StrOptions,
)

__all__ = [
    "NETWORK_PARAMS",
    "BaseNetEstimator",
    "NetworkFactory",
    "auto_small_input",
    "cpu_bf16_supported",
    "resolve_device",
]


def _speed_hint(estimator, is_image):
    """The settings (other than the current ones) that make a CPU fit quick."""
    tips, module = [], estimator.module
    side = min(estimator.input_shape_[1:]) if is_image else 0
    if side > 32:
        tips.append(f"32 px images (now {side} px; image_size=32 for path input)")
    if is_image and module != "small_cnn":
        tips.append(f"module='small_cnn' (now {module!r})")
    tips.append(f"fewer max_epochs (now {estimator.max_epochs})")
    if is_image:
        tips.append("device='cuda'")
    return "For a quick run: " + ", ".join(tips) + "."


class BaseNetEstimator(ClassifierMixin, BaseEstimator):
    """Shared machinery of :class:`~noisyactive.NetClassifier` and
    :class:`~noisyactive.NoisyLabelFilter`.

    Subclasses list the parameters in :data:`NETWORK_PARAMS` (plus ``callbacks``
    and ``verbose``) in their ``__init__`` with the same defaults, build the net
    with ``ArrayNet(**self._net_kwargs(X, n_classes))`` (or a subclass) inside
    ``fit`` and end ``fit`` with ``self._finish_training()``.
    """

    _parameter_constraints = {
        "module": [StrOptions({"auto", *NAMED_MODULES}), type, nn.Module, callable],
        "module_kwargs": [dict, None],
        "weights": [str, os.PathLike, None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine"}), None],
        "augment": ["boolean"],
        "image_size": [Interval(Integral, 1, None, closed="left"), tuple, None],
        "cache_dir": [str, os.PathLike, None],
        "device": [str],
        "precision": [StrOptions({"auto", "fp32", "bf16"})],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "optimizer": [HasMethods(["step"]), type],
        "freeze": [
            None,
            StrOptions({"trunk"}),
            Interval(Integral, 0, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
    }

    # -- helpers used by subclasses ----------------------------------------------
    def _encode_labels(self, y):
        check_classification_targets(y)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}.")
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got only one "
                f"class: {self.classes_[0]!r}."
            )
        return encoder.transform(y).astype(np.int64)

    def _check_known_labels(self, y, name="y_val"):
        y = np.asarray(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"{name} contains labels not seen in y during fit: {unknown[:10]!r}; "
                f"known classes are {self.classes_!r}."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _prepare(self, X, y=None, *, reset, net_input=True):
        """X (and y) checked; with ``net_input``, as the network reads it (the
        frozen trunk's cached features when the trunk is cached, else the
        images or features themselves)."""
        X, y = prepare_input(
            self,
            X,
            y,
            reset=reset,
            image_size=self.image_size,
            cache_dir=self.cache_dir,
        )
        if net_input:
            X = self._net_input(X)
        return X, y

    def _net_input(self, X):
        """Prepared X as the network reads it (see :meth:`_prepare`)."""
        return self._trunk_features(X) if self._caches_trunk() else X

    # -- a frozen pretrained trunk, computed once per image ------------------------
    def _caches_trunk(self):
        """True when the frozen part's output is cached: ``freeze`` set, image
        input, a named network that can be split (ResNet18, EfficientNet-Lite)
        with pretrained ``weights`` (a fixed trunk with a known normalisation)."""
        freeze = getattr(self, "freeze", None)
        return (
            freeze not in (None, 0, False)
            and getattr(self, "input_kind_", None) == "image"
            and self.weights is not None
            and isinstance(self.module, str)
            and self.module in SPLITTABLE
            and pretrained_input_norm(self.module) is not None
        )

    def _factory(self, n_classes, stats, device, cached=False):
        return NetworkFactory(
            self.module,
            dict(self.module_kwargs or {}),
            self.input_kind_,
            self.input_shape_,
            n_classes,
            self.weights,
            stats,
            device=device,
            freeze=getattr(self, "freeze", None),
            cached=cached,
        )

    def _trunk_features(self, X):
        """Frozen-trunk output of images X: (n, views, C, H, W) float16, 8 views
        (flips and right-angle rotations) when ``augment``, else 1."""
        device = resolve_device(self.device)
        stats = pretrained_input_norm(self.module, self.input_shape_[0])
        trunk = self._factory(2, stats, device, cached=True)().to(device)
        folder = self.cache_dir
        if folder == "auto":
            folder = default_cache_dir()
        cache = TrunkFeatureCache(
            None if folder is None else os.path.join(folder, "trunk-features"),
            n_views=8 if self.augment else 1,
        )
        return cache.features(trunk, X, device=device)

    def _input_norm(self, X):
        """The input normalisation: the pretraining's own for pretrained weights
        on images (ImageNet statistics for ResNet18, (x - 127) / 128 for
        EfficientNet-Lite), else the data's per-channel (per-feature) statistics."""
        if self.weights is not None and self.input_kind_ == "image":
            norm = pretrained_input_norm(self.module, self.input_shape_[0])
            if norm is not None:
                return norm
        return input_stats(X, self.input_kind_)

    def _net_kwargs(self, X, n_classes):
        """Constructor arguments of the skorch net (:class:`ArrayNet`) for data X."""
        device = resolve_device(self.device)
        is_image = self.input_kind_ == "image"
        amp = _autocast_dtype(self.precision, device, is_image)
        rng = check_random_state(self.random_state)
        cached = self._caches_trunk()
        if cached:  # X holds trunk features; the views are the augmentation
            stats = pretrained_input_norm(self.module, self.input_shape_[0])
            factory = self._factory(n_classes, stats, device, cached=True)
            is_image, unit = False, True
        else:
            factory = self._factory(n_classes, self._input_norm(X), device)
            unit = X.dtype == np.uint8 or (is_image and X.min() >= 0 and X.max() <= 1)
        settings = dict(
            is_image=is_image,
            views=cached,
            augment=bool(self.augment) and is_image,
            unit_range=bool(unit),
            amp_dtype=amp,
            # oneDNN's convolutions prefer NHWC on the CPU too (measured in
            # benchmarks/bench_speed_coteaching.py).
            channels_last=is_image,
            seed=int(rng.randint(0, 2**31 - 1)),
            lr_schedule=self.lr_schedule,
            finetune_lr=getattr(self, "finetune_lr", None),
            progress_desc=type(self).__name__,
            speed_hint=_speed_hint(self, is_image),
        )
        return dict(
            module=factory,
            optimizer=self.optimizer,
            lr=self.lr,
            optimizer__momentum=self.momentum,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            callbacks=copy.deepcopy(self.callbacks),
            verbose=int(self.verbose),
            device=device,
            settings=settings,
        )

    def _validation_arrays(self, X_val, y_val, *, all_known):
        """Validation arrays with labels encoded through ``classes_``.

        With ``all_known``, a label not in ``classes_`` is refused. Otherwise such
        labels (a clean part may lack a rare class) stay in the score as -1: never
        predicted, so they count as errors, as they should; a ``y_val`` with no
        known label at all is refused (its score would mean nothing).
        """
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("Pass both X_val and y_val, or neither.")
        X_val, _ = self._prepare(X_val, reset=False)
        y_val = np.asarray(y_val)
        if y_val.ndim != 1 or len(y_val) != X_val.shape[0]:
            raise ValueError(
                f"y_val must be 1-D with one label per row of X_val; got shape "
                f"{y_val.shape} for {X_val.shape[0]} samples."
            )
        if all_known:
            return X_val, self._check_known_labels(y_val, name="y_val")
        pos = np.clip(np.searchsorted(self.classes_, y_val), 0, len(self.classes_) - 1)
        known = self.classes_[pos] == y_val
        if not known.any():
            raise ValueError(
                f"y_val has no label in common with the training labels "
                f"{self.classes_!r} (got {np.unique(y_val)[:10]!r}); its validation "
                "score would be meaningless."
            )
        return X_val, np.where(known, pos, -1).astype(np.int64)

    def _finish_training(self):
        """After ``fit``: the best-validation epoch (weights already restored by
        :class:`RestoreBestEpoch`; None without validation), the history, and the
        validation data dropped from the net (later ``partial_fit`` calls do not
        validate)."""
        self.best_epoch_ = None
        for _, cb in self.net_.callbacks_:
            if isinstance(cb, RestoreBestEpoch):
                self.best_epoch_ = cb.best_epoch_
        self.net_.set_params(train_split=None, valid_data=None)
        self.history_ = self.net_.history

    # -- public API -----------------------------------------------------------------
    def get_rng_state(self):
        """States of the fitted net's shuffling and augmentation generators."""
        check_is_fitted(self, "net_")
        return self.net_.get_rng_state()

    def set_rng_state(self, state):
        """Restore generator states saved with :meth:`get_rng_state`."""
        check_is_fitted(self, "net_")
        self.net_.set_rng_state(state)
        return self

    def predict_proba(self, X):
        """Class probabilities (the ensemble's mean softmax), shape (n, n_classes)."""
        check_is_fitted(self, "net_")
        X, _ = self._prepare(X, reset=False)
        return self.net_.predict_proba_arrays(X)

    def predict(self, X):
        """Predicted class labels."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def embed(self, X):
        """Penultimate embeddings (the input of the final linear layer)."""
        check_is_fitted(self, "net_")
        X, _ = self._prepare(X, reset=False)
        return self.net_.embed_arrays(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = False
        return tags


#: The network parameters every estimator built on :class:`BaseNetEstimator`
#: takes, with the same meaning and default (``callbacks`` and ``verbose`` are
#: shared too, but belong to one fit, not to the network family).
NETWORK_PARAMS = tuple(
    name
    for name in BaseNetEstimator._parameter_constraints
    if name not in ("callbacks", "verbose")
)
