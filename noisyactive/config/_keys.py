"""The declaration of every configuration key: :data:`SCHEMA`.

Each :class:`Key` gives a key's type, default and help once; the value checks
(:mod:`~noisyactive.config._values`) and the parsing
(:mod:`~noisyactive.config._schema`) read this table, and so do ``noisyactive
run --help`` and the docs.
"""

from dataclasses import dataclass

__all__ = [
    "Key",
    "SCHEMA",
    "KEYS",
    "CONFIG_KEYS",
    "CAMPAIGN_ONLY",
    "BENCHMARK_ONLY",
]


@dataclass(frozen=True)
class Key:
    """One configuration key.

    ``kind`` is how the value is checked (see
    :func:`~noisyactive.config._values.value_fits`);
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
        "audit_size",
        "int>=0",
        0,
        "labels asked before the first round, drawn at random within each given "
        "class: a noise rate that does not depend on the classifier (history's "
        "first entry); phase 1 is refit with it when it moved. Counted in the "
        "budget",
        "expert",
        fixed=True,
    ),
    Key(
        "audit_share",
        "share",
        0.0,
        "share of each round's labels asked about rows phase 1 kept (the labels "
        "the classifier finds least probable first)",
        "expert",
    ),
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
    "audit_size",
    "audit_share",
}
BENCHMARK_ONLY = {k.name for k in SCHEMA if k.group == "benchmark"}
