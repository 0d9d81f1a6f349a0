"""Speed of a frozen pretrained trunk with cached features against a full
fine-tune of the same network at the same resolution, side by side in one run.

For each side, one :class:`~noisyactive.NetClassifier` epoch over the same
HAM10000 images (or random images with ``--data`` omitted): EfficientNet-Lite0
with ImageNet weights, fully fine-tuned, against ``freeze=`` with the trunk's
output cached (8 views per image). The cache is built once before the timed
epochs, and its build time and size are reported; the ratio is of the median
epoch times.

    python benchmarks/bench_speed_frozen.py --data /work/shared/data/ham10000 \\
        --n 1024 --size 128 --freeze 12 --epochs 3 --threads 1
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np


def _images(args):
    if args.data is None:
        rng = np.random.default_rng(0)
        X = rng.integers(0, 256, (args.n, 3, args.size, args.size), dtype=np.uint8)
        return X, np.arange(args.n) % 7
    from noisyactive.datasets import load_ham10000

    data = load_ham10000(args.data, size=args.size, cache_dir=args.cache_dir)
    idx = np.random.default_rng(0).permutation(len(data.labels))[: args.n]
    return np.asarray(data.images[idx]), data.labels[idx]


def _epoch_times(clf):
    return [round(h["dur"], 3) for h in clf.history_]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="HAM10000 folder (else random)")
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--freeze", default="12")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache-dir", default=".cache/noisyactive")
    p.add_argument("--out", default=None, help="append the JSON record here")
    args = p.parse_args(argv)

    import torch

    from noisyactive import NetClassifier
    from noisyactive.nets import _frozen

    torch.set_num_threads(args.threads)
    freeze = args.freeze if args.freeze == "trunk" else float(args.freeze)
    freeze = int(freeze) if isinstance(freeze, float) and freeze >= 1 else freeze
    X, y = _images(args)
    common = dict(
        module="efficientnet_lite0",
        weights="imagenet",
        max_epochs=args.epochs,
        batch_size=64,
        random_state=0,
    )
    full = NetClassifier(**common).fit(X, y)
    feat_dir = tempfile.mkdtemp(prefix="trunk-cache-")
    _frozen.TRUNK_IMAGES_COMPUTED["count"] = 0
    start = time.perf_counter()
    # Build the cache alone first (the timed fit then reads it).
    NetClassifier(freeze=freeze, cache_dir=feat_dir, **common)._prepare(X, reset=True)
    build_s = time.perf_counter() - start
    n_computed = _frozen.TRUNK_IMAGES_COMPUTED["count"]
    size = sum(
        os.path.getsize(os.path.join(root, f))
        for root, _, files in os.walk(feat_dir)
        for f in files
    )
    top = NetClassifier(freeze=freeze, cache_dir=feat_dir, **common).fit(X, y)
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == n_computed  # all from cache
    t_full = float(np.median(_epoch_times(full)))
    t_top = float(np.median(_epoch_times(top)))
    rec = dict(
        n_images=len(X),
        image_size=args.size,
        freeze=freeze,
        epochs=args.epochs,
        threads=args.threads,
        full_finetune_epoch_s=round(t_full, 2),
        frozen_top_epoch_s=round(t_top, 2),
        speedup=round(t_full / t_top, 1),
        cache_build_s=round(build_s, 1),
        cache_images_x_views=n_computed,
        cache_mb=round(size / 2**20, 1),
        data="ham10000" if args.data else "random",
    )
    print(json.dumps(rec))
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
