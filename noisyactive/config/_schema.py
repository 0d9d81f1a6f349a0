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

import difflib
import re
import textwrap
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Key:
    """One configuration key.

    ``kind`` is how the value is checked (see :func:`_check_value`);
    ``group`` is ``"data"``, ``"expert"``, ``"network"`` or ``"benchmark"``;
    ``fixed`` marks keys that shape a campaign's saved data and models, so a
    rerun on the same checkpoint with another value is refused.
    """

    name: str
    kind: str
    default: object
    help: str
    group: str
    choices: tuple = ()
    fixed: bool = False


_DATASETS = ("csv", "folder", "npz", "digits", "ham10000")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

SCHEMA = (
    # -- the data
    Key(
        "dataset",
        "choice",
        "digits",
        "'csv' (path,label rows), 'folder' (one folder per class), 'npz' "
        "(arrays X, y), or for benchmarks 'digits', 'ham10000'",
        "data",
        _DATASETS,
        fixed=True,
    ),
    Key(
        "path",
        "path?",
        None,
        "the CSV file, image folder or NPZ file",
        "data",
        fixed=True,
    ),
    Key(
        "path_column",
        "str",
        "path",
        "CSV column with the image paths (relative to the CSV)",
        "data",
        fixed=True,
    ),
    Key(
        "label_column",
        "str",
        "label",
        "CSV column with the (noisy) labels",
        "data",
        fixed=True,
    ),
    Key(
        "split_column",
        "str",
        "split",
        "optional CSV column: train / val / test per row (blank = train); "
        "without it every row is a candidate",
        "data",
        fixed=True,
    ),
    Key(
        "val_path",
        "path?",
        None,
        "optional CSV (same columns) of validation images",
        "data",
        fixed=True,
    ),
    Key(
        "test_path", "path?", None, "optional CSV (same columns) of test images", "data"
    ),
    Key(
        "image_size",
        "posint",
        32,
        "side in pixels the images are resized to",
        "data",
        fixed=True,
    ),
    Key(
        "cache_dir",
        "path?",
        None,
        "folder for decoded images (null: a campaign decodes its images without "
        "a cache; the benchmarks use the user cache)",
        "data",
    ),
    # -- the expert
    Key(
        "oracle",
        "str?",
        None,
        "'module:function' answering (rows, paths) -> labels (the module is "
        "looked up in the current folder first), or 'ask': run phase 1 and stop, "
        "for an expert answering with `noisyactive review` / `query` / `teach`",
        "expert",
    ),
    Key(
        "budget_per_round",
        "budget",
        0.028,
        "labels asked per round (int, or share of rows in (0, 1))",
        "expert",
    ),
    Key("n_rounds", "int>=0", 8, "relabeling rounds", "expert"),
    Key(
        "query_strategy",
        "strategy",
        "entropy",
        "a name from noisyactive.query.QUERY_STRATEGIES: 'entropy', 'coreset', "
        "'random', 'label_cleaning_ambiguity', ...",
        "expert",
    ),
    Key(
        "refit",
        "choice",
        "finetune",
        "'finetune' or 'scratch' after each round (campaigns, the demo and the "
        "benchmarks alike)",
        "expert",
        ("finetune", "scratch"),
    ),
    Key(
        "checkpoint",
        "path?",
        None,
        "campaign folder (resume, review page, CLI); default OUT/checkpoint",
        "expert",
    ),
    Key("seed", "int>=0", 0, "random seed", "expert", fixed=True),
    Key("out", "path", "noisyactive-report", "output folder", "expert"),
    # -- the networks
    Key(
        "module",
        "str",
        "small_cnn",
        "'small_cnn', 'resnet18', 'efficientnet_lite0' (lite1, lite2), 'mlp'",
        "network",
        fixed=True,
    ),
    Key(
        "module_kwargs",
        "dict?",
        None,
        "extra arguments of the network",
        "network",
        fixed=True,
    ),
    Key(
        "weights",
        "path?",
        None,
        "pretrained weights: 'imagenet' (efficientnet_lite0 with the "
        "noisyactive[pretrained] extra; resnet18 from the torch hub cache) or a file",
        "network",
        fixed=True,
    ),
    Key(
        "freeze",
        "freeze?",
        None,
        "trunk units kept fixed: an int, a fraction in (0, 1] or 'trunk'; with "
        "pretrained weights their output is cached once per image",
        "network",
        fixed=True,
    ),
    Key(
        "epochs",
        "posint",
        30,
        "phase-1 (Co-teaching + VOG) epochs",
        "network",
        fixed=True,
    ),
    Key(
        "classifier_epochs",
        "posint?",
        None,
        "epochs of the classifier trained each round (default: epochs)",
        "network",
    ),
    Key(
        "num_gradual",
        "int>=0",
        10,
        "epochs over which the forget rate ramps up",
        "network",
        fixed=True,
    ),
    Key(
        "vog_window",
        "posint",
        5,
        "epochs of gradient history for VOG",
        "network",
        fixed=True,
    ),
    Key(
        "mix_ratio",
        "share",
        0.5,
        "share of each batch selected by VOG instead of loss",
        "network",
        fixed=True,
    ),
    Key(
        "vog_normalize",
        "choice?",
        "class",
        "VOG normalisation: 'class' or null (none)",
        "network",
        ("class",),
        fixed=True,
    ),
    Key(
        "forget_rate",
        "forget",
        "auto",
        "noise rate assumed by Co-teaching: a number in [0, 1), 'auto' (the "
        "filter's cross-fitted estimate) or, in benchmarks, 'true' (the "
        "injected rate)",
        "network",
        fixed=True,
    ),
    Key("batch_size", "posint", 64, "mini-batch size", "network", fixed=True),
    Key("lr", "posnumber", 0.05, "learning rate", "network", fixed=True),
    Key(
        "augment",
        "bool",
        False,
        "random flips/crops during training",
        "network",
        fixed=True,
    ),
    Key(
        "device",
        "device",
        "auto",
        "'auto', 'cpu', 'cuda' (or 'cuda:N'), 'mps'",
        "network",
    ),
    # -- benchmarks (true labels known, noise injected)
    Key(
        "noise_rate",
        "share",
        0.4,
        "benchmark: symmetric noise injected into the training labels (every "
        "dataset; 0 keeps the given labels as they are)",
        "benchmark",
    ),
    Key(
        "imbalance_factor",
        "posnumber?",
        None,
        "benchmark: long-tail the training split (null: as it is; the embedded "
        "digits are long-tailed at 15 when it is null)",
        "benchmark",
    ),
    Key(
        "balanced_eval",
        "bool",
        False,
        "benchmark: keep validation/test balanced",
        "benchmark",
    ),
    Key(
        "split",
        "shares",
        (0.7, 0.1, 0.2),
        "benchmark: train/val/test shares (train/val with test_path)",
        "benchmark",
    ),
    Key(
        "methods",
        "strlist?",
        None,
        "benchmark: methods to compare (default: all)",
        "benchmark",
    ),
    Key("seeds", "intlist", (0,), "benchmark: seeds", "benchmark"),
    Key(
        "title",
        "str?",
        None,
        "benchmark: report title (default: the config file)",
        "benchmark",
    ),
    Key(
        "cleanlab_folds",
        "posint",
        3,
        "benchmark: cross-validation folds of cleanlab",
        "benchmark",
    ),
    Key(
        "refit_epochs",
        "posint",
        5,
        "fine-tuning epochs per round (refit 'finetune')",
        "expert",
    ),
    Key(
        "class_quota",
        "bool",
        False,
        "benchmark: no effect (the class-quota variants are methods: "
        "'cq_entropy', 'cq_vog_entropy'); kept so recorded configs load",
        "benchmark",
    ),
    Key(
        "alc_epochs",
        "posint?",
        None,
        "benchmark: no effect (ALC trains for 'epochs', or 'refit_epochs' when "
        "fine-tuning); kept so recorded configs load",
        "benchmark",
    ),
)

