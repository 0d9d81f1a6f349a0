"""Resolve a strategy given as a name, an object or a plain callable."""

import difflib
import functools
import inspect

from noisyactive.query._base import BaseQueryStrategy
from noisyactive.query._coreset import CoreSetSampling
from noisyactive.query._label_cleaning import LabelCleaningSampling
from noisyactive.query._random import RandomSampling
from noisyactive.query._second_opinion import SecondOpinionSampling
from noisyactive.query._uncertainty import (
    EntropySampling,
    LeastConfidenceSampling,
    MarginSampling,
)

__all__ = ["CallableStrategy", "get_query_strategy", "QUERY_STRATEGIES"]

# Name -> factory; a factory (not an instance) so every call gets a fresh object.
QUERY_STRATEGIES = {
    "random": RandomSampling,
    "entropy": EntropySampling,
    "margin": MarginSampling,
    "least_confidence": LeastConfidenceSampling,
    "coreset": CoreSetSampling,
    "label_cleaning": LabelCleaningSampling,
    "label_cleaning_ambiguity": functools.partial(
        LabelCleaningSampling, ambiguity=True
    ),
    "second_opinion": SecondOpinionSampling,
}


def _accepted_keywords(func, names):
    """The subset of ``names`` that ``func`` accepts as keyword arguments."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return {"random_state"} & set(names)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return set(names)
    keyword_kinds = (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )
    return {p.name for p in params if p.kind in keyword_kinds} & set(names)


def _func_name(func):
    return getattr(func, "__qualname__", None) or type(func).__name__


class CallableStrategy(BaseQueryStrategy):
    """Wrap a plain function (or a ``query`` method) as a query strategy.

    ``func(estimator, X, candidates, n, *, random_state)`` must return indices
    into ``X``: unique, taken from ``candidates``, at most ``n`` of them, best
    first. ``random_state``, ``labels`` and ``labeled_mask`` are passed only
    when the function's signature accepts them (by name or ``**kwargs``), so
    ``lambda est, X, cand, n: cand[:n]`` works too. The function has no
    scores, so the returned scores are NaN.

    Parameters
    ----------
    func : callable
        The query function.

    See Also
    --------
    get_query_strategy

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.query import CallableStrategy
    >>> def last_first(estimator, X, candidates, n, *, random_state=None):
    ...     return candidates[::-1][:n]
    >>> CallableStrategy(last_first).rank(None, np.zeros((5, 1)), [0, 2, 4], 2)
    (array([4, 2]), array([nan, nan]))
    """

    _parameter_constraints: dict = {"func": [callable]}

    def __init__(self, func):
        self.func = func

    def _rank(self, estimator, X, candidates, n, *, labels, labeled_mask, random_state):
        offered = {
            "random_state": random_state,
            "labels": labels,
            "labeled_mask": labeled_mask,
        }
        accepted = _accepted_keywords(self.func, offered)
        kwargs = {k: v for k, v in offered.items() if k in accepted}
        # A copy: a function that shuffles or sorts candidates in place must
        # not change the caller's array.
        result = self.func(estimator, X, candidates.copy(), n, **kwargs)
        if result is None:
            raise TypeError(
                f"{self._who()} returned None; it must return an array of indices "
                "into X taken from candidates."
            )
        # Checked by rank (check_ranking): only candidates, each once, at most
        # n. The function has no scores: NaN.
        return result, None

    def _who(self):
        return f"query function {_func_name(self.func)}"


def get_query_strategy(strategy):
    """Return an object with the ``rank``/``query`` methods of this package.

    Parameters
    ----------
    strategy : str, strategy object or callable
        - a name: ``"random"``, ``"entropy"``, ``"margin"``,
          ``"least_confidence"``, ``"coreset"``, ``"label_cleaning"``,
          ``"label_cleaning_ambiguity"`` or ``"second_opinion"`` (a new
          object with default parameters);
        - an object with a ``rank`` method, returned unchanged;
        - an object with only a ``query`` method, wrapped so that its
          ``query`` is called and validated like a plain callable;
        - a callable ``(estimator, X, candidates, n, *, random_state) ->
          indices``, wrapped in :class:`CallableStrategy`.

    Returns
    -------
    strategy : object
        An object with ``rank(estimator, X, candidates, n, *, labels=None,
        labeled_mask=None, random_state=None) -> (indices, scores)`` and
        ``query``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid names).
    TypeError
        For anything else that is neither a name, a strategy nor callable.

    Examples
    --------
    >>> from noisyactive.query import get_query_strategy
    >>> get_query_strategy("label_cleaning_ambiguity")
    LabelCleaningSampling(ambiguity=True)
    """
    if isinstance(strategy, str):
        try:
            factory = QUERY_STRATEGIES[strategy]
        except KeyError:
            valid = ", ".join(repr(name) for name in QUERY_STRATEGIES)
            near = difflib.get_close_matches(strategy, QUERY_STRATEGIES, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(
                f"unknown query strategy {strategy!r}; valid names are {valid}, or "
                f"pass a strategy object or a callable.{hint}"
            ) from None
        return factory()
    if isinstance(strategy, type):
        raise TypeError(
            f"query_strategy must be an instance, not the class "
            f"{strategy.__name__}; write {strategy.__name__}() instead."
        )
    if callable(getattr(strategy, "rank", None)):
        return strategy
    if callable(getattr(strategy, "query", None)):
        return CallableStrategy(strategy.query)
    if callable(strategy):
        return CallableStrategy(strategy)
    raise TypeError(
        "query_strategy must be a strategy name, an object with a rank or query "
        "method, or a callable (estimator, X, candidates, n, *, random_state) -> "
        f"indices; got {type(strategy).__name__}."
    )
