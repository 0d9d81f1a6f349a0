"""Noise rates from out-of-sample probabilities (confident joint corrected for the
classifier's errors); the former loss mixture is kept as a reference."""

import warnings

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "agreement_noise_rate",
    "check_noise_estimate",
    "confident_joint",
    "estimate_noise",
    "estimate_noise_rate",
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


def _log_loss_skill(y, probs, noisy_counts):
    """1 - log-loss of the probabilities / log-loss of the noisy class prior."""
    prior = noisy_counts / noisy_counts.sum()
    own = np.clip(probs[np.arange(y.size), y], 1e-12, 1.0)
    base = -np.mean(np.log(prior[y]))
    return float(1.0 + np.mean(np.log(own)) / base) if base > 0 else 0.0


def _point_estimate(y, probs, k):
    """Confident joint on the mean probabilities, its global rate lowered to
    the agreement estimate when that is smaller, per-class rates scaled along."""
    joint = confident_joint(y, probs.mean(0), n_classes=k)
    class_rates, cl_rate = noise_rates_from_joint(joint)
    rate = min(cl_rate, agreement_noise_rate(y, probs.argmax(2), k))
    scale = rate / cl_rate if cl_rate > 0 else 1.0
    return rate, class_rates * scale, joint, cl_rate


def estimate_noise(
    labels,
    pred_probs,
    *,
    n_bootstrap=200,
    max_std=0.05,
    random_state=0,
    warn=True,
):
    """Global and per-class noise rates from out-of-sample probabilities, with
    their uncertainty, warning when the estimate should not be trusted.

    The per-class structure is the calibrated confident joint
    (:func:`confident_joint`) of the mean probabilities. Its global rate counts
    the classifier's own mistakes as label noise, so with several independent
    cross-fits the global rate is lowered to :func:`agreement_noise_rate` when
    that is smaller, and the per-class rates are scaled by the same factor
    (measured in ``benchmarks/bench_noise_rate.py``).

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Noisy labels encoded as ``0 .. k-1``.
    pred_probs : array-like of shape (n, k) or (R, n, k)
        Out-of-sample probabilities of ``R`` independent cross-fits
        (:func:`cross_fit_predict_proba`).
    n_bootstrap : int, default=200
        Bootstrap resamples of the samples for ``rate_std``.
    max_std : float, default=0.05
        Warn when the bootstrap standard deviation of the global rate, or half the
        spread of the single cross-fits' rates, exceeds this.
    random_state : int, RandomState or None, default=0
    warn : bool, default=True
        Emit the warnings (they are also listed in ``warnings``).

    Returns
    -------
    result : Bunch
        - ``rate``: float, estimated share of wrong labels;
        - ``rate_std``: bootstrap standard deviation of ``rate``;
        - ``class_rates``: ``P(true != c | noisy = c)`` per noisy class;
        - ``class_rates_std``: their bootstrap standard deviations;
        - ``class_clean_counts``: estimated correctly labelled samples per noisy
          class, ``m_c (1 - class_rates[c])``;
        - ``noisy_counts``: ``m_c``;
        - ``joint``: the calibrated confident joint (rows noisy, columns true);
        - ``transition``: the estimated ``P(noisy | true)`` (rows true), whose
          clean counts (:func:`estimate_class_clean_counts`) are
          ``class_clean_counts``;
        - ``confident_rate``: the confident joint's own global rate;
        - ``repeat_rates``: the confident-joint rate of every single cross-fit;
        - ``agreement``: share of predictions equal to the noisy label, and
          ``majority_agreement``, the same for always predicting the most
          frequent noisy class;
        - ``skill``: ``1 - log-loss / log-loss of the class prior`` of the
          mean probabilities on the noisy labels (a classifier no better than
          the prior in both ways has not learned the classes, and the estimate
          then is unreliable);
        - ``symmetric_bound``: :func:`symmetric_noise_bound` of the noisy
          counts, the most the rate can be if wrong labels are spread evenly
          (it needs no classifier);
        - ``warnings``: the messages about an unreliable estimate.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> true = rng.integers(0, 3, 600)
    >>> noisy = np.where(rng.random(600) < 0.3, (true + 1) % 3, true)
    >>> probs = np.full((600, 3), 0.1)
    >>> probs[np.arange(600), true] = 0.8
    >>> est = estimate_noise(noisy, probs, n_bootstrap=20)
    >>> bool(abs(est.rate - np.mean(noisy != true)) < 1e-9)
    True
    """
    y = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=float)
    if probs.ndim == 2:
        probs = probs[None]
    k = probs.shape[2]
    rng = check_random_state(random_state)
    rate, class_rates, joint, cl_rate = _point_estimate(y, probs, k)
    noisy_counts = np.bincount(y, minlength=k)
    base = noise_rates_from_joint(joint)[0]
    n = y.shape[0]
    boot = [
        _point_estimate(y[idx], probs[:, idx], k)
        for idx in (rng.randint(0, n, n) for _ in range(int(n_bootstrap)))
    ]
    rate_std = float(np.std([b[0] for b in boot])) if len(boot) > 1 else 0.0
    class_std = np.std([b[1] for b in boot], 0) if len(boot) > 1 else np.zeros(k)
    repeat_rates = [
        noise_rates_from_joint(confident_joint(y, p, n_classes=k))[1] for p in probs
    ]
    # The joint with its off-diagonal scaled like the rates, as a transition
    # matrix (rows true, columns noisy): its clean counts are m_c (1 - rate_c).
    scaled = joint * (class_rates / np.where(base > 0, base, 1.0))[:, None]
    np.fill_diagonal(scaled, noisy_counts * (1.0 - class_rates))
    true_counts = scaled.sum(0)
    transition = np.divide(
        scaled.T, true_counts[:, None], out=np.eye(k), where=true_counts[:, None] > 0
    )
    result = Bunch(
        rate=float(rate),
        rate_std=rate_std,
        class_rates=class_rates,
        class_rates_std=class_std,
        class_clean_counts=noisy_counts * (1.0 - class_rates),
        noisy_counts=noisy_counts,
        joint=joint,
        transition=transition,
        confident_rate=float(cl_rate),
        repeat_rates=np.asarray(repeat_rates),
        agreement=float(np.mean(probs.argmax(2) == y[None, :])),
        majority_agreement=float(noisy_counts.max() / max(n, 1)),
        skill=_log_loss_skill(y, probs.mean(0), noisy_counts),
        symmetric_bound=symmetric_noise_bound(noisy_counts),
    )
    result.warnings = check_noise_estimate(result, max_std=max_std)
    if warn:
        for message in result.warnings:
            warnings.warn(message, UserWarning, stacklevel=2)
    return result