KEYS = {key.name: key for key in SCHEMA}
#: key -> (default, meaning), for ``--help`` and the docs.
CONFIG_KEYS = {key.name: (key.default, key.help) for key in SCHEMA}
CAMPAIGN_ONLY = {
    "oracle",
    "path_column",
    "label_column",
    "split_column",
    "val_path",
    "checkpoint",
    "seed",
    "query_strategy",
}
BENCHMARK_ONLY = {k.name for k in SCHEMA if k.group == "benchmark"}

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


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _strategies():
    from noisyactive.query import QUERY_STRATEGIES

    return tuple(QUERY_STRATEGIES)


def _valid(kind, value, choices):
    """Whether ``value`` is of ``kind`` (``?``: or None)."""
    if kind.endswith("?") and value is None:
        return True
    kind = kind.rstrip("?")
    if kind in ("str", "path"):
        return isinstance(value, str) and value != ""
    if kind == "posint":
        return _is_int(value) and value > 0
    if kind == "int>=0":
        return _is_int(value) and value >= 0
    if kind == "posnumber":
        return _is_number(value) and value > 0
    if kind == "share":
        return _is_number(value) and 0 <= value <= 1
    if kind == "budget":
        return (_is_int(value) and value > 0) or (
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
        return isinstance(value, (list, tuple)) and all(_is_int(v) for v in value)
    if kind == "shares":
        return (
            isinstance(value, (list, tuple))
            and len(value) in (2, 3)
            and all(_is_number(v) and v > 0 for v in value)
        )
    if kind == "forget":
        return value in ("auto", "true") or (_is_number(value) and 0 <= value < 1)
    if kind == "device":
        return isinstance(value, str) and bool(_DEVICE.match(value))
    if kind == "freeze":
        return (
            value == "trunk"
            or (_is_int(value) and value >= 0)
            or (isinstance(value, float) and 0 < value <= 1)
        )
    if kind == "choice":
        return isinstance(value, str) and value in choices
    if kind == "strategy":
        return isinstance(value, str) and value in _strategies()
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover


def _expected(key):
    if key.kind.startswith("choice"):
        text = " or ".join(repr(c) for c in key.choices)
        return text + (" or null" if key.kind.endswith("?") else "")
    if key.kind == "strategy":
        return "one of " + ", ".join(repr(s) for s in _strategies())
    return _EXPECTED[key.kind]


def _nearest(name, candidates):
    near = difflib.get_close_matches(str(name), list(candidates), n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


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
                f"Config has no key {name!r}{_nearest(name, KEYS)}"
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
                f"{source}: unknown key {name!r}{_nearest(name, KEYS)} "
                "`noisyactive run --help` lists the valid keys."
            )
        if not _valid(key.kind, value, key.choices):
            raise ConfigError(
                f"{source}: {name!r} must be {_expected(key)}; got {value!r} "
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
    return "null" if value is None else str(value) if _is_number(value) else repr(value)


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
