"""Networks: torchvision's ResNet18, an MLP and a small CNN, all ending in a
linear layer whose input is the embedding used by VOG and core-set queries."""

from noisyactive.nets._augment import augment_images
from noisyactive.nets._heads import capture_features, final_linear
from noisyactive.nets._resnet import ResNet18, resnet18_weights_path
from noisyactive.nets._small import MLP, SmallCNN

__all__ = [
    "MLP",
    "ResNet18",
    "SmallCNN",
    "augment_images",
    "capture_features",
    "final_linear",
    "resnet18_weights_path",
]
