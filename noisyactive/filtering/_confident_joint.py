"""The confident-joint arithmetic: counts of (noisy label, likely true label)
pairs, the noise rates they give, the agreement correction for the
classifier's own errors, and the symmetric-noise bound from the class counts."""

import numpy as np

__all__ = [
    "agreement_noise_rate",
    "confident_joint",
    "noise_rates_from_joint",
    "symmetric_noise_bound",
]


def confident_joint(labels, pred_probs, *, calibrate=True, n_classes=None):
    """Counts of (noisy label, likely true label) pairs (confident learning).

    A sample of noisy class ``i`` counts towards true class ``j`` when its
    out-of-sample probability of ``j`` reaches ``t_j``, the mean probability of
    ``j`` among the samples labelled ``j`` (the per-class threshold that makes the
    count robust to class imbalance and to miscalibration); among several such
    ``j`` the most probable of them wins (cleanlab's ``compute_confident_joint``
    takes the overall argmax there), and samples above no threshold are not
    counted.
    ``calibrate`` rescales every row to the noisy class count, so that the
    diagonal estimates the number of correctly labelled samples per noisy class
    (cleanlab's ``calibrate_confident_joint``).

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Noisy labels encoded as ``0 .. k-1``.
    pred_probs : array-like of shape (n, k)
        Out-of-sample predicted probabilities.
    calibrate : bool, default=True
    n_classes : int, default=None
        ``k``; ``pred_probs.shape[1]`` by default.

    Returns
    -------
    joint : ndarray of shape (k, k), float
        ``joint[i, j]``: samples labelled ``i`` whose true class is likely ``j``.

    References
    ----------
    .. [1] C. Northcutt, L. Jiang, I. Chuang, "Confident learning: estimating
       uncertainty in dataset labels", JAIR 70, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6], [0.8, 0.2], [0.2, 0.8]])
    >>> confident_joint([0, 0, 1, 1, 1], p).tolist()
    [[2.0, 0.0], [1.0, 2.0]]
    """
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(pred_probs, dtype=float)
    k = p.shape[1] if n_classes is None else int(n_classes)
    counts = np.bincount(y, minlength=k).astype(float)
    sums = np.zeros((k, p.shape[1]))
    np.add.at(sums, y, p)
    diag = np.diag(sums)[:k] / np.maximum(counts, 1.0)
    thresholds = np.where(counts > 0, diag, np.inf)
    # Slack: a sample exactly at its threshold counts. Among several classes
    # above threshold the most probable wins; cleanlab's overall argmax hands a
    # weak classifier's samples to the majority class (bench_noise_rate.py).
    above = p >= thresholds[None, :] - 1e-6
    guess = np.where(above, p, -np.inf).argmax(1)
    ok = above.any(1)
    joint = np.zeros((k, k))
    np.add.at(joint, (y[ok], guess[ok]), 1.0)
    if calibrate:
        rows = joint.sum(1)
        scale = np.divide(counts, rows, out=np.zeros(k), where=rows > 0)
        joint = joint * scale[:, None]
        # A non-empty class none of whose samples passed any threshold:
        # nothing is known, count it as clean rather than drop it.
        empty = (rows == 0) & (counts > 0)
        joint[empty, empty] = counts[empty]
    return joint


def noise_rates_from_joint(joint):
    """Per-noisy-class and global noise rates from a calibrated confident joint.

    Parameters
    ----------
    joint : array-like of shape (k, k)
        Rows: noisy class, columns: true class, row sums the noisy counts.

    Returns
    -------
    class_rates : ndarray of shape (k,)
        ``P(true != c | noisy = c)`` (0 for an empty class).
    rate : float
        Share of all samples off the diagonal.

    Examples
    --------
    >>> rates, rate = noise_rates_from_joint([[8.0, 2.0], [0.0, 10.0]])
    >>> rates.tolist(), rate
    ([0.2, 0.0], 0.1)
    """
    j = np.asarray(joint, dtype=float)
    m = j.sum(1)
    clean = np.diag(j)
    rates = np.divide(m - clean, m, out=np.zeros_like(m), where=m > 0)
    total = m.sum()
    return rates, float((total - clean.sum()) / total) if total > 0 else 0.0


def agreement_noise_rate(labels, predictions, n_classes):
    """Global noise rate corrected for the classifier's own errors.

    With ``R >= 2`` out-of-sample predictions per sample (independent
    cross-fits), ``g`` is the share of predictions equal to the noisy label and
    ``a2`` the share of pairs of predictions that agree. If each prediction is
    right with probability ``a`` and its errors and the label flips are spread
    over the other ``k - 1`` classes independently, ``a2 = a^2 + (1 - a)^2/(k - 1)``
    gives ``a``, and ``g = a (1 - tau) + (1 - a) tau / (k - 1)`` gives ``tau``.
    Confident learning alone reads every classifier error as label noise
    (``tau = 1 - g`` for a perfect agreement ``a = 1``).

    Parameters
    ----------
    labels : array-like of int, shape (n,)
    predictions : array-like of int, shape (R, n)
    n_classes : int

    Returns
    -------
    rate : float in [0, 1]

    Examples
    --------
    >>> agreement_noise_rate([0, 1, 1, 0], [[0, 1, 0, 0], [0, 1, 0, 0]], 2)
    0.25
    """
    y = np.asarray(labels)
    h = np.atleast_2d(np.asarray(predictions))
    k, r = int(n_classes), h.shape[0]
    g = float(np.mean(h == y[None, :]))
    if r < 2:
        return 1.0 - g
    a2 = np.mean([np.mean(h[i] == h[j]) for i in range(r) for j in range(i + 1, r)])
    # Root in [1/k, 1] of (1 + 1/(k-1)) a^2 - 2/(k-1) a + 1/(k-1) - a2 = 0.
    qa, qb, qc = 1 + 1 / (k - 1), -2 / (k - 1), 1 / (k - 1) - a2
    a = (-qb + np.sqrt(max(qb * qb - 4 * qa * qc, 0.0))) / (2 * qa)
    denom = a - (1 - a) / (k - 1)
    if denom <= 1e-6:  # the classifier is at chance: no information
        return 1.0 - g
    return float(np.clip((a - g) / denom, 0.0, 1.0))


def symmetric_noise_bound(noisy_counts):
    """Largest noise rate compatible with the noisy class counts if the wrong
    labels are spread evenly over the other classes (symmetric noise).

    Under symmetric noise at rate ``tau`` over ``k`` classes, a noisy class's
    share is ``tau / (k - 1) + (1 - tau k / (k - 1)) * pi_c >= tau / (k - 1)``,
    whatever the true shares ``pi_c`` (for ``tau <= (k - 1) / k``, where the
    labels are still better than chance); hence ``tau <= (k - 1) min_c m_c / n``.
    It is tight when the rarest class is rare, and says nothing about
    asymmetric (e.g. pair-flip) noise.

    Parameters
    ----------
    noisy_counts : array-like of int, shape (k,)

    Returns
    -------
    bound : float in [0, 1]

    Examples
    --------
    >>> symmetric_noise_bound([50, 25, 25])
    0.5
    """
    m = np.asarray(noisy_counts, dtype=float)
    if m.size < 2 or m.sum() <= 0:
        return 1.0
    return float(min(1.0, (m.size - 1) * m.min() / m.sum()))
