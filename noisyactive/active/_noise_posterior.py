"""One noise rate with an interval: the classifier's estimate, a small random
audit and (where it applies) the symmetric-noise bound, combined.

Pure functions on small arrays. Each noisy class ``c`` gets a Beta posterior
for ``P(true != c | noisy = c)``: a prior from the cross-fitted classifier
estimate (its bootstrap spread widened by a systematic floor, and discounted
when the classifier hardly beats the class prior), updated by the audit's
counts of wrong labels among the audited samples of that class (binomial: the
audit draws uniformly within each class). The overall rate is the classes'
rates weighted by their shares of the data, which undoes the audit's
oversampling of rare classes.
"""

import math

import numpy as np
from scipy import stats
from sklearn.utils import Bunch

__all__ = [
    "audit_allocation",
    "audit_counts",
    "audit_size_for",
    "beta_prior",
    "classifier_reliability",
    "combine_noise_estimates",
    "noise_report",
    "stratified_audit",
    "weighted_audit_rate",
]


def audit_allocation(counts, size):
    """Samples to audit per class: every non-empty class gets at least
    ``max(1, size // (2 k))`` (all of it when smaller), the rest goes to the
    classes in proportion to their size (largest remainders first).

    Examples
    --------
    >>> audit_allocation([80, 15, 5], 20).tolist()
    [12, 5, 3]
    """
    counts = np.asarray(counts, dtype=np.int64)
    present = counts > 0
    size = int(min(size, counts.sum()))
    if size < present.sum():
        raise ValueError(
            f"An audit of {size} samples cannot see each of the {int(present.sum())} "
            "classes; audit at least one sample per class."
        )
    floor = max(1, size // (2 * int(present.sum())))
    alloc = np.minimum(counts, floor) * present
    left = size - int(alloc.sum())
    while left > 0:
        room = counts - alloc
        weight = np.where(room > 0, counts, 0).astype(float)
        ideal = left * weight / weight.sum()
        add = np.minimum(np.floor(ideal).astype(np.int64), room)
        rest = left - int(add.sum())
        order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
        for c in order:
            if rest == 0:
                break
            if room[c] > add[c]:
                add[c] += 1
                rest -= 1
        alloc += add
        left = size - int(alloc.sum())
    return alloc


def stratified_audit(labels, size, *, n_classes=None, random_state=None):
    """Draw an audit: ``size`` samples at random within each given label
    (:func:`audit_allocation` per class), with their inverse inclusion
    probabilities.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Noisy labels encoded ``0 .. k-1``.
    size : int
        Samples to audit (at most ``n``).
    n_classes : int, default=None
    random_state : int or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    indices : ndarray of int
        The audited samples, in random order (classes mixed).
    weights : ndarray of float
        ``n_c / k_c`` for each: how many samples of its class it stands for.

    Examples
    --------
    >>> idx, w = stratified_audit([0, 0, 0, 0, 1, 1], 4, random_state=0)
    >>> sorted(w.tolist())
    [1.0, 1.0, 2.0, 2.0]
    """
    y = np.asarray(labels, dtype=np.int64)
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    counts = np.bincount(y, minlength=k)
    alloc = audit_allocation(counts, size)
    rng = np.random.default_rng(random_state)
    parts = [
        rng.choice(np.flatnonzero(y == c), int(alloc[c]), replace=False)
        for c in range(k)
        if alloc[c]
    ]
    indices = rng.permutation(np.concatenate([np.zeros(0, np.int64), *parts]))
    weights = counts[y[indices]] / alloc[y[indices]]
    return indices.astype(np.intp), weights.astype(float)


def audit_counts(labels, audited, answers, n_classes):
    """``(answered, wrong)`` per noisy class: audited samples answered (an
    answer of -1 abstains) and those whose noisy label the answer changed.

    Examples
    --------
    >>> n, w = audit_counts([0, 0, 1, 1], [0, 1, 2], [0, 1, -1], 2)
    >>> n.tolist(), w.tolist()
    ([2, 0], [1, 0])
    """
    y = np.asarray(labels, dtype=np.int64)
    idx = np.asarray(audited, dtype=np.int64)
    ans = np.asarray(answers, dtype=np.int64)
    got = ans >= 0
    cls = y[idx[got]]
    answered = np.bincount(cls, minlength=n_classes)
    wrong = np.bincount(cls[ans[got] != cls], minlength=n_classes)
    return answered, wrong


def weighted_audit_rate(wrong, weights):
    """The audit's estimate of the overall rate: the inclusion-weighted share
    of wrong labels (equal to the class rates weighted by class shares).

    Examples
    --------
    >>> weighted_audit_rate([1, 0, 0, 1], [3.0, 3.0, 1.0, 1.0])
    0.5
    """
    w = np.asarray(weights, dtype=float)
    return float(np.dot(w, np.asarray(wrong, dtype=float)) / w.sum())


def classifier_reliability(
    agreement, majority_agreement, skill, *, low=0.02, high=0.30
):
    """How far the classifier's estimate can be trusted, in [0, 1].

    The margin is the better of the classifier's agreement with the labels
    over always predicting the most frequent class, and its log-loss skill
    over the class prior (the quantities
    :func:`~noisyactive.filtering.check_noise_estimate` warns on): 0 at or
    below ``low`` (where that warning fires), 1 from ``high``, linear between.

    Examples
    --------
    >>> classifier_reliability(0.70, 0.68, 0.01), classifier_reliability(0.9, 0.3, 0.6)
    (0.0, 1.0)
    """
    margin = max(float(agreement) - float(majority_agreement), float(skill))
    return float(np.clip((margin - low) / (high - low), 0.0, 1.0))


def beta_prior(mean, std, *, reliability=1.0, floor=0.05, base=2.0):
    """``(alpha, beta)`` of a Beta with the estimate's mean and spread.

    ``std`` is widened by a systematic ``floor`` (a classifier estimate errs by
    more than its bootstrap spread; 0.025-0.043 on the digits), the strength
    ``m (1 - m) / sd^2 - 1`` is multiplied by ``reliability`` and ``base``
    answers' worth is added. Without an estimate (``mean`` None) it is the
    Jeffreys prior ``(0.5, 0.5)``.

    Examples
    --------
    >>> a, b = beta_prior(0.2, 0.0, floor=0.04, reliability=0.0)
    >>> round(a, 6), round(b, 6)
    (0.4, 1.6)
    """
    if mean is None:
        return 0.5, 0.5
    m = float(np.clip(mean, 1e-3, 1 - 1e-3))
    sd2 = float(std) ** 2 + float(floor) ** 2
    strength = max(m * (1 - m) / sd2 - 1.0, 0.0) * float(reliability) + base
    return strength * m, strength * (1 - m)


def _interval(alpha, beta, level):
    tail = (1.0 - level) / 2
    return stats.beta.ppf([tail, 1 - tail], alpha, beta)


def combine_noise_estimates(
    noisy_counts,
    *,
    classifier=None,
    audit=None,
    level=0.95,
    floor=0.05,
    symmetric_bound=None,
):
    """One noise rate, per noisy class and overall, with intervals.

    Parameters
    ----------
    noisy_counts : array-like of int, shape (k,)
        Samples per noisy class, ``m_c``.
    classifier : dict or None
        The cross-fitted classifier estimate: ``rate``, ``rate_std``,
        ``class_rates``, ``class_rates_std`` (either std may be 0) and
        ``reliability`` (:func:`classifier_reliability`, default 1).
    audit : tuple of arrays or None
        ``(answered, wrong)`` per class (:func:`audit_counts`).
    level : float, default=0.95
    floor : float, default=0.05
        Systematic error added to the classifier's spread (:func:`beta_prior`).
    symmetric_bound : float or None
        :func:`~noisyactive.filtering.symmetric_noise_bound`, when the noise is
        known to be symmetric: the overall rate and its interval are capped
        there (the class rates scaled along).

    Returns
    -------
    Bunch
        ``rate``, ``interval`` (low, high), ``class_rates``,
        ``class_intervals`` (k, 2), ``alpha``, ``beta`` (the class
        posteriors), ``n_audited`` and ``n_wrong`` (the audit's counts), and
        ``reliability``. The overall rate is ``sum_c m_c rate_c / n``; its
        interval comes from one pooled Beta (the classifier's global estimate
        and the audit's effective sample size ``n^2 / sum_c m_c^2 / k_c``),
        moved to that rate: the class estimates share one classifier, so
        their errors are not independent.

    Examples
    --------
    >>> post = combine_noise_estimates([50, 50], audit=([10, 10], [2, 4]))
    >>> post.class_rates.round(3).tolist(), round(post.rate, 3)
    ([0.227, 0.409], 0.318)
    """
    m = np.asarray(noisy_counts, dtype=float)
    k = m.shape[0]
    share = m / m.sum()
    rel = 1.0 if classifier is None else float(classifier.get("reliability", 1.0))
    answered = np.zeros(k) if audit is None else np.asarray(audit[0], dtype=float)
    wrong = np.zeros(k) if audit is None else np.asarray(audit[1], dtype=float)
    alpha, beta = np.zeros(k), np.zeros(k)
    for c in range(k):
        if classifier is None:
            a0, b0 = beta_prior(None, 0.0)
        else:
            std = classifier.get("class_rates_std")
            a0, b0 = beta_prior(
                classifier["class_rates"][c],
                0.0 if std is None else std[c],
                reliability=rel,
                floor=floor,
            )
        alpha[c] = a0 + wrong[c]
        beta[c] = b0 + answered[c] - wrong[c]
    means = alpha / (alpha + beta)
    intervals = np.array([_interval(a, b, level) for a, b in zip(alpha, beta)])
    rate = float(share @ means)
    # The pooled Beta for the overall interval.
    if classifier is None:
        ga, gb = beta_prior(None, 0.0)
    else:
        ga, gb = beta_prior(
            classifier["rate"],
            classifier.get("rate_std") or 0.0,
            reliability=rel,
            floor=floor,
        )
    seen = answered > 0
    if seen.any():
        n_eff = m[seen].sum() ** 2 / np.sum(m[seen] ** 2 / answered[seen])
        p_hat = float(share[seen] @ (wrong[seen] / answered[seen])) / share[seen].sum()
        ga, gb = ga + n_eff * p_hat, gb + n_eff * (1 - p_hat)
    lo, hi = _interval(ga, gb, level)
    centre = ga / (ga + gb)
    low, high = max(0.0, rate - (centre - lo)), min(1.0, rate + (hi - centre))
    if symmetric_bound is not None:
        if rate > symmetric_bound > 0:
            means = np.minimum(means * symmetric_bound / rate, 1.0)
            rate = float(share @ means)
        high = min(high, float(symmetric_bound))
        low = min(low, rate)
    return Bunch(
        rate=rate,
        interval=(float(low), float(high)),
        class_rates=means,
        class_intervals=intervals,
        alpha=alpha,
        beta=beta,
        n_audited=answered.astype(int),
        n_wrong=wrong.astype(int),
        reliability=rel,
    )


def audit_size_for(rate, half_width=0.05, *, level=0.95, current_half_width=None):
    """Audit answers that bring a rate's interval under ``± half_width``.

    Binomial: ``k = z^2 p (1 - p) / half_width^2``. With ``current_half_width``
    the answers the current interval is already worth (same formula) are
    subtracted.

    Examples
    --------
    >>> audit_size_for(0.3), audit_size_for(0.3, current_half_width=0.1)
    (323, 243)
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = float(np.clip(rate, 0.0, 1.0))
    need = z * z * p * (1 - p) / half_width**2
    if current_half_width:
        need -= z * z * p * (1 - p) / float(current_half_width) ** 2
    return max(0, math.ceil(need - 1e-9))


def noise_report(posterior, *, half_width=0.05, source="the cross-fitted classifier"):
    """``(message, needed)``: the rate with its interval and, when the
    interval is wider than ``± half_width`` or the classifier is near the
    class prior, the audit answers that would bring it under (else 0).

    Examples
    --------
    >>> post = combine_noise_estimates([50, 50], audit=([10, 10], [2, 4]))
    >>> message, needed = noise_report(post, source="the audit")
    >>> needed > 0, message.split(";")[0]
    (True, 'Noise rate 0.318 (95% interval 0.145-0.526) from the audit')
    """
    low, high = posterior.interval
    rate = posterior.rate
    message = f"Noise rate {rate:.3f} (95% interval {low:.3f}-{high:.3f}) from {source}"
    weak = posterior.reliability < 1.0
    if weak:
        near = "is near" if posterior.reliability == 0 else "hardly beats"
        message += (
            f"; the classifier {near} the class prior (reliability "
            f"{posterior.reliability:.2f}), its estimate is discounted"
        )
    half = max(rate - low, high - rate)
    if half <= half_width and not weak:
        return message + ".", 0
    needed = audit_size_for(rate, half_width, current_half_width=half)
    if weak:  # the discounted estimate is worth little: count from none
        needed = audit_size_for(rate, half_width)
    message += (
        f"; an audit of about {needed} randomly drawn labels "
        f"(audit_size={needed}) would bring the interval under ±{half_width}."
    )
    return message, needed
