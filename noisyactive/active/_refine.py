"""The noise rate of the original labels, refined by the oracle's answers."""

import numpy as np

__all__ = ["refine_noise_rates"]


def _stratum_priors(prior, n_total, n_kept):
    # The phase-1 estimate says prior * n_total labels of the class are wrong.
    # Before any answer, assume the filter rejected them first: the rejected
    # part holds min(wrong, rejected) of them, the kept part the rest.
    wrong = prior * n_total
    n_rej = n_total - n_kept
    p_rej = min(1.0, wrong / n_rej) if n_rej else 0.0
    p_kept = max(0.0, wrong - n_rej) / n_kept if n_kept else 0.0
    return p_kept, p_rej


def refine_noise_rates(
    y_noisy,
    answered,
    answers,
    kept,
    n_classes,
    prior=None,
    strength=10.0,
    ranked=True,
):
    """Noise rate of the original labels, per class, refined by oracle answers.

    Every answer tells whether the noisy label of a sample was wrong. Within
    each noisy class ``c`` and each stratum (samples phase 1 kept, samples it
    rejected) the share of wrong labels is estimated as ``(wrong + strength *
    p0) / (answered + strength)`` (a Beta prior worth ``strength`` answers),
    ``p0`` coming from the phase-1 estimate ``prior`` or, without one, from
    all answers pooled. The class's rate is then (known wrong labels +
    expected wrong labels among the samples not answered) / class size.

    Query strategies ask the most suspicious samples first, so the share of
    wrong labels among the answered ones overstates it among the rest. With
    ``ranked=True`` the rate of the samples not answered is therefore capped
    by what the prior has left to find, ``(p0 * stratum size - wrong found) /
    samples not answered`` (how Bernhardt et al. lower their forget rate by
    the labels changed): answers can lower the estimate below the prior, never
    raise the unanswered part above it. ``ranked=False`` is for answers to
    uniformly random queries, where the observed share is unbiased.

    Parameters
    ----------
    y_noisy : ndarray of int of shape (n_samples,)
        Original (noisy) labels, encoded 0..n_classes-1.
    answered : ndarray of int
        Indices of the samples the oracle labeled (abstentions excluded).
    answers : ndarray of int
        Encoded answers, one per ``answered``.
    kept : ndarray of bool of shape (n_samples,)
        Samples phase 1 kept as clean.
    n_classes : int
    prior : float, array-like of shape (n_classes,) or None, default=None
        Phase-1 noise rate (global, or per noisy class).
    strength : float, default=10.0
        Weight of the prior, in answers.
    ranked : bool, default=True
        Whether the answered samples were chosen most suspicious first (any
        strategy but uniform random sampling); see above.

    Returns
    -------
    noise_rate : float or None
        Estimated share of wrong labels in ``y_noisy``; None without any
        prior or answer.
    class_noise_rates : ndarray of shape (n_classes,) or None

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active import refine_noise_rates
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> kept = np.array([1, 1, 0, 0, 1, 1, 0, 0], bool)
    >>> rate, per_class = refine_noise_rates(
    ...     y, np.array([2, 3, 6, 7]), np.array([1, 1, 1, 1]), kept, 2, strength=0)
    >>> rate, per_class.tolist()
    (0.25, [0.5, 0.0])
    """
    y_noisy = np.asarray(y_noisy)
    answered = np.asarray(answered, dtype=np.intp)
    wrong = np.zeros(y_noisy.shape[0], dtype=bool)
    wrong[answered] = np.asarray(answers) != y_noisy[answered]
    seen = np.zeros(y_noisy.shape[0], dtype=bool)
    seen[answered] = True
    if prior is None and not seen.any():
        return None, None
    pooled = (wrong.sum() + 0.5) / (seen.sum() + 1.0)
    if prior is not None:
        prior = np.broadcast_to(np.asarray(prior, dtype=float), (n_classes,))
    rates = np.zeros(n_classes)
    for c in range(n_classes):
        members = y_noisy == c
        n_c = int(members.sum())
        if n_c == 0:
            continue
        if prior is None:
            p0 = (pooled, pooled)
        else:
            p0 = _stratum_priors(float(prior[c]), n_c, int((members & kept).sum()))
        expected = 0.0
        for stratum, p in zip((kept, ~kept), p0):
            part = members & stratum
            n_part = int(part.sum())
            n_seen = int((part & seen).sum())
            n_wrong = int((part & wrong).sum())
            n_rest = n_part - n_seen
            denom = n_seen + strength
            rate = (n_wrong + strength * p) / denom if denom else 0.0
            if ranked and n_seen and n_rest:
                left = max(0.0, p * n_part - n_wrong) / n_rest
                rate = min(rate, left)
            expected += n_wrong + n_rest * rate
        rates[c] = expected / n_c
    counts = np.bincount(y_noisy, minlength=n_classes)
    return float(rates @ counts / counts.sum()), rates
