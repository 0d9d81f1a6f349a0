"""torchvision's ResNet18 with local-only pretrained weights."""

import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["IMAGENET_NORM", "ResNet18", "resnet18_weights_path"]

#: torchvision's ImageNet normalisation (mean, std per RGB channel on [0, 1]).
IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

_IMAGENET_FILE = "resnet18-f37072fd.pth"  # torchvision's ResNet18_Weights.IMAGENET1K_V1


def resnet18_weights_path(weights):
    """Resolve ``weights`` to a local file, never downloading.

    Parameters
    ----------
    weights : str or path-like
        A file path, or ``"imagenet"`` for torchvision's ImageNet checkpoint in the
        torch hub cache (``$TORCH_HOME/hub/checkpoints/resnet18-f37072fd.pth``).

    Returns
    -------
    path : pathlib.Path
        An existing file.

    Raises
    ------
    FileNotFoundError
        With instructions on how to provide the file.
    """
    if isinstance(weights, str) and weights.lower() in {"imagenet", "default"}:
        path = Path(torch.hub.get_dir()) / "checkpoints" / _IMAGENET_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"ImageNet weights for ResNet18 not found at {path}. noisyactive never "
                "downloads; copy torchvision's file "
                f"'{_IMAGENET_FILE}' there (or set TORCH_HOME), or pass the path of a "
                "state-dict file as weights=..."
            )
        return path
    path = Path(os.fspath(weights)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {path} does not exist. Pass the path of a ResNet18 state "
            "dict saved with torch.save(model.state_dict(), path), or weights=None to "
            "train from scratch."
        )
    return path


def _adapt_state_dict(state, model, in_channels, small_input):
    """Fit an ImageNet state dict to this model's stem and head."""
    own = model.state_dict()
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    conv = state.get("conv1.weight")
    if conv is not None and small_input:
        # A 7x7 ImageNet stem does not fit the 3x3 small-input stem: keep it fresh.
        del state["conv1.weight"]
    elif conv is not None and conv.shape[1] != in_channels:
        # Grayscale or multispectral input: spread the RGB filters over the channels.
        mean = conv.mean(dim=1, keepdim=True)
        state["conv1.weight"] = mean.repeat(1, in_channels, 1, 1) * (3 / in_channels)
    for key in ("fc.weight", "fc.bias"):
        if key in state and key in own and state[key].shape != own[key].shape:
            del state[key]  # a new head for this task's classes
    return state


class ResNet18(nn.Module):
    """torchvision's ResNet18 for ``num_classes`` outputs, ending in ``nn.Linear``.

    Parameters
    ----------
    num_classes : int
        Number of outputs.
    in_channels : int, default=3
        Image channels; the stem convolution is rebuilt when not 3.
    small_input : bool, default=False
        Use a 3x3 stride-1 stem without max-pooling (CIFAR style) for images of
        32 px or less.
    weights : None, "imagenet" or path, default=None
        Pretrained weights from a local file, or ``"imagenet"`` for torchvision's
        checkpoint in the torch hub cache. Never downloaded. The classifier head is
        re-initialised when its size differs; a grayscale stem averages the RGB
        filters.

    Examples
    --------
    >>> import torch
    >>> net = ResNet18(num_classes=7, in_channels=1, small_input=True)
    >>> net(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 7])
    """

    def __init__(self, num_classes, in_channels=3, small_input=False, weights=None):
        super().__init__()
        from torchvision.models import resnet18  # lazy: tabular paths skip it

        model = resnet18(weights=None, num_classes=num_classes)
        if small_input:
            model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
            model.maxpool = nn.Identity()
        elif in_channels != 3:
            model.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        if weights is not None:
            path = resnet18_weights_path(weights)
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict):
                raise ValueError(f"{path} does not hold a state dict.")
            state = _adapt_state_dict(state, model, in_channels, small_input)
            missing, unexpected = model.load_state_dict(state, strict=False)
            allowed = {"conv1.weight", "fc.weight", "fc.bias"}
            bad_missing = [k for k in missing if k not in allowed]
            if bad_missing or unexpected:
                raise ValueError(
                    f"Weights file {path} is not a ResNet18 state dict: missing "
                    f"{bad_missing[:5]}, unexpected {list(unexpected)[:5]}."
                )
        self.model = model
        # The 3x3 small-input stem never holds pretrained weights.
        self.fresh_stem = bool(small_input)

    def trunk_units(self):
        """The trunk in forward order (stem, then each residual block): what
        ``freeze`` counts."""
        m = self.model
        return [
            nn.ModuleList([m.conv1, m.bn1]),
            *m.layer1,
            *m.layer2,
            *m.layer3,
            *m.layer4,
        ]

    def _blocks(self):
        m = self.model
        return [*m.layer1, *m.layer2, *m.layer3, *m.layer4]

    def forward_to(self, x, k):
        """The output of the first ``k`` trunk units (see :meth:`trunk_units`)."""
        m = self.model
        if k >= 1:
            x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        for block in self._blocks()[: max(k - 1, 0)]:
            x = block(x)
        return x

    def forward_from(self, h, k):
        """The rest of the network on the output of the first ``k`` trunk units."""
        m = self.model
        if k == 0:
            h = m.maxpool(m.relu(m.bn1(m.conv1(h))))
        for block in self._blocks()[max(k - 1, 0) :]:
            h = block(h)
        return m.fc(torch.flatten(m.avgpool(h), 1))

    def forward(self, x):
        return self.model(x)
