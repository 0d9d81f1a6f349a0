"""Class-aware keep quotas: noisyactive's own selection rule on top of the paper.

Under symmetric noise on a long tail, a rare class's noisy label set is mostly other
classes' flipped samples, and a per-batch small-loss ranking treats its few true
members as noise. Estimating how many samples of each noisy class carry their true
label, and keeping that many per class, protects the rare classes.
"""

import math

import numpy as np
import torch

from noisyactive.filtering._selection import split_mix

__all__ = [
    "estimate_class_clean_counts",
    "class_keep_quotas",
    "select_per_class",
    "transition_from_class_noise_rates",
]


def estimate_class_clean_counts(noisy_counts, noise_rate, *, transition_matrix=None):
    """Estimate, per noisy class, how many samples carry their true label.

    Under symmetric noise at rate ``tau`` over ``k`` classes the noisy count of class
    ``c`` is ``m_c = n_c (1 - tau) + (N - n_c) tau / (k - 1)``; solving for the true
    count ``n_c``, clipping it to at least 1 and multiplying by ``1 - tau`` gives
    the clean estimate, which is at most ``m_c``. (Clipping ``n_c`` itself to
    ``m_c`` would underestimate the largest class, whose true count exceeds its
    noisy count when more of its samples are flipped away than flipped in.)
    With a transition matrix ``T`` (``T[i, j] = P(noisy j | true i)``) the true
    counts solve ``T^T n = m`` and the clean estimate is ``n_c T[c, c]``.

    Parameters
    ----------
    noisy_counts : array-like of shape (k,)
    noise_rate : float
    transition_matrix : array-like of shape (k, k), optional

    Returns
    -------
    clean_counts : ndarray of shape (k,), float
        Between 1 (or ``m_c`` if smaller) and ``m_c``.

    Examples
    --------
    >>> estimate_class_clean_counts([500, 185, 115], 0.2).round(6).tolist()
    [480.0, 120.0, 40.0]
    """
    m = np.asarray(noisy_counts, dtype=float)
    k = m.size
    if transition_matrix is not None:
        t = np.asarray(transition_matrix, dtype=float)
        true = np.linalg.lstsq(t.T, m, rcond=None)[0]
        keep = np.diag(t)
    else:
        tau = float(noise_rate)
        denom = 1.0 - tau - tau / (k - 1)
        if abs(denom) < 1e-12:  # tau = (k-1)/k: labels carry no information
            true = m.copy()
        else:
            true = (m - m.sum() * tau / (k - 1)) / denom
        keep = np.full(k, 1.0 - tau)
    # The true count of a large class can exceed its noisy count (more of its
    # samples leave than enter), so the bound is on the clean part, not on n_c.
    upper = m / np.maximum(keep, 1e-12)
    true = np.clip(true, np.minimum(1.0, m), upper)
    return np.minimum(true * keep, m)


def transition_from_class_noise_rates(noisy_counts, class_noise_rates):
    """A transition matrix under which :func:`estimate_class_clean_counts`
    gives back known per-class rates: ``m_c (1 - r_c)`` clean samples in
    noisy class ``c``.

    ``r_c`` is the share of wrong labels among the samples *labelled* ``c``
    (what an audit measures), so it fixes ``P(true c | noisy c) = 1 - r_c``;
    the wrong labels' true classes are spread over the other classes in
    proportion to their noisy counts (the rates say nothing about them). The
    true counts ``n_i = sum_j m_j P(true i | noisy j)`` and Bayes' rule give
    ``T[i, j] = m_j P(true i | noisy j) / n_i``; a class with no samples gets
    an identity row.

    Examples
    --------
    >>> t = transition_from_class_noise_rates([80, 20], [0.1, 0.5])
    >>> t.round(4).tolist()
    [[0.878, 0.122], [0.4444, 0.5556]]
    >>> clean = estimate_class_clean_counts([80, 20], 0.0, transition_matrix=t)
    >>> clean.round(6).tolist()
    [72.0, 10.0]
    """
    m = np.asarray(noisy_counts, dtype=float)
    r = np.clip(np.asarray(class_noise_rates, dtype=float), 0.0, 1.0)
    k = m.size
    if r.shape != (k,):
        raise ValueError(f"class_noise_rates has shape {r.shape}; expected ({k},).")
    others = np.where(np.eye(k, dtype=bool), 0.0, m[None, :])
    spread = others / np.maximum(others.sum(axis=1, keepdims=True), 1e-12)
    # q[j, i] = P(true i | noisy j)
    q = np.where(np.eye(k, dtype=bool), 1.0 - r[:, None], r[:, None] * spread)
    joint = m[:, None] * q  # joint[j, i]: samples labelled j whose truth is i
    true = joint.sum(axis=0)
    t = np.eye(k)
    has = true > 0
    t[has] = joint.T[has] / true[has, None]
    return t


