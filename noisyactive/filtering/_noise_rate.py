"""Noise rates from out-of-sample probabilities (confident joint corrected for the
classifier's errors, with a bootstrap and warnings); the former loss mixture is
kept as a reference. The arithmetic on the joint is in
:mod:`~noisyactive.filtering._confident_joint` (re-exported here)."""

import warnings

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils import Bunch, check_random_state

from noisyactive.filtering._confident_joint import (
    agreement_noise_rate,
    confident_joint,
    noise_rates_from_joint,
    symmetric_noise_bound,
)

__all__ = [
    "agreement_noise_rate",
    "check_noise_estimate",
    "confident_joint",
    "estimate_noise",
    "estimate_noise_rate",
    "noise_rates_from_joint",
    "symmetric_noise_bound",
]


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
