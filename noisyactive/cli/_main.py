"""``noisyactive demo`` and ``noisyactive run --config FILE``."""

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "DEMO_CONFIG"]

DEMO_CONFIG = {
    "dataset": "digits",
    "imbalance_factor": 15,
    # Long-tail the training split only and keep validation/test balanced: with
    # ~2 test images of the rarest digit, the paper's protocol makes macro-F1 on
    # this tiny set mostly noise. (The benchmarks also run the paper's protocol.)
    "balanced_eval": True,
    "noise_rate": 0.4,
    "module": "small_cnn",
    "epochs": 20,
    "classifier_epochs": 20,
    "num_gradual": 8,
    "vog_window": 3,
    "mix_ratio": 0.5,
    "vog_normalize": "class",
    "forget_rate": "true",
    "batch_size": 64,
    "lr": 0.05,
    "budget_per_round": 15,
    "n_rounds": 8,
    # Every method fine-tunes for the same epochs per round (CE + AL: the
    # noisy-trained net on all data with the current labels, as the paper's).
    "refit": "finetune",
    "refit_epochs": 4,
    "methods": ["ct_vog_entropy", "ce_al_entropy", "al_entropy"],
}
DEMO_SEEDS = (0, 1, 2)


def _logger():
    start = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", flush=True)

    return log


def _load_config(path):
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"noisyactive: config file {path} does not exist.")
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        return tomllib.loads(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"noisyactive: {path} is not valid JSON: {exc}") from exc


def _import_callable(spec):
    module, _, name = str(spec).partition(":")
    if not module or not name:
        raise SystemExit(
            f"noisyactive: oracle must be 'module:function', got {spec!r}."
        )
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"noisyactive: cannot import oracle {spec!r}: {exc}") from exc
    if not callable(fn):
        raise SystemExit(f"noisyactive: {spec!r} is not callable.")
    return fn


def _one_seed(config, seed, threads=1):
    """One seed of an experiment (a worker process of the demo)."""
    import torch

    from noisyactive.experiments import run_experiment

    torch.set_num_threads(threads)
    log = _logger()
    return run_experiment(config, seed=seed, log=lambda m: log(f"seed {seed}: {m}"))


def _run_seeds(config, seeds, jobs):
    """Seeds in ``jobs`` processes (1 thread each) or in this process."""
    if jobs <= 1 or len(seeds) < 2:
        import torch

        return [_one_seed(config, s, torch.get_num_threads()) for s in seeds]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(seeds)), mp_context=ctx) as pool:
        return list(pool.map(_one_seed, [config] * len(seeds), seeds))


def _run_experiments(config, out, seeds, title, jobs=1):
    from noisyactive.experiments import format_curve_table, write_report

    start = time.perf_counter()
    dataset, noise = config.get("dataset"), config.get("noise_rate")
    print(f"{len(seeds)} seed(s) of {dataset} with noise {noise}", flush=True)
    results = _run_seeds(config, list(seeds), jobs)
    summary = write_report(results, out, title=title)
    print(f"\nTest macro-F1 per round ({len(seeds)} seed(s)):\n")
    print(format_curve_table(summary))
    print(
        f"\nReport written to {out}/: curves.png, selection.png, tables.md, "
        f"results.json ({time.perf_counter() - start:.0f}s)"
    )
    return summary


def _run_campaign(config, out):
    """Relabel a user's data with their own oracle (no true labels needed)."""
    import numpy as np

    from noisyactive.active import ActiveLabelCleaner
    from noisyactive.experiments import load_experiment_data
    from noisyactive.experiments._methods import make_classifier, make_filter

    log = _logger()
    oracle = _import_callable(config["oracle"])
    data = load_experiment_data(
        dict(config, noise_rate=config.get("noise_rate", 0)), config.get("seed", 0)
    )
    seed = config.get("seed", 0)
    rate = config.get("forget_rate", "auto")
    cfg = dict(config, forget_rate=rate if rate != "true" else "auto")
    cleaner = ActiveLabelCleaner(
        estimator=make_filter(cfg, "ct_vog", seed, None),
        classifier=make_classifier(cfg, seed),
        query_strategy=config.get("query_strategy", "entropy"),
        oracle=oracle,
        batch_size=config.get("budget_per_round", 0.028),
        n_rounds=config.get("n_rounds", 8),
        refit=config.get("refit", "finetune"),
        checkpoint=config.get("checkpoint", str(Path(out) / "checkpoint")),
        random_state=seed,
        verbose=1,
    )
    log(f"phase 1 and {cleaner.n_rounds} rounds on {len(data.y_train)} samples")
    cleaner.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val)
    Path(out).mkdir(parents=True, exist_ok=True)
    rows = ["index,noisy_label,label,kept_by_phase1,relabeled"]
    for i, (old, new) in enumerate(zip(data.y_train, cleaner.labels_)):
        rows.append(
            f"{i},{old},{new},{int(cleaner.initial_clean_mask_[i])},"
            f"{int(cleaner.relabeled_mask_[i])}"
        )
    (Path(out) / "labels.csv").write_text("\n".join(rows) + "\n")
    (Path(out) / "history.json").write_text(
        json.dumps(
            {"history": cleaner.history_, "config": config}, default=str, indent=1
        )
    )
    test = None
    if len(data.y_test):
        test = float(cleaner.score(data.X_test, data.y_test))
    log(
        f"done: {cleaner.budget_used_} labels, {int(np.sum(cleaner.relabeled_mask_))} "
        f"relabeled, test accuracy {test}; wrote {out}/labels.csv and history.json"
    )


def main(argv=None):
    """Entry point of the ``noisyactive`` command."""
    parser = argparse.ArgumentParser(
        prog="noisyactive",
        description="Noisy-label filtering (Co-teaching + VOG) and budgeted active "
        "label cleaning.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="the whole pipeline on the embedded long-tailed noisy digits",
    )
    demo.add_argument("--out", default="noisyactive-report", help="report folder")
    demo.add_argument("--seeds", type=int, nargs="+", default=list(DEMO_SEEDS))
    demo.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes, one seed each (default: one per seed)",
    )
    demo.add_argument("--rounds", type=int, default=DEMO_CONFIG["n_rounds"])
    demo.add_argument("--epochs", type=int, default=DEMO_CONFIG["epochs"])
    demo.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice)",
    )
    run = sub.add_parser("run", help="the pipeline on your data, from a config file")
    run.add_argument("--config", required=True, help="JSON or TOML configuration")
    run.add_argument("--out", default=None, help="report folder (or config 'out')")
    run.add_argument("--seeds", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)

    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    if args.command == "demo":
        config = dict(
            DEMO_CONFIG,
            n_rounds=args.rounds,
            epochs=args.epochs,
            classifier_epochs=args.epochs,
        )
        _run_experiments(
            config,
            args.out,
            args.seeds,
            "Long-tailed digits, symmetric noise p = 0.4",
            jobs=args.jobs or len(args.seeds),
        )
        return 0
    config = _load_config(args.config)
    out = args.out or config.get("out", "noisyactive-report")
    if config.get("oracle"):
        _run_campaign(config, out)
    else:
        seeds = args.seeds or config.get("seeds", [0])
        _run_experiments(config, out, seeds, config.get("title", str(args.config)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