def class_keep_quotas(noisy_counts, clean_counts, progress):
    """Per-class number of samples to keep at a point of the forget schedule.

    ``q_c = floor(m_c - (m_c - clean_c) * progress)``, at least 1 for a non-empty
    class: every sample is kept at ``progress=0`` and the clean estimate at
    ``progress=1`` (``progress = tau_e / tau``).

    Examples
    --------
    >>> class_keep_quotas([10, 4, 0], [6.0, 0.5, 0.0], 1.0).tolist()
    [6, 1, 0]
    >>> class_keep_quotas([10, 4, 0], [6.0, 0.5, 0.0], 0.5).tolist()
    [8, 2, 0]
    """
    m = np.asarray(noisy_counts, dtype=float)
    c = np.asarray(clean_counts, dtype=float)
    q = np.floor(m - (m - c) * float(progress) + 1e-9).astype(np.int64)
    return np.where(m > 0, np.clip(q, 1, m.astype(np.int64)), 0)


def _rank_within_class(values, labels, n_classes):
    """0-based rank of every value inside its class (ties keep index order)."""
    order = torch.argsort(values, stable=True)
    order = order[torch.argsort(labels[order], stable=True)]
    starts = torch.cumsum(torch.bincount(labels, minlength=n_classes), 0)
    starts = torch.cat([starts.new_zeros(1), starts[:-1]])
    rank = torch.empty_like(order)
    rank[order] = (
        torch.arange(order.numel(), device=order.device) - starts[labels[order]]
    )
    return rank


def select_per_class(loss, vog, labels, quotas, mix_ratio):
    """Keep mask filling each class's quota the way the paper fills a batch.

    ``ceil((1 - m) q_c)`` samples of class ``c`` with the smallest loss, then the
    rest of the quota with the smallest VOG among the class's other samples. With
    ``vog=None`` or ``m = 0`` this is per-class small-loss selection.

    Parameters
    ----------
    loss, vog : torch.Tensor of shape (n,)
        ``vog`` may be None.
    labels : torch.LongTensor of shape (n,)
    quotas : array-like of int, shape (k,)
    mix_ratio : float

    Returns
    -------
    keep : torch.BoolTensor of shape (n,)

    Examples
    --------
    >>> import torch
    >>> loss = torch.tensor([0.5, 0.1, 0.9, 0.3, 0.2])
    >>> labels = torch.tensor([0, 0, 0, 1, 1])
    >>> select_per_class(loss, None, labels, [2, 1], 0.0).tolist()
    [True, True, False, False, True]
    """
    quotas = torch.as_tensor(np.asarray(quotas), device=loss.device, dtype=torch.long)
    k = quotas.numel()
    if vog is None or mix_ratio <= 0:
        return _rank_within_class(loss, labels, k) < quotas[labels]
    r1 = torch.tensor(
        [split_mix(int(q), mix_ratio)[0] for q in quotas.tolist()], device=loss.device
    )
    by_loss = _rank_within_class(loss, labels, k) < r1[labels]
    # Rank VOG among the samples not already kept: kept ones sort last.
    vog_rest = torch.where(by_loss, torch.full_like(vog, math.inf), vog.float())
    by_vog = _rank_within_class(vog_rest, labels, k) < (quotas - r1)[labels]
    return by_loss | by_vog
