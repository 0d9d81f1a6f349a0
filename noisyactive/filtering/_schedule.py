"""The forget-rate schedule of Co-teaching (Han et al., 2018)."""

import math

__all__ = ["forget_rate_schedule", "n_remember"]


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
