"""Candidate clean-sample rules as pure functions on per-sample arrays.

Each function takes what :class:`~noisyactive.NoisyLabelFilter` records at the
end of training (losses, VOG, embeddings, probabilities) and returns scores
(lower = more likely clean) or keep masks; the rule objects of
:mod:`noisyactive.filtering._rules` combine them.
"""

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

__all__ = [
    "predicted_class_vog_gradients",
    "vog_within_loss_bands",
    "class_loss_mixture",
    "knn_label_agreement",
    "keep_lowest",
    "keep_per_class",
    "majority_vote",
    "confident_joint_mask",
]


def predicted_class_vog_gradients(logits, features):
    """Gradient of the cross-entropy of the *predicted* class ``c = argmax p``
    w.r.t. that class's bias and weight row: ``g = (p_c - 1) [1, h]``.

    The analogue of :func:`~noisyactive.filtering.vog_gradients` (which uses the
    given label ``y``: ``(p_y - 1) [1, h]``) with the network's own prediction
    as the label, as Agarwal et al. compute VOG at test time. It does not
    depend on the given label.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[0.0, 0.0], [0.0, float(np.log(3.0))]])
    >>> h = torch.tensor([[2.0, -4.0], [4.0, 0.0]])
    >>> predicted_class_vog_gradients(logits, h).round(decimals=4).tolist()
    [[-0.5, -1.0, 2.0], [-0.25, -1.0, -0.0]]
    """
    with torch.no_grad():
        p_c = torch.softmax(logits.float(), dim=1).max(dim=1, keepdim=True).values
        coef = p_c - 1.0
        return torch.cat([coef, coef * features.float()], dim=1)


