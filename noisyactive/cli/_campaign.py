"""``noisyactive run --config FILE`` with an oracle: clean the user's own file.

Every row of the user's data is a candidate for relabeling (no hidden split);
validation and test data are used only when the user gives them (``val_path``
/ ``test_path``, or a ``split`` column). The oracle is called as
``oracle(rows, X_subset)``: ``rows`` are row numbers of the user's file
(0-based, header not counted) and ``X_subset`` the image paths (the arrays for
NPZ data). ``labels.csv`` has one row per training row, keyed by path.
"""

import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from noisyactive.config._schema import as_config, config_changes

__all__ = ["load_user_data", "run_user_campaign", "import_oracle", "warn_large_budget"]

_SPLITS = {
    "": "train",
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


def import_oracle(spec):
    """The callable named ``'module:function'``, importable from the current
    folder without setting ``PYTHONPATH``."""
    import importlib

    module, _, name = str(spec).partition(":")
    if not module or not name:
        raise SystemExit(
            f"noisyactive: oracle must be 'module:function', got {spec!r}."
        )
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(
            f"noisyactive: cannot import oracle {spec!r} (looked in {here} and "
            f"on sys.path): {exc}"
        ) from exc
    if not callable(fn):
        raise SystemExit(f"noisyactive: {spec!r} is not callable.")
    return fn


def _read_csv(path, config):
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise SystemExit(f"noisyactive: CSV file {path} does not exist.")
    pcol, lcol, scol = config.path_column, config.label_column, config.split_column
    base = os.path.dirname(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in (pcol, lcol) if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(
                f"noisyactive: {path} has no column(s) {missing}; its columns are "
                f"{reader.fieldnames}."
            )
        rows = list(reader)
    paths, labels, splits = [], [], []
    for number, row in enumerate(rows):
        p, label = (row.get(pcol) or "").strip(), (row.get(lcol) or "").strip()
        if not p or not label:
            raise SystemExit(
                f"noisyactive: {path}: data row {number} (line {number + 2}) has an "
                f"empty {pcol!r} or {lcol!r}."
            )
        split = (row.get(scol) or "").strip().lower()
        if split not in _SPLITS:
            raise SystemExit(
                f"noisyactive: {path}: data row {number} has {scol}={split!r}; "
                "expected train, val or test (or blank)."
            )
        paths.append(os.path.normpath(os.path.join(base, p)))
        labels.append(label)
        splits.append(_SPLITS[split])
    return (
        np.asarray(paths, dtype=object),
        np.asarray(labels, dtype=object),
        np.asarray(splits),
    )


def load_user_data(config):
    """Training rows (all, or those marked train) and the optional validation
    and test sets of the user's data.

    Returns
    -------
    data : Bunch
        ``X``, ``y``, ``rows`` (row numbers in the user's file), ``paths`` (or
        None), ``X_val``/``y_val``/``X_test``/``y_test`` (None when not given).
    """
    config = as_config(config)
    kind = config.dataset
    data = Bunch(X_val=None, y_val=None, X_test=None, y_test=None)
    if kind == "npz":
        with np.load(config.path, allow_pickle=False) as arrays:
            data.X, data.y = arrays["X"], arrays["y"]
            for part in ("val", "test"):
                if f"X_{part}" in arrays:
                    data[f"X_{part}"], data[f"y_{part}"] = (
                        arrays[f"X_{part}"],
                        arrays[f"y_{part}"],
                    )
        data.rows, data.paths = np.arange(len(data.y)), None
        return data
    if kind == "folder":
        from noisyactive.datasets import load_image_folder

        paths, labels = load_image_folder(config.path)
        splits = np.full(len(paths), "train")
        paths = np.asarray(paths, dtype=object)
    else:
        paths, labels, splits = _read_csv(config.path, config)
    train = splits == "train"
    data.X, data.y, data.paths = paths[train], labels[train], paths[train]
    data.rows = np.flatnonzero(train)
    for part in ("val", "test"):
        mask = splits == part
        if mask.any():
            data[f"X_{part}"], data[f"y_{part}"] = paths[mask], labels[mask]
        other = getattr(config, f"{part}_path")
        if other:
            if mask.any():
                raise SystemExit(
                    f"noisyactive: both a {part!r} split column and {part}_path "
                    "are given; use one."
                )
            p, lab, _ = _read_csv(other, config)
            data[f"X_{part}"], data[f"y_{part}"] = p, lab
    if not train.any():
        raise SystemExit("noisyactive: no training row (all rows are val/test).")
    return data


def _write_labels(path, data, cleaner):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        head = ["row", "noisy_label", "label", "kept_by_phase1", "relabeled"]
        writer.writerow((["path"] if data.paths is not None else []) + head)
        for k, row in enumerate(data.rows):
            cells = [
                int(row),
                data.y[k],
                cleaner.labels_[k],
                int(cleaner.initial_clean_mask_[k]),
                int(cleaner.relabeled_mask_[k]),
            ]
            writer.writerow(([data.paths[k]] if data.paths is not None else []) + cells)


RECORD_FILE = "run-config.json"


def _checkpoint_of(config, out):
    return Path(config.checkpoint or Path(out) / "checkpoint")


def restart_checkpoint(folder):
    """Move ``folder`` aside as ``folder.old-<UTC time>`` (never deleted);
    returns the new path, or None when there was nothing to move."""
    folder = Path(folder)
    if not folder.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = folder.with_name(f"{folder.name}.old-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{folder.name}.old-{stamp}-{n}")
    folder.rename(target)
    return target


def check_rerun(config, folder, source="config"):
    """Compare ``config`` with the one that made the campaign in ``folder``.

    A change of a setting that shapes the saved data or models
    (:attr:`~noisyactive.config._schema.Key.fixed`: image size, network, data,
    phase-1 training, seed) stops the run before any work, naming each change
    ``key: old → new``; other changes (budget, rounds, strategy, refit...) are
    accepted, printed and recorded in ``run-config.json``. The record is
    (re)written here, before training starts.
    """
    from noisyactive.active._files import STATE_FILE

    folder = Path(folder)
    record_path = folder / RECORD_FILE
    record = {"config": dict(config.given), "changes": []}
    saved = (folder / STATE_FILE).is_file()
    if saved and record_path.is_file():
        old = json.loads(record_path.read_text())
        fixed, safe = config_changes(old["config"], config)
        if fixed:
            lines = "\n".join(f"  {line}" for line in fixed)
            raise SystemExit(
                f"noisyactive: {source} differs from the one that made the campaign "
                f"in {folder} in settings that shape its saved data and models:\n"
                f"{lines}\nNothing was run. Either give a new 'checkpoint' folder, "
                "or rerun with --restart (the old folder is kept, renamed "
                f"{folder.name}.old-<time>), or undo the change."
            )
        record["changes"] = old.get("changes", [])
        if safe:
            print(
                "noisyactive: accepted changes for the coming rounds: "
                + "; ".join(safe),
                flush=True,
            )
            record["changes"].append(
                {
                    "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "changed": safe,
                }
            )
    elif saved:
        print(
            f"noisyactive: {folder} has no {RECORD_FILE} (an older campaign); its "
            "settings cannot be compared with this config. Recording them now.",
            flush=True,
        )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = record_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str))
    os.replace(tmp, record_path)


