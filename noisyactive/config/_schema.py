"""The configuration of ``noisyactive run``, ``demo`` and the benchmarks.

Every key is declared once, in :data:`SCHEMA`, with its type, its default and
its help. :func:`parse_config` turns the file's dict into a :class:`Config`
(attribute access, every key present); the code reads that object and never a
default of its own. The same table prints ``noisyactive run --help`` and is
checked against the docs.

Settled defaults (they used to disagree between the campaign and the
experiments): ``refit`` is ``"finetune"`` everywhere, ``noise_rate`` is 0.4
for every dataset (0 keeps the given labels as they are), and
``cleanlab_folds`` (3) is a declared benchmark key.
"""

import textwrap

from noisyactive.config._keys import (  # noqa: F401 - re-exported
    BENCHMARK_ONLY,
    CAMPAIGN_ONLY,
    CONFIG_KEYS,
    KEYS,
    SCHEMA,
    Key,
)
from noisyactive.config._values import (
    expected_text,
    is_number,
    nearest_hint,
    value_fits,
)

__all__ = [
    "SCHEMA",
    "CONFIG_KEYS",
    "CAMPAIGN_ONLY",
    "BENCHMARK_ONLY",
    "Config",
    "ConfigError",
    "as_config",
    "check_config",
    "config_changes",
    "keys_help",
    "parse_config",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key."""


class Config:
    """A parsed configuration: every key of :data:`SCHEMA` as an attribute.

    ``given`` holds the keys the file set, as written (recorded with results,
    so that a rerun of the same file is recognised).
    """

    __slots__ = ("_values", "given")

    def __init__(self, values, given):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "given", dict(given))

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"Config has no key {name!r}{nearest_hint(name, KEYS)}"
            ) from None

    def __setattr__(self, name, value):
        raise AttributeError("Config is read-only; use replace(**changes)")

    def __getstate__(self):
        return {"values": self._values, "given": self.given}

    def __setstate__(self, state):
        object.__setattr__(self, "_values", state["values"])
        object.__setattr__(self, "given", state["given"])

    def __eq__(self, other):
        return isinstance(other, Config) and self._values == other._values

    def __repr__(self):
        return f"Config({self.given!r})"

    def as_dict(self):
        """Every key with its value (defaults filled in)."""
        return dict(self._values)

    def replace(self, **changes):
        """A new config with ``changes`` applied (and checked)."""
        return parse_config({**self.given, **changes})


def parse_config(raw, *, source="config"):
    """Check ``raw`` (the file's dict) against :data:`SCHEMA`.

    Raises
    ------
    ConfigError
        Naming the key: an unknown one (with the nearest known key), a value
        of the wrong type (with the type expected), or a combination that
        cannot work (benchmark keys with an oracle, a missing ``path``).

    Examples
    --------
    >>> from noisyactive.config._schema import parse_config
    >>> parse_config({"n_rounds": 3}).n_rounds
    3
    >>> parse_config({"n_rounds": "eight"})
    Traceback (most recent call last):
    ...
    noisyactive.config._schema.ConfigError: config: 'n_rounds' must be an integer ...
    """
    if isinstance(raw, Config):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the configuration must be an object of key: value pairs "
            f"(a JSON {{...}} or a TOML table); got a {type(raw).__name__}."
        )
    values = {key.name: key.default for key in SCHEMA}
    for name, value in raw.items():
        key = KEYS.get(name)
        if key is None:
            raise ConfigError(
                f"{source}: unknown key {name!r}{nearest_hint(name, KEYS)} "
                "`noisyactive run --help` lists the valid keys."
            )
        if not value_fits(key.kind, value, key.choices):
            raise ConfigError(
                f"{source}: {name!r} must be {expected_text(key)}; got {value!r} "
                f"({type(value).__name__})."
            )
        values[name] = tuple(value) if isinstance(value, list) else value
    if values["classifier_epochs"] is None:
        values["classifier_epochs"] = values["epochs"]
    if values["oracle"]:
        _check_campaign(raw, values, source)
    return Config(values, raw)


def _check_campaign(raw, values, source):
    given = set(BENCHMARK_ONLY & set(raw))
    if not values["noise_rate"]:  # 0: the labels as they are
        given.discard("noise_rate")
    if given:
        raise ConfigError(
            f"{source}: {sorted(given)} are benchmark keys (synthetic noise, "
            "hidden splits); with an oracle your labels are used as they are and "
            "every row is a candidate. Remove them."
        )
    if "dataset" not in raw:
        values["dataset"] = "csv"
    if values["dataset"] not in ("csv", "folder", "npz"):
        raise ConfigError(
            f"{source}: with an oracle, 'dataset' must be 'csv', 'folder' or 'npz' "
            f"(your own data); got {values['dataset']!r}."
        )
    if values["path"] is None:
        raise ConfigError(f"{source}: 'path' (your data) is missing.")
    if values["forget_rate"] == "true":
        raise ConfigError(
            f"{source}: 'forget_rate' 'true' needs the true labels (benchmarks "
            "only); with an oracle use 'auto' or a number."
        )


def as_config(config):
    """``config`` as a :class:`Config` (a dict is parsed; errors are
    :class:`ConfigError`)."""
    return parse_config(config)


def check_config(config, *, source="config"):
    """:func:`parse_config` for the command line: a :class:`ConfigError`
    becomes ``SystemExit`` with the message.

    Examples
    --------
    >>> from noisyactive.config._schema import check_config
    >>> check_config({"epohcs": 3})
    Traceback (most recent call last):
    ...
    SystemExit: noisyactive: config: unknown key 'epohcs'; did you mean 'epochs'? ...
    """
    try:
        return parse_config(config, source=source)
    except ConfigError as exc:
        raise SystemExit(f"noisyactive: {exc}") from None


def config_changes(old, new):
    """``(fixed, safe)``: the keys whose value differs between two configs,
    as ``"key: old → new"`` lines; ``fixed`` are those that shape a saved
    campaign (:attr:`Key.fixed`)."""
    old, new = as_config(old), as_config(new)
    fixed, safe = [], []
    for key in SCHEMA:
        a, b = getattr(old, key.name), getattr(new, key.name)
        if a != b:
            line = f"{key.name}: {_show(a)} → {_show(b)}"
            (fixed if key.fixed else safe).append(line)
    return fixed, safe


def _show(value):
    return "null" if value is None else str(value) if is_number(value) else repr(value)


def keys_help(width=86):
    """The key table as plain text, for ``run --help``."""
    lines = []
    for key in SCHEMA:
        head = f"  {key.name} (default {key.default!r}): "
        lines.extend(
            textwrap.wrap(
                key.help, width, initial_indent=head, subsequent_indent=" " * 6
            )
        )
    return "\n".join(lines)
