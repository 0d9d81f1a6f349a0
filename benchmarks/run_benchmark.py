"""Run the paper's experiment protocol on a dataset and record the results.

    python benchmarks/run_benchmark.py --config digits            # 3 seeds, all methods
    python benchmarks/run_benchmark.py --config digits --smoke    # CI-sized
    python benchmarks/run_benchmark.py --config ham10000_p05 \
        --data /work/shared/data/ham10000 --out benchmarks/results
    python benchmarks/run_benchmark.py --config benchmarks/configs/isic2019_gpu.json \
        --data /path/to/isic2019_by_class                          # on a GPU machine

Results go to ``benchmarks/out/`` (ignored by git) unless ``--out`` names
another folder: pass ``--out benchmarks/results`` to write the results that
``benchmarks/render_results.py`` turns into ``RESULTS.md``. Every finished seed
is appended as one JSON line (config, environment, wall time, per-round test
macro-F1 of every method, phase-1 selection statistics) to ``<out>/<name>.jsonl``;
the report folder ``<out>/<name>/`` gets the plots and tables.

Resuming: run the same command again. Seeds already in the JSON-lines file
with the same configuration are skipped, and within an unfinished seed the
parts already done (the reference, each phase-1 variant, each method) are read
back from ``<out>/<name>.partial/seed<k>.json``. ``--fresh`` starts over.
"""

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's package, not an installed one

SMOKE = dict(
    epochs=3,
    classifier_epochs=3,
    num_gradual=1,
    vog_window=2,
    n_rounds=2,
    refit_epochs=1,
    seeds=[0],
    methods=["al_entropy", "ce_al_random", "alc_coteaching", "ct_vog_coreset"],
    # 3 epochs are too few for the noise estimate (it warns, rightly); the smoke
    # run checks the harness, so it gives the injected rate.
    forget_rate="true",
)
DEFAULT_OUT = HERE / "out"


def load_named_config(name):
    path = Path(name)
    if not path.suffix:
        path = HERE / "configs" / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in (HERE / "configs").glob("*.json"))
        raise SystemExit(f"No config {name!r}; known: {known} or a .json path.")
    return path.stem, json.loads(path.read_text())


def apply_overrides(config, items):
    """``KEY=JSON`` strings from ``--set`` applied to ``config`` in place."""
    for item in items:
        key, _, value = item.partition("=")
        config[key] = json.loads(value)
    return config


def finished_seeds(jsonl, config):
    """Seeds already recorded in ``jsonl`` with exactly this configuration."""
    if not jsonl.is_file():
        return {}
    done = {}
    for line in jsonl.read_text().splitlines():
        if line.strip():
            run = json.loads(line)
            if run.get("config") == config:
                done[run["seed"]] = run
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="digits")
    parser.add_argument("--data", help="dataset path (overrides the config's)")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--methods", nargs="+")
    parser.add_argument("--smoke", action="store_true", help="tiny CI-sized run")
    parser.add_argument("--out", help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--name", help="results name (default: the config's)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--fresh", action="store_true", help="do not resume")
    parser.add_argument(
        "--no-table1",
        action="store_true",
        help="fit only the phase-1 variants the methods need (not Table 1's CT "
        "and CT-VOG pair)",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="override config entries, e.g. --set epochs=5",
    )
    args = parser.parse_args(argv)

    import torch

    from noisyactive.config._schema import check_config
    from noisyactive.experiments import format_curve_table, run_experiment, write_report

    if args.threads:
        torch.set_num_threads(args.threads)
    name, config = load_named_config(args.config)
    if args.smoke:
        config.update(SMOKE)
        name += "_smoke"
    apply_overrides(config, args.set)
    if args.data:
        config["path"] = args.data
    if args.methods:
        config["methods"] = args.methods
    name = args.name or name
    parsed = check_config(config, source=f"{args.config} (with --set/--smoke)")
    seeds = args.seeds or list(parsed.seeds)
    out = Path(args.out) if args.out else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / f"{name}.jsonl"
    command = "python benchmarks/run_benchmark.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    config_key = json.loads(json.dumps(config))
    done = {} if args.fresh else finished_seeds(jsonl, config_key)
    partial_dir = out / f"{name}.partial"
    partial_dir.mkdir(exist_ok=True)

    results = []
    t0 = time.perf_counter()
    for seed in seeds:
        if seed in done:
            print(f"== {name}: seed {seed} already in {jsonl}; skipped", flush=True)
            results.append(done[seed])
            continue
        print(f"== {name}: seed {seed}", flush=True)
        partial = partial_dir / f"seed{seed}.json"
        if args.fresh:
            partial.unlink(missing_ok=True)
        res = run_experiment(
            parsed,
            seed=seed,
            log=lambda m: print("  " + m, flush=True),
            partial=partial,
            phase1=not args.no_table1,
        )
        res["command"] = command
        results.append(res)
        with jsonl.open("a") as fh:
            fh.write(json.dumps(res, default=str) + "\n")
        partial.unlink(missing_ok=True)
    summary = write_report(results, out / name, title=parsed.title or name)
    print(format_curve_table(summary))
    print(
        f"\n{len(seeds)} seed(s) in {time.perf_counter() - t0:.0f}s; "
        f"results in {jsonl}; report in {out / name}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
