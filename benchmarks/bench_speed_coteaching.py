"""Is the filter's Co-teaching faster on the CPU than a naive PyTorch loop?

One question, side by side in one process (issue 18.1): on real 32 px HAM10000
images with ResNet18 (torchvision's standard stem), one thread, the epoch time of

- ``bare``: the two-network Co-teaching loop a user would write in plain PyTorch
  (NCHW float32, torch's default SGD, argsort small-loss selection, cross
  update; the same data handling: uint8 tensors indexed per batch);
- ``ct``: ``NoisyLabelFilter(mix_ratio=0)`` with its defaults (channels-last
  images and, on a CPU with native bf16 kernels, bf16 autocast);
- ``ct_vog``: ``NoisyLabelFilter(mix_ratio=0.5)`` (VOG in use in the timed
  epochs);
- ``ct_fp32``: ``ct`` with ``precision="fp32"`` (channels-last only), which
  splits the gain into its two parts.

Every variant trains ``--epochs`` epochs; the epochs after ``--warmup`` are timed
(by then the forget rate is at its final value and VOG is in use). The variants
of a repeat run one after the other, the order rotating every repeat; a ratio is
computed per repeat and reported as median [min, max] over the repeats. Times
are CPU seconds of this process (one thread, so other jobs on a shared machine
slow it less than wall time); wall seconds are reported too.

Usage::

    python benchmarks/bench_speed_coteaching.py                  # ~5-10 min
    python benchmarks/bench_speed_coteaching.py --n 128 --repeats 1 --epochs 3
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

from noisyactive import NoisyLabelFilter
from noisyactive._netcore._arrays import InputNorm
from noisyactive._netcore._inputs import default_cache_dir
from noisyactive.base import cpu_bf16_supported, input_stats
from noisyactive.datasets import load_ham10000, load_images
from noisyactive.nets import ResNet18

HAM = "/work/shared/data/ham10000"
SGD = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}
FORGET_RATE = 0.2
VARIANTS = ["bare", "ct", "ct_vog", "ct_fp32"]


def clocks():
    return time.perf_counter(), time.process_time()


class EpochClock(Callback):
    """Wall and CPU seconds of every epoch of a skorch fit."""

    def on_epoch_begin(self, net, **kwargs):
        self.t0_ = clocks()

    def on_epoch_end(self, net, **kwargs):
        wall, cpu = clocks()
        net.history.record("bench_wall", wall - self.t0_[0])
        net.history.record("bench_cpu", cpu - self.t0_[1])
        net.history.record("vog_used", getattr(net, "vog_epoch_", None) is not None)


def bare_coteaching(X, y, n_classes, epochs, batch_size, seed=0):
    """The naive loop: per-epoch (wall, cpu) seconds."""
    stats = input_stats(X, "image")
    nets = []
    for k in range(2):
        torch.manual_seed(seed + k)
        body = ResNet18(num_classes=n_classes, small_input=False)
        nets.append(InputNorm(body, *stats).train())
    params = [p for net in nets for p in net.parameters()]
    opt = torch.optim.SGD(params, **SGD)
    X_t, y_t = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(epochs):
        t0 = clocks()
        order = torch.randperm(len(X_t), generator=gen)
        for start in range(0, len(X_t), batch_size):
            idx = order[start : start + batch_size]
            xb, yb = X_t[idx].float().div_(255.0), y_t[idx]
            loss1 = F.cross_entropy(nets[0](xb), yb, reduction="none")
            loss2 = F.cross_entropy(nets[1](xb), yb, reduction="none")
            r = int((1 - FORGET_RATE) * len(yb))
            sel1 = torch.argsort(loss1.detach())[:r]
            sel2 = torch.argsort(loss2.detach())[:r]
            loss = loss1[sel2].mean() + loss2[sel1].mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        t1 = clocks()
        times.append((t1[0] - t0[0], t1[1] - t0[1]))
    return times


def filter_fit(X, y, epochs, batch_size, variant):
    est = NoisyLabelFilter(
        module="resnet18",
        module_kwargs={"small_input": False},
        mix_ratio=0.5 if variant == "ct_vog" else 0.0,
        final_selection=None,  # the naive loop has no loss mixture
        forget_rate=FORGET_RATE,
        num_gradual=1,
        vog_window=2,
        max_epochs=epochs,
        batch_size=batch_size,
        augment=False,
        precision="fp32" if variant == "ct_fp32" else "auto",
        device="cpu",
        callbacks=[EpochClock()],
        random_state=0,
        **SGD,
    ).fit(X, y)
    h = est.history_
    return list(zip(h[:, "bench_wall"], h[:, "bench_cpu"])), list(h[:, "vog_used"])


def summarise(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=512, help="images (first n rows)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", default=HAM)
    ap.add_argument("--out", default=None, help="write the raw results as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    cache = default_cache_dir()
    data = load_ham10000(args.data, size=None)  # metadata; decode only n images
    rng = np.random.default_rng(0)
    rows = np.sort(rng.permutation(len(data.labels))[: args.n])
    X = np.array(load_images(data.paths[rows], size=32, cache_dir=cache, verbose=True))
    y = np.searchsorted(data.classes, data.labels[rows]).astype(np.int64)
    print(f"{len(X)} HAM10000 images {X.shape[1:]}, cache in {cache}")
    print(
        f"torch {torch.__version__}, 1 thread, cpu bf16 native: "
        f"{cpu_bf16_supported()}, load average at start: {os.getloadavg()}"
    )

    raw = {v: [] for v in VARIANTS}
    vog_used = []
    for rep in range(args.repeats):
        order = VARIANTS[rep % len(VARIANTS) :] + VARIANTS[: rep % len(VARIANTS)]
        for variant in order:
            if variant == "bare":
                times = bare_coteaching(
                    X, y, len(data.classes), args.epochs, args.batch_size
                )
            else:
                times, used = filter_fit(X, y, args.epochs, args.batch_size, variant)
                if variant == "ct_vog":
                    vog_used.append(used[args.warmup :])
            timed = times[args.warmup :]
            raw[variant].append(
                {
                    "wall": sum(t[0] for t in timed) / len(timed),
                    "cpu": sum(t[1] for t in timed) / len(timed),
                }
            )
            print(
                f"repeat {rep} {variant:8s} {raw[variant][-1]['cpu']:.2f} s "
                f"CPU/epoch ({raw[variant][-1]['wall']:.2f} s wall)",
                flush=True,
            )
    assert all(all(u) for u in vog_used), "VOG was not in use in the timed epochs"

    pairs = {
        "ct / bare": ("ct", "bare"),
        "ct_vog / ct": ("ct_vog", "ct"),
        "ct_fp32 / bare": ("ct_fp32", "bare"),
        "ct / ct_fp32": ("ct", "ct_fp32"),
    }
    report = {"args": vars(args), "loadavg_end": os.getloadavg(), "raw": raw}
    print(f"\nload average at end: {os.getloadavg()}")
    print(f"{'ratio':16s} {'CPU median [min, max]':28s} {'wall median [min, max]'}")
    for name, (a, b) in pairs.items():
        row = {}
        for clock in ("cpu", "wall"):
            r = [x[clock] / z[clock] for x, z in zip(raw[a], raw[b])]
            row[clock] = summarise(r)
        report[name] = row
        c, w = row["cpu"], row["wall"]
        print(
            f"{name:16s} {c['median']:.3f} [{c['min']:.3f}, {c['max']:.3f}]"
            f"{'':8s} {w['median']:.3f} [{w['min']:.3f}, {w['max']:.3f}]"
        )
    for v in VARIANTS:
        s = summarise([x["cpu"] for x in raw[v]])
        print(
            f"{v:8s} CPU s/epoch median {s['median']:.2f} "
            f"[{s['min']:.2f}, {s['max']:.2f}]"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