def check_noise_estimate(result, *, max_std=0.05, low=0.01, high=0.9, min_skill=0.02):
    """Messages about an unstable or implausible noise estimate (empty if fine).

    Parameters
    ----------
    result : Bunch
        As returned by :func:`estimate_noise`.
    max_std : float, default=0.05
        Largest acceptable bootstrap std (or half fold gap) of the global rate.
    low, high : float, default=0.01 and 0.9
        A global rate outside ``[low, high]`` is flagged as implausible.
    min_skill : float, default=0.02
        Warn when both the margin of ``agreement`` over ``majority_agreement``
        and ``skill`` are below this.

    Returns
    -------
    messages : list of str
    """
    messages = []
    rate, std = result.rate, result.rate_std
    if std > max_std:
        messages.append(
            f"The noise-rate estimate {rate:.3f} is unstable: its bootstrap standard "
            f"deviation is {std:.3f} (> {max_std})."
        )
    repeats = np.asarray(result.get("repeat_rates", []))
    if repeats.size > 1 and np.ptp(repeats) / 2 > max_std:
        messages.append(
            f"The noise-rate estimate {rate:.3f} is unstable across cross-fits: "
            f"{np.round(repeats, 3).tolist()}."
        )
    if rate < low or rate > high:
        messages.append(
            f"The noise-rate estimate {rate:.3f} is implausible (outside "
            f"[{low}, {high}]); pass forget_rate explicitly if you know it."
        )
    g, g0 = result.get("agreement"), result.get("majority_agreement")
    skill = result.get("skill")
    if g is not None and g < g0 + min_skill and skill < min_skill:
        messages.append(
            f"The noise-rate estimate {rate:.3f} is unreliable: the cross-fitted "
            f"classifier agrees with the labels ({g:.3f}) hardly more than always "
            f"predicting the most frequent class ({g0:.3f}), and its log-loss "
            f"improves on the class prior's by {skill:.1%} only. Train it longer "
            "or pass forget_rate explicitly."
        )
        bound = result.get("symmetric_bound")
        if bound is not None and bound < rate:
            messages[-1] += (
                f" If the wrong labels are spread evenly over the classes "
                f"(symmetric noise), the rate is at most {bound:.3f} "
                "((classes - 1) x the rarest noisy class's share)."
            )
    clean = np.asarray(result.class_clean_counts)
    m = np.asarray(result.noisy_counts)
    none_left = np.flatnonzero((m > 0) & (clean < 1.0))
    if none_left.size:
        messages.append(
            f"The noise estimate leaves classes {none_left.tolist()} (noisy counts "
            f"{m[none_left].tolist()}) with fewer than one clean sample "
            f"({np.round(clean[none_left], 2).tolist()})."
        )
    return messages


def estimate_noise_rate(losses, *, max_rate=0.9, random_state=0):
    """Share of samples in the high-loss component of a two-Gaussian mixture.

    The former default, kept as a reference (see ``benchmarks/bench_noise_rate.py``
    for how it compares with :func:`estimate_noise`). Early in training, per-sample
    losses are bimodal (clean low, mislabeled high); a two-component Gaussian
    mixture on the log-losses (as DivideMix fits on the losses) estimates the
    noisy share as the share assigned to the higher-mean component.

    Parameters
    ----------
    losses : array-like of shape (n,)
        Per-sample losses (finite).
    max_rate : float, default=0.9
        Upper clip of the estimate.
    random_state : int, default=0
        Seed of the mixture fit.

    Returns
    -------
    rate : float in [0, max_rate]

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> losses = np.r_[rng.lognormal(-3, 0.5, 700), rng.lognormal(1, 0.3, 300)]
    >>> round(estimate_noise_rate(losses), 2)
    0.3
    """
    x = np.asarray(losses, dtype=float).reshape(-1, 1)
    x = x[np.isfinite(x[:, 0])]
    # Log scale: cross-entropy losses are heavy-tailed, and on the log scale the
    # mixture stops splitting the noisy mode in two at high noise rates.
    x = np.log(np.maximum(x, 0.0) + 1e-4)
    if x.shape[0] < 4 or np.ptp(x) <= 1e-12:
        return 0.0
    gmm = GaussianMixture(2, max_iter=100, tol=1e-3, random_state=random_state)
    gmm.fit(x)
    high = int(np.argmax(gmm.means_[:, 0]))
    rate = float(np.mean(gmm.predict_proba(x)[:, high] > 0.5))
    return float(np.clip(rate, 0.0, max_rate))
