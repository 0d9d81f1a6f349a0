"""Which ResNet18 stem should ``module="auto"`` pick for small images on a CPU?

One question (issue 18.4): on real 32 px HAM10000 images, the CPU time per
epoch and the test accuracy / macro-F1 of ``NetClassifier(module="resnet18")``
with torchvision's standard stem (7x7 stride-2 conv and max-pool) and with the
CIFAR-style stem (3x3 stride-1 conv, no max-pool: ``small_input=True``), trained
on the same clean labels, the same epochs, one thread. Train and test are split
by ``lesion_id``.

Usage::

    python benchmarks/bench_speed_stem.py                       # ~5 min, CPU
    python benchmarks/bench_speed_stem.py --stems standard --precision auto fp32
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupShuffleSplit
from skorch.callbacks import Callback

from noisyactive import NetClassifier
from noisyactive._netcore._inputs import default_cache_dir
from noisyactive.datasets import load_ham10000, load_images

HAM = "/work/shared/data/ham10000"


class EpochCPU(Callback):
    def on_epoch_begin(self, net, **kwargs):
        self.t0_ = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("bench_cpu", time.process_time() - self.t0_)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data", default=HAM)
    ap.add_argument("--stems", nargs="+", default=["standard", "cifar"])
    ap.add_argument("--precision", nargs="+", default=["auto"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    data = load_ham10000(args.data, size=None)  # metadata; decode only what is used
    split = GroupShuffleSplit(1, test_size=0.3, random_state=0)
    train, test = next(split.split(data.labels, groups=data.groups))
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(train, args.n_train, replace=False))
    test = np.sort(rng.choice(test, args.n_test, replace=False))
    rows = np.concatenate([train, test])
    X = np.zeros((len(data.labels), 3, 32, 32), np.uint8)
    X[rows] = load_images(data.paths[rows], size=32, cache_dir=default_cache_dir())
    y = data.labels
    print(f"train {len(train)}, test {len(test)}, 32 px; load {os.getloadavg()}")
    report = {"args": vars(args)}
    for stem, precision in [(s, p) for s in args.stems for p in args.precision]:
        name = stem if precision == "auto" else f"{stem}_{precision}"
        clf = NetClassifier(
            module="resnet18",
            module_kwargs={"small_input": stem == "cifar"},
            max_epochs=args.epochs,
            batch_size=64,
            lr=0.05,
            precision=precision,
            device="cpu",
            callbacks=[EpochCPU()],
            random_state=0,
        ).fit(X[train], y[train])
        pred = clf.predict(X[test])
        cpu = clf.history_[:, "bench_cpu"]
        row = {
            "cpu_s_per_epoch_median": float(
                np.median(cpu[1:] if len(cpu) > 1 else cpu)
            ),
            "test_accuracy": accuracy_score(y[test], pred),
            "test_macro_f1": f1_score(y[test], pred, average="macro"),
        }
        report[name] = row
        print(
            f"{name:13s} {row['cpu_s_per_epoch_median']:.1f} s CPU/epoch, "
            f"accuracy {row['test_accuracy']:.3f}, macro-F1 "
            f"{row['test_macro_f1']:.3f}",
            flush=True,
        )
    if "cifar" in report and "standard" in report:
        ratio = (
            report["cifar"]["cpu_s_per_epoch_median"]
            / report["standard"]["cpu_s_per_epoch_median"]
        )
        report["cifar_over_standard_cpu"] = ratio
        print(f"CIFAR stem / standard stem CPU time per epoch: {ratio:.1f}x")
    print(f"majority-class accuracy: {np.mean(y[test] == 'nv'):.3f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
