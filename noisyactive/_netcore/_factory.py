"""The network factory: a named or given module, its pretrained weights and
input normalisation, ``freeze``; the device and autocast choices. Below
:mod:`noisyactive.base`, which builds every estimator's skorch net with it."""

import copy
import inspect

import numpy as np
import torch
from torch import nn

from noisyactive._netcore._arrays import InputNorm
from noisyactive.nets import (
    MLP,
    EfficientNetLite,
    ResNet18,
    SmallCNN,
    final_linear,
)
from noisyactive.nets._frozen import (
    FrozenTrunkNet,
    PartlyFrozen,
    n_frozen_units,
    trunk_units,
)

__all__ = [
    "NAMED_MODULES",
    "SPLITTABLE",
    "NetworkFactory",
    "auto_small_input",
    "cpu_bf16_supported",
    "input_stats",
    "resolve_device",
    "unwrap_network",
]

NAMED_MODULES = {
    "resnet18": ResNet18,
    "mlp": MLP,
    "small_cnn": SmallCNN,
    "efficientnet_lite0": EfficientNetLite,
    "efficientnet_lite1": EfficientNetLite,
    "efficientnet_lite2": EfficientNetLite,
}


SPLITTABLE = (
    "resnet18",
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
)


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a GPU is present, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    return str(device)


def cpu_bf16_supported():
    """True when this CPU runs oneDNN's native bf16 kernels (AVX512-BF16/AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without it
        return False


def _autocast_dtype(precision, device, is_image):
    """The autocast dtype of training and prediction, or None (fp32).

    ``"auto"``: bf16 on a GPU that supports it; on a CPU with native bf16
    kernels, bf16 for image input (convolutions; ~1.5x faster for ResNet18 at
    32 px measured here), fp32 for tabular input (small linear layers gain
    nothing). ``"bf16"`` insists and fails where bf16 is not native.
    """
    if precision == "fp32":
        return None
    if device.startswith("cuda"):
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if precision == "bf16":
            raise ValueError("precision='bf16' but this GPU does not support bf16.")
        return None
    if precision == "bf16":
        if not cpu_bf16_supported():
            raise ValueError("precision='bf16' but this CPU has no native bf16.")
        return torch.bfloat16
    return torch.bfloat16 if is_image and cpu_bf16_supported() else None


def auto_small_input(image_shape, device):
    """ResNet18's stem under ``module="auto"``: the CIFAR-style 3x3 stem (no
    max-pool) for images of at most 64 px on a GPU, torchvision's standard stem
    otherwise.

    On a CPU the small stem does not pay: measured on 600 real 32 px HAM10000
    images, 5 epochs, one thread (``benchmarks/bench_speed_stem.py``), it cost
    12.4 s per epoch against 2.2 s (5.7x) for test accuracy 0.705 against 0.708
    and macro-F1 0.118 against 0.158. On a GPU its compute is cheap and it is
    the usual choice for images this small.

    Examples
    --------
    >>> auto_small_input((3, 32, 32), "cpu"), auto_small_input((3, 32, 32), "cuda")
    (False, True)
    >>> auto_small_input((3, 224, 224), "cuda")
    False
    """
    return min(image_shape[1:]) <= 64 and str(device).startswith("cuda")


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return name in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


class NetworkFactory:
    """Picklable zero-argument builder of the (normalised) network."""

    def __init__(
        self,
        module,
        kwargs,
        input_kind,
        input_shape,
        n_classes,
        weights,
        stats,
        device="cpu",
        freeze=None,
        cached=False,
    ):
        self.module, self.kwargs = module, kwargs
        self.input_kind, self.input_shape = input_kind, input_shape
        self.n_classes, self.weights, self.stats = n_classes, weights, stats
        self.device, self.freeze, self.cached = device, freeze, cached

    def _body(self):
        spec, kw = self.module, dict(self.kwargs)
        image = self.input_kind == "image"
        if isinstance(spec, nn.Module):
            # The user's module as given, weights included: each network is a
            # copy of it (a pretrained module keeps its pretraining).
            return copy.deepcopy(spec)
        if spec == "auto":
            spec = "resnet18" if image else "mlp"
        name = spec if isinstance(spec, str) else None
        cls = NAMED_MODULES.get(spec, spec) if name else spec
        if cls is ResNet18:
            kw.setdefault(
                "small_input", auto_small_input(self.input_shape, self.device)
            )
        if cls is EfficientNetLite:
            kw.setdefault("variant", name.removeprefix("efficientnet_"))
            kw.setdefault("image_size", max(self.input_shape[1:]))
        if self.weights is not None:
            if not _accepts(cls, "weights"):
                label = name or getattr(cls, "__name__", repr(cls))
                raise ValueError(
                    f"weights={self.weights!r} was given but module {label!r} takes "
                    "no weights; use module='resnet18' or 'efficientnet_lite0' (or "
                    "a module object that already holds its weights), or "
                    "weights=None."
                )
            kw.setdefault("weights", self.weights)
        if _accepts(cls, "num_classes"):
            kw.setdefault("num_classes", self.n_classes)
        if image and _accepts(cls, "in_channels"):
            kw.setdefault("in_channels", self.input_shape[0])
        if not image and _accepts(cls, "n_features"):
            kw.setdefault("n_features", self.input_shape[0])
        return cls(**kw)

    def __call__(self):
        body = unwrap_network(self._body())
        final_linear(body)  # refuse early if it does not end in nn.Linear
        k = n_frozen_units(self.freeze, len(trunk_units(body)))
        if k and self.weights is not None and getattr(body, "fresh_stem", False):
            raise ValueError(
                f"freeze={self.freeze!r} would fix ResNet18's 3x3 small-input stem, "
                "which is freshly initialised (ImageNet's 7x7 stem does not fit it). "
                "Pass module_kwargs={'small_input': False} to keep the pretrained "
                "stem, or freeze=None."
            )
        if self.cached:  # input: the frozen trunk's cached output
            return FrozenTrunkNet(body, k, *self.stats)
        if k:
            body = PartlyFrozen(body, k)
        return InputNorm(body, *self.stats)


def unwrap_network(module):
    """The network inside the wrappers this factory adds (input normalisation,
    a frozen trunk), so that a trained ``net.module_`` given back as ``module=``
    (a warm start) is wrapped once, not twice."""
    while isinstance(module, (InputNorm, PartlyFrozen, FrozenTrunkNet)):
        module = module.body
    return module


def input_stats(X, input_kind):
    """Per-channel (images) or per-feature (tabular) mean and std, in the units
    the network sees (uint8 images as [0, 1])."""
    if input_kind == "image":
        scale = 255.0 if X.dtype == np.uint8 else 1.0
        c = X.shape[1]
        step = max(1, X.shape[0] // 2048)  # a subsample is plenty for the mean
        sub = np.asarray(X[::step], dtype=np.float64) / scale
        mean = sub.mean(axis=(0, 2, 3))
        std = sub.std(axis=(0, 2, 3))
        shape = (1, c, 1, 1)
    else:
        mean, std = X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
        shape = (1, X.shape[1])
    std = np.where(std > 1e-8, std, 1.0)
    return mean.reshape(shape).astype(np.float32), std.reshape(shape).astype(np.float32)
