"""The forget-rate schedule of Co-teaching (Han et al., 2018)."""

import math
import warnings

__all__ = [
    "forget_rate_schedule",
    "n_remember",
    "warn_if_batch_keeps_nothing",
    "warn_if_kept_nothing",
]


def forget_rate_schedule(epoch, forget_rate, num_gradual=10, exponent=1.0):
    """Forget rate at an epoch: ``tau * min(epoch / num_gradual, 1) ** exponent``.

    Parameters
    ----------
    epoch : int
        Number of completed epochs (0 for the first epoch).
    forget_rate : float
        Final forget rate ``tau`` in [0, 1).
    num_gradual : int, default=10
        Epochs ``Tk`` over which the rate grows linearly (for ``exponent=1``) from 0.
    exponent : float, default=1.0
        Exponent ``c`` of the ramp.

    Returns
    -------
    rate : float

    Examples
    --------
    >>> [forget_rate_schedule(e, 0.4, num_gradual=4) for e in range(6)]
    [0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.4]
    """
    if num_gradual <= 0:
        return float(forget_rate)
    return float(forget_rate) * min(epoch / num_gradual, 1.0) ** exponent


def n_remember(batch_size, rate):
    """Samples kept from a batch: ``R = floor((1 - rate) * batch_size)``.

    A tiny tolerance keeps ``(1 - 0.3) * 10`` at 7 rather than 6.

    Examples
    --------
    >>> n_remember(10, 0.3), n_remember(7, 0.0), n_remember(5, 0.99)
    (7, 7, 0)
    """
    return int(math.floor((1.0 - rate) * batch_size + 1e-9))


def warn_if_batch_keeps_nothing(batch_size, forget_rate):
    """``R = floor((1 - tau) b)`` is 0 for a full batch: after the warm-up no
    network learns anything and the mask comes out empty."""
    if forget_rate == "auto" or n_remember(batch_size, forget_rate) > 0:
        return
    warnings.warn(
        f"batch_size={batch_size} with forget_rate={forget_rate} keeps no sample "
        f"of a batch once the warm-up ends (R = floor((1 - tau) b) = 0), so the "
        f"selection is meaningless; use batch_size > {1 / (1 - forget_rate):.3g}.",
        UserWarning,
        stacklevel=3,
    )


def warn_if_kept_nothing(clean_mask, forget_rate, batch_size):
    """Warn when a fit's selection kept no sample in its last epoch."""
    if clean_mask.any():
        return
    warnings.warn(
        f"The selection kept no sample in the last epoch (forget_rate_="
        f"{forget_rate:.3g}, batch_size={batch_size}): clean_mask_ is all False. "
        "Use a larger batch_size or a smaller forget_rate.",
        UserWarning,
        stacklevel=3,
    )
