"""Small networks: an MLP for 2-D input and a compact CNN for tiny images."""

from torch import nn

__all__ = ["MLP", "SmallCNN"]


class MLP(nn.Module):
    """Multi-layer perceptron ending in ``nn.Linear``.

    Parameters
    ----------
    n_features : int
        Input dimension.
    num_classes : int
        Number of outputs.
    hidden_sizes : tuple of int, default=(128,)
        Widths of the hidden layers (ReLU).
    dropout : float, default=0.0
        Dropout before every hidden linear layer but the first.

    Examples
    --------
    >>> import torch
    >>> MLP(4, 3)(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features, num_classes, hidden_sizes=(128,), dropout=0.0):
        super().__init__()
        layers, width = [], n_features
        for i, size in enumerate(hidden_sizes):
            if dropout and i:
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.features(x.flatten(1)))


class SmallCNN(nn.Module):
    """Compact CNN for small images (8x8 to 64x64), ending in ``nn.Linear``.

    Three conv–BN–ReLU stages, global average pooling and a linear head: a CPU-fast
    stand-in for ResNet18 in tests and demos.

    Parameters
    ----------
    in_channels : int
        Image channels.
    num_classes : int
        Number of outputs.
    width : int, default=32
        Channels of the first stage (doubled at each stage).

    Examples
    --------
    >>> import torch
    >>> SmallCNN(1, 10)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels, num_classes, width=32):
        super().__init__()

        def stage(cin, cout, stride):
            return [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        self.features = nn.Sequential(
            *stage(in_channels, width, 1),
            *stage(width, 2 * width, 2),
            *stage(2 * width, 4 * width, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))
