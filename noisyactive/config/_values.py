"""Whether a value fits its key's kind, and what a key expects, in words."""

import difflib
import re

__all__ = ["value_fits", "expected_text", "nearest_hint", "is_number", "is_int"]

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

_EXPECTED = {
    "str": "a string",
    "str?": "a string or null",
    "path": "a path (string)",
    "path?": "a path (string) or null",
    "posint": "a positive integer",
    "posint?": "a positive integer or null",
    "int>=0": "an integer >= 0",
    "posnumber": "a positive number",
    "posnumber?": "a positive number or null",
    "share": "a number in [0, 1]",
    "budget": "a positive integer (labels) or a number in (0, 1) (share of rows)",
    "bool": "true or false",
    "dict?": "an object (dict) or null",
    "strlist?": "a list of strings or null",
    "intlist": "a list of integers",
    "shares": "a list of 2 or 3 positive numbers",
    "forget": "a number in [0, 1), 'auto' or 'true'",
    "device": "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'",
    "freeze?": "an integer >= 0, a number in (0, 1], 'trunk' or null",
}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _strategies():
    from noisyactive.query import QUERY_STRATEGIES

    return tuple(QUERY_STRATEGIES)


def value_fits(kind, value, choices):
    """Whether ``value`` is of ``kind`` (``?``: or None)."""
    if kind.endswith("?") and value is None:
        return True
    kind = kind.rstrip("?")
    if kind in ("str", "path"):
        return isinstance(value, str) and value != ""
    if kind == "posint":
        return is_int(value) and value > 0
    if kind == "int>=0":
        return is_int(value) and value >= 0
    if kind == "posnumber":
        return is_number(value) and value > 0
    if kind == "share":
        return is_number(value) and 0 <= value <= 1
    if kind == "budget":
        return (is_int(value) and value > 0) or (
            isinstance(value, float) and 0 < value < 1
        )
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "strlist":
        return isinstance(value, (list, tuple)) and all(
            isinstance(v, str) for v in value
        )
    if kind == "intlist":
        return isinstance(value, (list, tuple)) and all(is_int(v) for v in value)
    if kind == "shares":
        return (
            isinstance(value, (list, tuple))
            and len(value) in (2, 3)
            and all(is_number(v) and v > 0 for v in value)
        )
    if kind == "forget":
        return value in ("auto", "true") or (is_number(value) and 0 <= value < 1)
    if kind == "device":
        return isinstance(value, str) and bool(_DEVICE.match(value))
    if kind == "freeze":
        return (
            value == "trunk"
            or (is_int(value) and value >= 0)
            or (isinstance(value, float) and 0 < value <= 1)
        )
    if kind == "choice":
        return isinstance(value, str) and value in choices
    if kind == "strategy":
        return isinstance(value, str) and value in _strategies()
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover


def expected_text(key):
    if key.kind.startswith("choice"):
        text = " or ".join(repr(c) for c in key.choices)
        return text + (" or null" if key.kind.endswith("?") else "")
    if key.kind == "strategy":
        return "one of " + ", ".join(repr(s) for s in _strategies())
    return _EXPECTED[key.kind]


def nearest_hint(name, candidates):
    near = difflib.get_close_matches(str(name), list(candidates), n=1)
    return f"; did you mean {near[0]!r}?" if near else ""
