"""``noisyactive demo`` and ``noisyactive run --config FILE``."""

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from noisyactive.cli._campaign import run_user_campaign
from noisyactive.cli._expert import add_expert_commands
from noisyactive.config._schema import ConfigError, check_config, keys_help

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
    # The filter's own noise-rate estimate, as a user without the truth gets.
    "forget_rate": "auto",
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
    """The parsed :class:`~noisyactive.config._schema.Config` of a JSON or TOML
    file (``SystemExit`` naming the key when it is not valid)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"noisyactive: config file {path} does not exist.")
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SystemExit(f"noisyactive: {path} is not valid TOML: {exc}") from exc
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"noisyactive: {path} is not valid JSON: {exc}") from exc
    return check_config(raw, source=str(path))


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM during ``run``.

    Not a ``KeyboardInterrupt``: skorch's training loop catches that one and
    returns as if training had finished, and the campaign would save a cut-short
    phase 1 as done. This exception passes through skorch and the cleaner, so
    nothing unfinished is saved as finished.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _interruptible():
    """SIGINT and SIGTERM raise :class:`Interrupted` while the block runs."""

    def handler(signum, frame):
        raise Interrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; leave them alone
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


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
    dataset, noise = config.dataset, config.noise_rate
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


def format_warning(message, category, filename, lineno, line=None):
    """A warning as the command line shows it: ``noisyactive: warning: ...``,
    without the file and line inside a library that raised it."""
    kind = "" if category is UserWarning else f" ({category.__name__})"
    return f"noisyactive: warning{kind}: {message}\n"


@contextlib.contextmanager
def cli_warnings():
    """Warnings printed by :func:`format_warning` while the command runs."""
    previous = warnings.formatwarning
    warnings.formatwarning = format_warning
    try:
        yield
    finally:
        warnings.formatwarning = previous


def main(argv=None):
    """Entry point of the ``noisyactive`` command."""
    with cli_warnings():
        return _main(argv)


def _main(argv):
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
    run.add_argument(
        "--restart",
        action="store_true",
        help="keep the campaign's checkpoint folder under a new name "
        "(FOLDER.old-<time>) and start afresh",
    )
    add_expert_commands(sub)
    args = parser.parse_args(argv)
    if getattr(args, "handler", None):
        return args.handler(args)

    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    if args.command == "demo":
        config = check_config(
            dict(
                DEMO_CONFIG,
                n_rounds=args.rounds,
                epochs=args.epochs,
                classifier_epochs=args.epochs,
            ),
            source="demo",
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
    out = args.out or config.out
    try:
        with _interruptible():
            if config.oracle:
                run_user_campaign(
                    config, out, restart=args.restart, source=str(args.config)
                )
            else:
                seeds = args.seeds or list(config.seeds)
                _run_experiments(config, out, seeds, config.title or str(args.config))
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        where = (
            f"the campaign in {config.checkpoint or Path(out) / 'checkpoint'} keeps "
            "every finished step (a phase 1 cut short is not saved; answers given "
            "so far are)"
            if config.oracle
            else "finished seeds and methods are kept where the runner keeps them"
        )
        print(
            f"\nnoisyactive: interrupted ({name}); {where}. Run the same command "
            "again to resume.",
            file=sys.stderr,
            flush=True,
        )
        return 128 + exc.signum
    except ConfigError as exc:
        raise SystemExit(f"noisyactive: {exc}") from None
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
