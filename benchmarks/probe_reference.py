"""Probe a configuration cheaply: fit only the clean-label reference.

    python benchmarks/probe_reference.py --config ham10000_p05 \
        --set image_size=32 epochs=15 --seed 0

Prints one JSON line (config overrides, test macro-F1 at the best-validation
epoch, per-class recall, wall time). Used to choose the HAM10000 CPU
configuration before spending an hour per seed on every method. Results go to
stdout and, with ``--out``, are appended to a JSON-lines file.
"""

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's package first

from run_benchmark import apply_overrides, load_named_config  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="ham10000_p05")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON")
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    from noisyactive.experiments._data import load_experiment_data
    from noisyactive.experiments._methods import evaluate, make_classifier
    from noisyactive.experiments._run import environment

    name, config = load_named_config(args.config)
    apply_overrides(config, args.set)
    t = time.perf_counter()
    data = load_experiment_data(config, args.seed)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    ref = make_classifier(config, args.seed).fit(
        data.X_train, data.y_train_true, X_val=data.X_val, y_val=data.y_val
    )
    row = dict(
        config=name,
        overrides=args.set,
        seed=args.seed,
        n_train=int(len(data.y_train)),
        load_s=t_load,
        fit_s=time.perf_counter() - t,
        **evaluate(ref, data.X_test, data.y_test, data.classes),
        environment=environment(),
    )
    line = json.dumps(row)
    print(line, flush=True)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
