"""``noisyactive demo`` and ``noisyactive run --config FILE``."""

import argparse
import json
import sys
import time
from pathlib import Path

from noisyactive.cli._campaign import run_user_campaign
from noisyactive.cli._config import check_config, keys_help
from noisyactive.cli._expert import add_expert_commands

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
    "refit": "scratch",
    "methods": ["ct_vog_entropy", "ce_al_entropy", "al_entropy"],
}


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


def _run_experiments(config, out, seeds, title):
    from noisyactive.experiments import format_curve_table, run_experiment, write_report

    log = _logger()
    results = []
    for seed in seeds:
        dataset, noise = config.get("dataset"), config.get("noise_rate")
        log(f"seed {seed}: {dataset} with noise {noise}")
        results.append(run_experiment(config, seed=seed, log=log))
    summary = write_report(results, out, title=title)
    print("\nTest macro-F1 per round (mean ± std over seeds):\n")
    print(format_curve_table(summary))
    print(
        f"\nReport written to {out}/: curves.png, selection.png, tables.md, "
        "results.json"
    )
    return summary


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
    demo.add_argument("--seeds", type=int, nargs="+", default=[0])
    demo.add_argument("--rounds", type=int, default=DEMO_CONFIG["n_rounds"])
    demo.add_argument("--epochs", type=int, default=DEMO_CONFIG["epochs"])
    demo.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice)",
    )
    run = sub.add_parser(
        "run",
        help="the pipeline on your data, from a config file",
        description="With an 'oracle', clean your own data: every row is a "
        "candidate, validation/test only when you give them. Without one, "
        "benchmark the methods on data with known labels.",
        epilog="configuration keys (JSON or TOML):\n" + keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", required=True, help="JSON or TOML configuration")
    run.add_argument("--out", default=None, help="report folder (or config 'out')")
    run.add_argument("--seeds", type=int, nargs="+", default=None)
    add_expert_commands(sub)
    args = parser.parse_args(argv)
    if getattr(args, "handler", None):
        return args.handler(args)

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
        )
        return 0
    config = _load_config(args.config)
    check_config(config, source=str(args.config))
    out = args.out or config.get("out", "noisyactive-report")
    if config.get("oracle"):
        run_user_campaign(config, out)
    else:
        seeds = args.seeds or config.get("seeds", [0])
        _run_experiments(config, out, seeds, config.get("title", str(args.config)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
