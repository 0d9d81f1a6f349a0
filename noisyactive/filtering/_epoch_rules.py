"""The Co-teaching epoch protocol as pure functions: when the estimated forget
rate freezes, when VOG joins the selection, and the cross-update loss."""

import numpy as np

__all__ = [
    "cross_update_loss",
    "cross_update_loss_masked",
    "warmup_forget_rate",
    "uses_vog",
]


def warmup_forget_rate(estimates, epoch, num_gradual):
    """The forget rate ``tau`` of an epoch under ``forget_rate="auto"``.

    During the warm-up (``epoch < num_gradual``) the latest estimate is used;
    at the end of the warm-up the rate freezes to the median of the estimates of
    the warm-up's second half (single late estimates sink as the networks start
    to memorise noise).

    Parameters
    ----------
    estimates : sequence of float
        One estimate per epoch so far (from the previous epoch's losses).
    epoch : int
        Completed epochs.
    num_gradual : int
        ``Tk``, the warm-up length.

    Returns
    -------
    rate : float
        0 when there is no estimate yet.
    frozen : bool
        True when ``rate`` is final.

    Examples
    --------
    >>> warmup_forget_rate([], 0, 3)
    (0.0, False)
    >>> warmup_forget_rate([0.1, 0.3], 2, 3)
    (0.3, False)
    >>> warmup_forget_rate([0.1, 0.3, 0.5, 0.4], 4, 3)
    (0.45, True)
    """
    if not len(estimates):
        return 0.0, False
    if epoch >= num_gradual:
        late = list(estimates)[len(estimates) // 2 :]
        return float(np.median(late)), True
    return float(estimates[-1]), False


def uses_vog(mix_ratio, epoch, num_gradual, vog_ready):
    """Whether VOG takes part in this epoch's selection: a positive mix ratio,
    the warm-up over, and a full window of gradient history.

    Examples
    --------
    >>> uses_vog(0.2, 10, 10, True), uses_vog(0.2, 9, 10, True)
    (True, False)
    >>> uses_vog(0.0, 12, 10, True), uses_vog(0.2, 12, 10, False)
    (False, False)
    """
    return bool(mix_ratio > 0 and epoch >= num_gradual and vog_ready)


def cross_update_loss(loss1, loss2, chosen_by_1, chosen_by_2):
    """Co-teaching's cross update: network 1 learns from network 2's choice and
    network 2 from network 1's, each with the mean loss of the chosen samples.

    One backward of the sum equals two separate updates, because the two
    networks' parameters are disjoint. With nothing chosen the loss is a zero
    that still depends on both networks (so ``backward`` works).

    Parameters
    ----------
    loss1, loss2 : torch.Tensor of shape (b,)
        Per-sample losses of the two networks.
    chosen_by_1, chosen_by_2 : torch.LongTensor
        Batch positions each network selected.

    Examples
    --------
    >>> import torch
    >>> l1, l2 = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0, 30.0])
    >>> float(cross_update_loss(l1, l2, torch.tensor([0]), torch.tensor([1, 2])))
    12.5
    >>> float(cross_update_loss(l1, l2, torch.tensor([], dtype=torch.long),
    ...                         torch.tensor([], dtype=torch.long)))
    0.0
    """
    return _mean_or_zero(loss1, chosen_by_2) + _mean_or_zero(loss2, chosen_by_1)


def _mean_or_zero(loss, positions):
    return loss[positions].mean() if positions.numel() else 0.0 * loss.sum()


def cross_update_loss_masked(loss1, loss2, keep1, keep2):
    """:func:`cross_update_loss` with 0/1 weights instead of positions (the
    class-quota selection, decided before the epoch): no host synchronisation.

    Examples
    --------
    >>> import torch
    >>> l1, l2 = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0, 30.0])
    >>> k1, k2 = torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 1.0])
    >>> float(cross_update_loss_masked(l1, l2, k1, k2))
    12.5
    >>> float(cross_update_loss_masked(l1, l2, k1, torch.zeros(3)))
    10.0
    """
    return (loss1 * keep2).sum() / keep2.sum().clamp_min(1.0) + (
        loss2 * keep1
    ).sum() / keep1.sum().clamp_min(1.0)
