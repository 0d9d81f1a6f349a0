"""Which network gives the best clean-label HAM10000 reference on a CPU?

Clean labels, the benchmark's lesion-grouped split (train / validation / test =
0.7 / 0.1 / 0.2, split seed = run seed), one :class:`~noisyactive.NetClassifier`
per configuration, restored to its best-validation epoch, scored by test
macro-F1. The configurations (``--configs``) are the current small CNN from
scratch at 32 px, EfficientNet-Lite0 with ImageNet weights fine-tuned end to
end, the same architecture from random initialisation (so the gain is the
weights'), and the pretrained network with a frozen trunk (``freeze=``) whose
top is trained on cached trunk features. Each (configuration, seed) is one JSON
line in ``--out`` as soon as it finishes; a rerun skips what is there.

    python benchmarks/bench_backbones.py --data /work/shared/data/ham10000 \\
        --seeds 0 1 2 --threads 1 --out benchmarks/results/ham10000_backbones.jsonl
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def _effnet(size, weights="imagenet", **params):
    """An EfficientNet-Lite0 configuration (SGD 0.01, batch 64)."""
    return dict(
        size=size,
        params=dict(
            module="efficientnet_lite0",
            weights=weights,
            lr=0.01,
            batch_size=64,
            **params,
        ),
    )


CONFIGS = {
    # The fair benchmark's current network (benchmarks/configs/ham10000_p05.json).
    "small_cnn_32px": dict(
        size=32,
        params=dict(
            module="small_cnn",
            module_kwargs={"width": 32},
            max_epochs=30,
            lr=0.05,
            batch_size=128,
        ),
    ),
    "effnet_lite0_imagenet_ft_64px": _effnet(64, max_epochs=6),
    "effnet_lite0_random_ft_64px": _effnet(64, weights=None, max_epochs=6),
    "effnet_lite0_imagenet_ft_96px": _effnet(96, max_epochs=6),
    "effnet_lite0_imagenet_frozen12_128px": _effnet(128, freeze=12, max_epochs=15),
    "effnet_lite0_imagenet_frozen16_64px": _effnet(64, freeze=16, max_epochs=30),
}


def _done(out):
    if not out.exists():
        return set()
    keys = set()
    for line in out.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            keys.add((rec["config"], rec["seed"]))
    return keys


def run_one(name, seed, data_path, cache_dir, threads):
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    from noisyactive import NetClassifier
    from noisyactive.datasets import grouped_train_val_test_split, load_ham10000

    torch.set_num_threads(threads)
    cfg = CONFIGS[name]
    data = load_ham10000(data_path, size=cfg["size"], cache_dir=cache_dir)
    tr, va, te = grouped_train_val_test_split(
        data.labels, data.groups, sizes=(0.7, 0.1, 0.2), random_state=seed
    )
    X, y = data.images, data.labels
    clf = NetClassifier(random_state=seed, cache_dir=cache_dir, **cfg["params"])
    start = time.perf_counter()
    cpu0 = time.process_time()
    clf.fit(X[tr], y[tr], X_val=X[va], y_val=y[va])
    fit_s = time.perf_counter() - start
    pred = clf.predict(X[te])
    per_class = f1_score(y[te], pred, average=None, labels=data.classes)
    return dict(
        config=name,
        seed=seed,
        image_size=cfg["size"],
        params={k: v for k, v in cfg["params"].items()},
        test_macro_f1=float(f1_score(y[te], pred, average="macro")),
        test_accuracy=float(accuracy_score(y[te], pred)),
        per_class_f1=dict(zip(data.classes.tolist(), per_class.round(4).tolist())),
        best_epoch=clf.best_epoch_,
        val_macro_f1=[round(h["valid_f1"], 4) for h in clf.history_ if "valid_f1" in h],
        fit_wall_s=round(fit_s, 1),
        fit_cpu_s=round(time.process_time() - cpu0, 1),
        n_train=int(len(tr)),
        n_test=int(len(te)),
        threads=threads,
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="HAM10000 folder")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache-dir", default=".cache/noisyactive")
    p.add_argument(
        "--out", default="benchmarks/results/ham10000_backbones.jsonl", type=Path
    )
    args = p.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(args.out)
    for seed in args.seeds:
        for name in args.configs:
            if (name, seed) in done:
                print(f"skip {name} seed {seed} (in {args.out})", flush=True)
                continue
            print(f"run {name} seed {seed}", flush=True)
            rec = run_one(name, seed, args.data, args.cache_dir, args.threads)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(
                f"  test macro-F1 {rec['test_macro_f1']:.3f}, "
                f"fit {rec['fit_wall_s']:.0f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
