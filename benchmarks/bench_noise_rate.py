"""How well ``forget_rate="auto"`` estimates the noise rate.

    python benchmarks/bench_noise_rate.py                  # digits, 3 seeds
    python benchmarks/bench_noise_rate.py --ham ../shared/data/ham10000 --seeds 0

For each noise rate p in {0.2, 0.4, 0.6}, a NoisyLabelFilter with
``forget_rate="auto"`` is fitted on the noisy training split; its estimate
(``forget_rate_``, frozen at the end of the warm-up) is compared with the realised
share of flipped labels. Prints a table and writes JSON.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.2, 0.4, 0.6])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ham", help="HAM10000 folder (else the embedded digits)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results" / "noise_rate.json"))
    args = parser.parse_args(argv)

    import torch

    from noisyactive import NoisyLabelFilter
    from noisyactive.experiments import environment, load_experiment_data

    torch.set_num_threads(args.threads)
    if args.ham:
        base = dict(dataset="ham10000", path=args.ham, image_size=24)
        params = dict(
            module="small_cnn",
            module_kwargs={"width": 16},
            augment=True,
            max_epochs=args.epochs or 10,
            num_gradual=5,
            batch_size=128,
        )
    else:
        base = dict(dataset="digits")
        params = dict(
            module="small_cnn",
            augment=False,
            max_epochs=args.epochs or 20,
            num_gradual=8,
            batch_size=64,
        )
    rows = []
    for p in args.rates:
        for seed in args.seeds:
            data = load_experiment_data(dict(base, noise_rate=p), seed)
            realised = float(np.mean(data.y_train != data.y_train_true))
            t = time.perf_counter()
            filt = NoisyLabelFilter(
                forget_rate="auto", lr=0.05, random_state=seed, **params
            )
            filt.fit(data.X_train, data.y_train)
            rows.append(
                dict(
                    noise_rate=p,
                    seed=seed,
                    realised=realised,
                    estimate=filt.forget_rate_,
                    error=filt.forget_rate_ - realised,
                    wall_s=time.perf_counter() - t,
                )
            )
            print(
                f"p={p} seed={seed}: realised {realised:.3f}, estimated "
                f"{filt.forget_rate_:.3f}",
                flush=True,
            )
    print(
        "\n| p | realised (mean) | estimate (mean ± std) | error (mean) | |error| max |"
    )
    print("|---|---|---|---|---|")
    for p in args.rates:
        sub = [r for r in rows if r["noise_rate"] == p]
        est = np.array([r["estimate"] for r in sub])
        err = np.array([r["error"] for r in sub])
        print(
            f"| {p} | {np.mean([r['realised'] for r in sub]):.3f} | "
            f"{est.mean():.3f} ± {est.std():.3f} | {err.mean():+.3f} | "
            f"{np.abs(err).max():.3f} |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "rows": rows,
                "data": base,
                "params": params,
                "environment": environment(),
                "command": "python benchmarks/bench_noise_rate.py "
                + " ".join(sys.argv[1:] if argv is None else argv),
            },
            indent=1,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
