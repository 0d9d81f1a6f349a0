"""The keys of a ``noisyactive run`` configuration, checked and documented.

One table (:data:`CONFIG_KEYS`) feeds the validation (an unknown key is an
error naming the nearest valid one), ``noisyactive run --help`` and the docs.
"""

import difflib
import textwrap

__all__ = [
    "CONFIG_KEYS",
    "CAMPAIGN_ONLY",
    "BENCHMARK_ONLY",
    "check_config",
    "keys_help",
]

# key -> (default, meaning)
CONFIG_KEYS = {
    # the data
    "dataset": (
        "digits",
        "'csv' (path,label rows), 'folder' (one folder per "
        "class), 'npz' (arrays X, y), or for benchmarks 'digits', 'ham10000'",
    ),
    "path": (None, "the CSV file, image folder or NPZ file"),
    "path_column": ("path", "CSV column with the image paths (relative to the CSV)"),
    "label_column": ("label", "CSV column with the (noisy) labels"),
    "split_column": (
        "split",
        "optional CSV column: train / val / test per row "
        "(blank = train); without it every row is a candidate",
    ),
    "val_path": (None, "optional CSV (same columns) of validation images"),
    "test_path": (None, "optional CSV (same columns) of test images"),
    "image_size": (32, "side in pixels the images are resized to"),
    "cache_dir": (None, "folder for decoded images (default: the user cache)"),
    # the expert
    "oracle": (
        None,
        "'module:function' answering (rows, paths) -> labels (the module is "
        "looked up in the current folder first), or 'ask': run phase 1 and stop, "
        "for an expert answering with `noisyactive review` / `query` / `teach`",
    ),
    "budget_per_round": (0.028, "labels asked per round (int, or share of rows)"),
    "n_rounds": (8, "relabeling rounds"),
    "query_strategy": (
        "entropy",
        "'entropy', 'coreset', 'random', 'label_cleaning_ambiguity'",
    ),
    "refit": ("finetune", "'finetune' or 'scratch' after each round"),
    "checkpoint": ("OUT/checkpoint", "campaign folder (resume, review page, CLI)"),
    "seed": (0, "random seed"),
    "out": ("noisyactive-report", "output folder"),
    # the networks
    "module": ("small_cnn", "'small_cnn', 'resnet18', 'mlp'"),
    "module_kwargs": (None, "extra arguments of the network"),
    "weights": (None, "pretrained weights file of the network"),
    "epochs": (30, "phase-1 (Co-teaching + VOG) epochs"),
    "classifier_epochs": ("epochs", "epochs of the classifier trained each round"),
    "num_gradual": (10, "epochs over which the forget rate ramps up"),
    "vog_window": (5, "epochs of gradient history for VOG"),
    "mix_ratio": (0.5, "share of each batch selected by VOG instead of loss"),
    "vog_normalize": ("class", "VOG normalisation: 'class' or null (none)"),
    "forget_rate": ("auto", "noise rate assumed by Co-teaching, or 'auto'"),
    "batch_size": (64, "mini-batch size"),
    "lr": (0.05, "learning rate"),
    "augment": (False, "random flips/crops during training"),
    "device": ("auto", "'auto', 'cpu', 'cuda'"),
    # benchmarks (true labels known, noise injected)
    "noise_rate": (0.4, "benchmark: symmetric noise injected into training labels"),
    "imbalance_factor": (None, "benchmark: long-tail the training split"),
    "balanced_eval": (False, "benchmark: keep validation/test balanced"),
    "split": ([0.7, 0.1, 0.2], "benchmark: train/val/test shares"),
    "methods": (None, "benchmark: methods to compare"),
    "seeds": ([0], "benchmark: seeds"),
    "title": (None, "benchmark: report title"),
    "class_quota": (False, "benchmark: also run the class-quota variants"),
    "alc_epochs": ("epochs", "benchmark: epochs of the ALC baseline"),
    "refit_epochs": (5, "benchmark: fine-tuning epochs per round"),
}

CAMPAIGN_ONLY = {
    "oracle",
    "path_column",
    "label_column",
    "split_column",
    "val_path",
    "test_path",
    "checkpoint",
    "seed",
    "query_strategy",
}
BENCHMARK_ONLY = {
    "noise_rate",
    "imbalance_factor",
    "balanced_eval",
    "split",
    "methods",
    "seeds",
    "title",
    "class_quota",
    "alc_epochs",
    "refit_epochs",
}


def check_config(config, *, source="config"):
    """Refuse unknown keys (naming the nearest valid one) and benchmark keys
    in a campaign with an oracle.

    Examples
    --------
    >>> from noisyactive.cli._config import check_config
    >>> check_config({"epohcs": 3})
    Traceback (most recent call last):
    ...
    SystemExit: noisyactive: config: unknown key 'epohcs'; did you mean 'epochs'? ...
    """
    valid = sorted(CONFIG_KEYS)
    for key in config:
        if key not in CONFIG_KEYS:
            near = difflib.get_close_matches(key, valid, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise SystemExit(
                f"noisyactive: {source}: unknown key {key!r}; {hint}"
                "`noisyactive run --help` lists the valid keys."
            )
    if config.get("oracle"):
        given = {k for k in BENCHMARK_ONLY & set(config)}
        if not config.get("noise_rate"):  # 0: the labels as they are
            given.discard("noise_rate")
        wrong = sorted(given)
        if wrong:
            raise SystemExit(
                f"noisyactive: {source}: {wrong} are benchmark keys (synthetic "
                "noise, hidden splits); with an oracle your labels are used as "
                "they are and every row is a candidate. Remove them."
            )
        kind = config.get("dataset", "csv")
        if kind not in ("csv", "folder", "npz"):
            raise SystemExit(
                f"noisyactive: {source}: with an oracle, dataset must be 'csv', "
                f"'folder' or 'npz' (your own data); got {kind!r}."
            )
        if "path" not in config:
            raise SystemExit(f"noisyactive: {source}: 'path' (your data) is missing.")


def keys_help(width=86):
    """The key table as plain text, for ``run --help``."""
    lines = []
    for key, (default, meaning) in CONFIG_KEYS.items():
        head = f"  {key} (default {default!r}): "
        lines.extend(
            textwrap.wrap(
                meaning, width, initial_indent=head, subsequent_indent=" " * 6
            )
        )
    return "\n".join(lines)