def warn_large_budget(config, n_rows):
    """Warn when the budget (labels per round x rounds) asks the expert for
    more than half of the ``n_rows`` training rows."""
    from noisyactive.active._state import resolve_batch_size

    per_round = resolve_batch_size(config.budget_per_round, n_rows)
    total = per_round * int(config.n_rounds)
    if n_rows and total > 0.5 * n_rows:
        warnings.warn(
            f"the budget is {total} labels ({per_round} per round x "
            f"{config.n_rounds} rounds) for {n_rows} training rows: "
            f"{total / n_rows:.0%} of them. The method pays off when the "
            "expert reviews a small share (the rows phase 1 doubts most); lower "
            "budget_per_round or n_rounds unless you mean to review most rows.",
            UserWarning,
            stacklevel=2,
        )
    return total


def run_user_campaign(config, out, *, restart=False, source="config"):
    """Phase 1 and the relabeling rounds on the user's data with their oracle."""
    config = as_config(config)
    start = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", flush=True)

    checkpoint = _checkpoint_of(config, out)
    if restart:
        moved = restart_checkpoint(checkpoint)
        if moved is not None:
            log(f"--restart: the old campaign is kept in {moved}; starting afresh")
    check_rerun(config, checkpoint, source)
    ask = config.oracle == "ask"
    oracle = None if ask else import_oracle(config.oracle)
    data = load_user_data(config)
    warn_large_budget(config, len(data.y))
    log(
        f"{len(data.y)} training rows read; building the networks "
        f"({config.module}, {config.image_size} px images)"
        if data.paths is not None
        else f"{len(data.y)} training rows read; building the networks"
    )

    from noisyactive.active import ActiveLabelCleaner
    from noisyactive.config._models import make_classifier, make_filter

    seed = config.seed
    estimator = make_filter(config, "ct_vog", seed, None)
    classifier = make_classifier(config, seed)
    if data.paths is not None:
        images = dict(image_size=config.image_size, cache_dir=config.cache_dir)
        estimator.set_params(**images)
        classifier.set_params(**images)
    # Epoch lines with elapsed time and ETA (stderr) from the first epoch on:
    # phase 1 at 64 px on a CPU takes minutes.
    estimator.set_params(verbose=1)
    classifier.set_params(verbose=1)
    cleaner = ActiveLabelCleaner(
        estimator=estimator,
        classifier=classifier,
        query_strategy=config.query_strategy,
        oracle=oracle,
        batch_size=config.budget_per_round,
        n_rounds=config.n_rounds,
        audit_size=config.audit_size,
        audit_share=config.audit_share,
        refit=config.refit,
        refit_epochs=config.refit_epochs,
        checkpoint=str(checkpoint),
        random_state=seed,
        verbose=1,
    )
    if data.X_val is not None:
        log(
            f"{len(data.y_val)} validation rows: the 'val macro-F1' of each round "
            "is scored against your validation labels as given (noisy if they are)"
        )
    rounds = "" if ask else f" and {cleaner.n_rounds} rounds"
    log(f"phase 1{rounds} on all {len(data.y)} training rows")
    cleaner.fit(
        data.X, data.y, X_val=data.X_val, y_val=data.y_val, sample_ids=data.rows
    )
    Path(out).mkdir(parents=True, exist_ok=True)
    _write_labels(Path(out) / "labels.csv", data, cleaner)
    (Path(out) / "history.json").write_text(
        json.dumps(
            {"history": cleaner.history_, "config": config.given},
            default=str,
            indent=1,
        )
    )
    if ask:
        log(
            f"phase 1 done; the campaign is in {checkpoint}. Next: "
            f"`noisyactive review {checkpoint}` (a web page for the expert), or "
            f"`noisyactive query {checkpoint} --csv questions.csv` then "
            f"`noisyactive teach {checkpoint} questions.csv`."
        )
    relabeled = int(np.sum(cleaner.relabeled_mask_))
    log(
        f"done: {cleaner.budget_used_} labels asked, {relabeled} relabeled; wrote "
        f"{out}/labels.csv and history.json"
    )
    if data.X_val is not None and cleaner.history_:
        f1 = cleaner.history_[-1].get("val_macro_f1")
        if f1 is not None:
            print(
                f"validation macro-F1 {f1:.3f} (against your validation labels as "
                "given: if they are noisy, so is this score)"
            )
    if data.X_test is not None:
        accuracy = float(cleaner.score(data.X_test, data.y_test))
        print(
            f"test accuracy {accuracy:.3f} (against your test labels as given: "
            "if they are noisy, so is this score)"
        )
    return cleaner
