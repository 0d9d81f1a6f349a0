"""Small-loss + VOG sample selection, vectorised (no loop over samples)."""

import math

import torch

__all__ = ["split_mix", "select_small_loss_and_vog"]


def split_mix(n_keep, mix_ratio):
    """Split ``R`` kept samples into ``R1 = ceil((1 - m) R)`` by loss and
    ``R2 = R - R1`` by VOG.

    Examples
    --------
    >>> split_mix(10, 0.0), split_mix(10, 0.2), split_mix(7, 0.5), split_mix(0, 0.5)
    ((10, 0), (8, 2), (4, 3), (0, 0))
    """
    r1 = min(n_keep, int(math.ceil((1.0 - mix_ratio) * n_keep - 1e-9)))
    return r1, n_keep - r1


def select_small_loss_and_vog(loss, vog, n_keep, mix_ratio):
    """Indices of the kept samples of one batch (Khanal et al. 2024, Sec. 2.1).

    ``R1`` samples with the smallest loss, then ``R2`` samples with the smallest VOG
    among the rest of the batch. With ``vog=None`` (warm-up, or VOG history not
    yet complete) or ``mix_ratio=0`` this is plain Co-teaching: the ``n_keep``
    smallest losses. Ties keep batch order (stable sorts), so the result is
    deterministic. Runs on the tensors' device without a host synchronisation.

    Parameters
    ----------
    loss : torch.Tensor of shape (b,)
        Per-sample losses of the selecting network.
    vog : torch.Tensor of shape (b,) or None
        Per-sample VOG scores of the same network.
    n_keep : int
        ``R``, from :func:`~noisyactive.filtering.n_remember`.
    mix_ratio : float
        ``m`` in [0, 1].

    Returns
    -------
    indices : torch.LongTensor of shape (n_keep,)
        Batch positions: first the small-loss ones (ascending loss), then the VOG
        ones (ascending VOG).

    Examples
    --------
    >>> import torch
    >>> loss = torch.tensor([0.1, 0.9, 0.2, 0.8, 0.3])
    >>> vog = torch.tensor([5.0, 0.1, 5.0, 0.2, 5.0])
    >>> select_small_loss_and_vog(loss, None, 3, 0.5).tolist()
    [0, 2, 4]
    >>> select_small_loss_and_vog(loss, vog, 3, 0.5).tolist()
    [0, 2, 1]
    """
    b = loss.shape[0]
    n_keep = max(0, min(int(n_keep), b))
    order = torch.argsort(loss.detach(), stable=True)
    if vog is None or mix_ratio <= 0:
        return order[:n_keep]
    r1, r2 = split_mix(n_keep, mix_ratio)
    by_loss, rest = order[:r1], order[r1:]
    by_vog = rest[torch.argsort(vog[rest], stable=True)[:r2]]
    return torch.cat([by_loss, by_vog])
