"""Estimating the noise rate from per-sample losses."""

import numpy as np
from sklearn.mixture import GaussianMixture

__all__ = ["estimate_noise_rate"]


def estimate_noise_rate(losses, *, max_rate=0.9, random_state=0):
    """Share of samples in the high-loss component of a two-Gaussian mixture.

    Early in training, networks fit clean labels before noisy ones (the memorisation
    effect that Co-teaching relies on), so per-sample losses are bimodal: clean
    samples low, mislabeled ones high. A two-component Gaussian mixture on the
    log-losses (DivideMix fits one on the losses) estimates the noisy share as the
    share of samples assigned to the higher-mean component.
    :class:`~noisyactive.NoisyLabelFilter` with ``forget_rate="auto"`` calls this on the
    previous epoch's losses during warm-up.

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
    # Cross-entropy losses are heavy-tailed (a few huge values from confidently
    # wrong labels); on the log scale both modes are closer to Gaussian, and the
    # mixture stops splitting the noisy mode in two at high noise rates.
    x = np.log(np.maximum(x, 0.0) + 1e-4)
    if x.shape[0] < 4 or np.ptp(x) <= 1e-12:
        return 0.0
    gmm = GaussianMixture(2, max_iter=100, tol=1e-3, random_state=random_state)
    gmm.fit(x)
    high = int(np.argmax(gmm.means_[:, 0]))
    rate = float(np.mean(gmm.predict_proba(x)[:, high] > 0.5))
    return float(np.clip(rate, 0.0, max_rate))
