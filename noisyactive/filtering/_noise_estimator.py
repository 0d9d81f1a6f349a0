"""What ``forget_rate="auto"``'s noise estimators return, made uniform, and
the check that the cross-fit can run at all."""

from collections.abc import Mapping
from numbers import Real

import numpy as np
from sklearn.utils import Bunch

from noisyactive.filtering._noise_cross_fit import (
    MIN_CLASS_COUNT,
    classes_too_small_to_cross_fit,
)
from noisyactive.utils import check_transition_matrix

__all__ = ["as_noise_bunch", "check_cross_fit_counts", "loss_mixture_bunch"]


def as_noise_bunch(result, n_classes):
    """A noise estimator's result as a Bunch with ``rate`` (in [0, 1)),
    ``rate_std``, ``transition`` (checked, or None) and ``warnings``.

    Examples
    --------
    >>> b = as_noise_bunch(0.25, 3)
    >>> b.rate, b.rate_std, b.transition, b.warnings
    (0.25, 0.0, None, [])
    >>> as_noise_bunch({"rate": 0.1, "rate_std": 0.02}, 2).rate_std
    0.02
    """
    if isinstance(result, Mapping):
        noise = Bunch(**result)
    else:
        noise = Bunch(rate=result)
    if "rate" not in noise:
        raise ValueError(
            "noise_estimator.estimate(X, y) must return the noise rate or a "
            f"mapping with 'rate'; got keys {sorted(noise)}."
        )
    rate = noise.rate
    if isinstance(rate, bool) or not isinstance(rate, Real) or not 0 <= rate < 1:
        raise ValueError(
            f"noise_estimator.estimate(X, y) must give a rate in [0, 1); got {rate!r}."
        )
    noise.rate = float(rate)
    noise.rate_std = float(noise.get("rate_std", 0.0))
    transition = noise.get("transition")
    if transition is not None:
        transition = check_transition_matrix(transition, n_classes)
    noise.transition = transition
    noise.warnings = [str(m) for m in noise.get("warnings", [])]
    return noise


def loss_mixture_bunch(rate, epoch_rates):
    """The estimate of ``noise_estimator="loss_mixture"``, known after training.

    Examples
    --------
    >>> b = loss_mixture_bunch(0.3, [0.2, 0.3])
    >>> b.method, b.rate, b.epoch_rates.tolist(), b.transition
    ('loss_mixture', 0.3, [0.2, 0.3], None)
    """
    return Bunch(
        rate=float(rate),
        rate_std=float("nan"),  # the mixture gives no uncertainty
        transition=None,
        warnings=[],
        method="loss_mixture",
        epoch_rates=np.asarray(epoch_rates, dtype=float),
    )


def check_cross_fit_counts(y_enc, classes):
    """Refuse, before any training, a cross-fit that cannot predict every
    sample out of fold, naming the classes and what to pass instead.

    Examples
    --------
    >>> check_cross_fit_counts([0, 0, 1, 1], np.array(["a", "b"]))
    >>> check_cross_fit_counts([0, 0, 1], np.array(["a", "b"]))
    Traceback (most recent call last):
    ...
    ValueError: forget_rate='auto' estimates the noise rate by cross-fitting \
(noise_estimator='cross_fit'), which needs at least 2 samples of every class; \
class 'b' (1 sample) has fewer. Pass the noise rate as a number (e.g. \
forget_rate=0.2), or noise_estimator='loss_mixture' (no cross-fit), or at least \
2 samples of every class.
    """
    labels, counts = classes_too_small_to_cross_fit(y_enc)
    if not labels.size:
        return
    names, counts = np.asarray(classes)[labels[:10]].tolist(), counts[:10].tolist()
    pairs = ", ".join(
        f"{c!r} ({n} sample{'' if n == 1 else 's'})" for c, n in zip(names, counts)
    )
    one = labels.size == 1
    raise ValueError(
        "forget_rate='auto' estimates the noise rate by cross-fitting "
        f"(noise_estimator='cross_fit'), which needs at least {MIN_CLASS_COUNT} "
        f"samples of every class; {'class' if one else 'classes'} {pairs} "
        f"{'has' if one else 'have'} fewer. Pass the noise rate as a number (e.g. "
        "forget_rate=0.2), or noise_estimator='loss_mixture' (no cross-fit), or "
        f"at least {MIN_CLASS_COUNT} samples of every class."
    )