def _ranks(values):
    """0-based ranks, ties in index order."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank


def vog_within_loss_bands(loss, vog, n_bands=10):
    """Rank by loss band first, by VOG inside a band: a score in [0, 1).

    The samples are cut into ``n_bands`` equal-count bands of ascending loss;
    the score is the position in the order (band, VOG, loss). A stably misfit
    sample has a small VOG but a high loss, so it stays in a high band instead
    of being admitted by its VOG. NaN VOG (too little history) ranks last in its
    band, by loss among those.

    Examples
    --------
    >>> vog_within_loss_bands([0.1, 0.2, 0.3, 0.4], [5.0, 1.0, 2.0, 0.0], 2).tolist()
    [0.25, 0.0, 0.75, 0.5]
    """
    loss = np.asarray(loss, dtype=float)
    vog = np.asarray(vog, dtype=float)
    n = loss.shape[0]
    if n == 0:
        return np.zeros(0)
    rank = _ranks(loss)
    band = rank * int(n_bands) // n
    vog = np.where(np.isfinite(vog), vog, np.inf)
    order = np.lexsort((rank, vog, band))  # last key is the primary one
    return _ranks_from_order(order) / n


def _ranks_from_order(order):
    pos = np.empty(order.shape[0], dtype=np.int64)
    pos[order] = np.arange(order.shape[0])
    return pos.astype(float)


def _normal_pdf(x, mean, var):
    return np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2 * np.pi * var)


def _two_gaussians(x, prior, n_iter):
    """P(high component | x) of a 1-D two-Gaussian mixture whose weights are
    fixed to ``(prior, 1 - prior)``; initialised by the ``prior`` quantile."""
    m = x.shape[0]
    n_low = int(round(prior * m))
    if m < 4 or np.ptp(x) <= 1e-12 or n_low in (0, m):
        return np.full(m, 1.0 - prior)
    xs = np.sort(x)
    floor = 1e-4 * np.var(x) + 1e-12
    mu = np.array([xs[:n_low].mean(), xs[n_low:].mean()])
    var = np.array([xs[:n_low].var(), xs[n_low:].var()]) + floor
    w = np.array([prior, 1.0 - prior])
    for _ in range(int(n_iter)):
        dens = w * _normal_pdf(x[:, None], mu, var) + 1e-300
        resp = dens / dens.sum(1, keepdims=True)
        nk = resp.sum(0) + 1e-12
        mu = (resp * x[:, None]).sum(0) / nk
        var = (resp * (x[:, None] - mu) ** 2).sum(0) / nk + floor
    dens = w * _normal_pdf(x[:, None], mu, var) + 1e-300
    p_high = dens[:, 1] / dens.sum(1)
    if mu[0] > mu[1]:  # the "clean" component ended above: swap the meaning
        p_high = 1.0 - p_high
    # Monotone in the loss: a smaller loss is never more likely noisy (a broad
    # noisy component would otherwise claim the far left tail).
    order = np.argsort(x, kind="stable")
    p_high[order] = np.maximum.accumulate(p_high[order])
    return p_high


def class_loss_mixture(loss, labels, clean_share, *, n_iter=50):
    """Per-class two-component Gaussian mixture on the log-loss (RoLT, DivideMix
    style): ``P(noisy)`` of every sample.

    Within each noisy class ``c`` a 1-D mixture is fitted to
    ``log(loss + 1e-4)`` by EM with its weights fixed to the class's estimated
    clean share ``clean_share[c]`` (the prior: the estimated clean count over
    the class size); the noisy probability is the posterior of the component
    with the larger mean, made non-decreasing in the loss. A class with fewer
    than 4 samples or no spread gets ``1 - clean_share[c]`` for every sample.

    Parameters
    ----------
    loss : array-like of shape (n,)
    labels : array-like of int, shape (n,)
    clean_share : array-like of shape (n_classes,)
        In [0, 1]; clipped to [0.001, 0.999].
    n_iter : int, default=50

    Returns
    -------
    p_noisy : ndarray of shape (n,)

    Examples
    --------
    >>> loss = [0.01, 0.012, 0.011, 2.0, 2.5, 0.3, 0.3]
    >>> class_loss_mixture(loss, [0, 0, 0, 0, 0, 1, 1], [0.6, 0.5]).round(3).tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.5]
    """
    x = np.log(np.maximum(np.asarray(loss, dtype=float), 0.0) + 1e-4)
    labels = np.asarray(labels, dtype=np.int64)
    share = np.clip(np.asarray(clean_share, dtype=float), 1e-3, 1 - 1e-3)
    out = np.empty(x.shape[0])
    for c in np.unique(labels):
        members = labels == c
        out[members] = _two_gaussians(x[members], share[c], n_iter)
    return out


def knn_label_agreement(embeddings, labels, n_neighbors=10, n_classes=None):
    """Label agreement among the ``k`` nearest neighbours (cosine distance) in
    an embedding (SimiFeat, WANN style).

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
    labels : array-like of int, shape (n,)
    n_neighbors : int, default=10
        At most ``n - 1``; a sample is not its own neighbour.
    n_classes : int, optional

    Returns
    -------
    disagreement : ndarray of shape (n,)
        ``(most votes for another label - votes for the given label) / k`` in
        [-1, 1]: at most 0 when the given label is a plurality (kept).
    agreement : ndarray of shape (n,)
        Share of neighbours with the given label.
    neighbour_label : ndarray of int, shape (n,)
        The neighbours' plurality label (the given label when it ties).

    Examples
    --------
    >>> emb = [[1, 0], [1, 0.1], [1, 0.2], [0, 1], [0.1, 1], [0.2, 1]]
    >>> dis, agree, lab = knn_label_agreement(emb, [0, 0, 1, 1, 1, 1], 2)
    >>> dis.tolist(), agree.tolist(), lab.tolist()
    ([0.0, 0.0, 1.0, -1.0, -1.0, -1.0], [0.5, 0.5, 0.0, 1.0, 1.0, 1.0], [0, 0, 0, 1, 1, 1])
    """  # noqa: E501
    emb = np.asarray(embeddings, dtype=float)
    y = np.asarray(labels, dtype=np.int64)
    n = y.shape[0]
    k_cls = int(n_classes or (y.max() + 1 if n else 1))
    k = max(1, min(int(n_neighbors), n - 1))
    norm = np.linalg.norm(emb, axis=1, keepdims=True)
    emb = emb / np.where(norm > 0, norm, 1.0)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(emb)
    idx = nn.kneighbors(emb, return_distance=False)
    # Drop the sample itself (or, among exact duplicates, the last neighbour).
    is_self = idx == np.arange(n)[:, None]
    drop = np.where(is_self.any(1), is_self.argmax(1), k)
    keep = np.ones_like(idx, dtype=bool)
    keep[np.arange(n), drop] = False
    neigh = idx[keep].reshape(n, k)
    votes = np.zeros((n, k_cls))
    np.add.at(votes, (np.repeat(np.arange(n), k), y[neigh].ravel()), 1.0)
    own = votes[np.arange(n), y]
    other = votes.copy()
    other[np.arange(n), y] = -1.0
    best_other = other.max(1)
    label = np.where(own >= best_other, y, other.argmax(1))
    return (best_other - own) / k, own / k, label


def keep_lowest(scores, n_keep):
    """Mask of the ``n_keep`` lowest scores (ties in index order; NaN last).

    Examples
    --------
    >>> keep_lowest([0.3, 0.1, 0.2, 0.1], 2).tolist()
    [False, True, False, True]
    """
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(np.where(np.isnan(scores), np.inf, scores), kind="stable")
    mask = np.zeros(scores.shape[0], dtype=bool)
    mask[order[: max(0, int(n_keep))]] = True
    return mask


def keep_per_class(scores, labels, quotas):
    """Mask keeping, in every class ``c``, the ``quotas[c]`` lowest scores.

    Examples
    --------
    >>> keep_per_class([0.5, 0.1, 0.9, 0.3, 0.2], [0, 0, 0, 1, 1], [2, 1]).tolist()
    [True, True, False, False, True]
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=np.int64)
    mask = np.zeros(scores.shape[0], dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        mask[members[keep_lowest(scores[members], quotas[c])]] = True
    return mask


def majority_vote(masks):
    """Kept by more than half of the masks.

    Examples
    --------
    >>> majority_vote([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0]]).tolist()
    [True, True, True, False]
    """
    masks = np.asarray(masks, dtype=bool)
    return masks.sum(0) * 2 > masks.shape[0]


def confident_joint_mask(labels, pred_probs, filter_by="confident_learning"):
    """cleanlab's keep mask: not a label issue by
    ``cleanlab.filter.find_label_issues(labels, pred_probs, filter_by=...)``
    (``"confident_learning"``: the off-diagonal of the confident joint).

    cleanlab is optional (``pip install cleanlab``, or the ``benchmarks``
    extra); without it this raises ImportError.
    """
    try:
        from cleanlab.filter import find_label_issues
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The confident-joint selection needs cleanlab: pip install cleanlab "
            "(or pip install 'noisyactive[benchmarks]')."
        ) from exc
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=float)
    probs = probs / probs.sum(1, keepdims=True)
    return ~find_label_issues(labels, probs, filter_by=filter_by)
