"""Run the paper's experiment protocol on a dataset and record the results.

    python benchmarks/run_benchmark.py --config digits            # 3 seeds, all methods
    python benchmarks/run_benchmark.py --config digits --smoke    # CI-sized
    python benchmarks/run_benchmark.py --config ham10000_p05 \
        --data ../shared/data/ham10000
    python benchmarks/run_benchmark.py --config benchmarks/configs/isic2019_gpu.json \
        --data /path/to/isic2019_by_class                          # on a GPU machine

Every seed is appended as one JSON line (config, versions, device, wall time,
per-round test macro-F1 of every method, phase-1 selection statistics) to
``benchmarks/results/<name>.jsonl``; the report folder ``benchmarks/results/<name>/``
gets the plots and tables. ``benchmarks/render_results.py`` turns the stored
results into ``benchmarks/RESULTS.md``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SMOKE = dict(
    epochs=3,
    classifier_epochs=3,
    alc_epochs=2,
    num_gradual=1,
    vog_window=2,
    n_rounds=2,
    seeds=[0],
    methods=["al_entropy", "ce_al_random", "alc_coteaching", "ct_vog_coreset"],
)


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="digits")
    parser.add_argument("--data", help="dataset path (overrides the config's)")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--methods", nargs="+")
    parser.add_argument("--smoke", action="store_true", help="tiny CI-sized run")
    parser.add_argument("--out", help="results folder (default benchmarks/results)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="override config entries, e.g. --set epochs=5",
    )
    args = parser.parse_args(argv)

    import torch

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
    seeds = args.seeds or config.get("seeds", [0])
    out = Path(args.out) if args.out else HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / f"{name}.jsonl"
    command = "python benchmarks/run_benchmark.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )

    results = []
    t0 = time.perf_counter()
    for seed in seeds:
        print(f"== {name}: seed {seed}", flush=True)
        res = run_experiment(
            config, seed=seed, log=lambda m: print("  " + m, flush=True)
        )
        res["command"] = command
        results.append(res)
        with jsonl.open("a") as fh:
            fh.write(json.dumps(res, default=str) + "\n")
    summary = write_report(results, out / name, title=config.get("title", name))
    print(format_curve_table(summary))
    print(
        f"\n{len(seeds)} seed(s) in {time.perf_counter() - t0:.0f}s; "
        f"appended to {jsonl}; report in {out / name}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
