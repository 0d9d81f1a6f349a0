"""Find a network's final linear layer and read its input (the embedding)."""

from contextlib import contextmanager

from torch import nn

__all__ = ["final_linear", "capture_features"]


def final_linear(module):
    """Return the final ``nn.Linear`` of ``module``.

    The final layer is the last leaf module that owns parameters, in registration
    order. The VOG closed form (``g_i = (p_{i,y_i} - 1) [1, h_i]``) holds only when
    that layer is linear, so anything else is refused.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    layer : torch.nn.Linear
        Its final linear layer.

    Raises
    ------
    TypeError
        If the last layer with parameters is not an ``nn.Linear``.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> final_linear(net).out_features
    3
    """
    last = None
    for sub in module.modules():
        has_own_params = any(True for _ in sub.parameters(recurse=False))
        if has_own_params and not list(sub.children()):
            last = sub
    if not isinstance(last, nn.Linear):
        found = "no layer with parameters" if last is None else type(last).__name__
        raise TypeError(
            f"The module {type(module).__name__} must end in an nn.Linear layer "
            f"(its last layer with parameters is {found}). noisyactive reads the "
            "input of that layer as the embedding and computes VOG from it."
        )
    return last


@contextmanager
def capture_features(layer):
    """Record the input of ``layer`` on every forward call.

    Yields a dict whose ``"h"`` entry holds the latest input tensor. A forward
    pre-hook costs nothing extra: the tensor is computed by the forward pass anyway.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> with capture_features(net[2]) as store:
    ...     _ = net(torch.zeros(2, 4))
    >>> tuple(store["h"].shape)
    (2, 8)
    """
    store = {}

    def hook(_module, args):
        store["h"] = args[0]

    handle = layer.register_forward_pre_hook(hook)
    try:
        yield store
    finally:
        handle.remove()
