"""Which CPU settings speed up one training step: memory layout, bf16, foreach?

One question (issue 18.1): the CPU seconds of one training step (forward,
backward, SGD step; one thread) of two ResNet18s (standard stem, 32 px, batch
128, as Co-teaching runs them) and of one small CNN (8, 16, 32 px, batch 64),
for NCHW / channels-last, fp32 / bf16 autocast and, for ResNet18, the
for-loop / foreach SGD step. Ratios are to NCHW fp32 for-loop; median over
``--repeats`` rounds of ``--steps`` steps (the first step of each is dropped).

With ``--compile``: the same for one ResNet18 (channels-last, bf16) eager
against ``torch.compile``, reporting the first step (compilation) apart.

Usage::

    python benchmarks/bench_speed_precision.py            # ~2 min, CPU
    python benchmarks/bench_speed_precision.py --compile  # ~1-4 min more
"""

import argparse
import itertools
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from noisyactive.base import cpu_bf16_supported
from noisyactive.nets import ResNet18, SmallCNN


def step_seconds(make_nets, x, y, *, channels_last, bf16, foreach, steps):
    torch.manual_seed(0)
    nets = make_nets()
    if channels_last:
        nets = [n.to(memory_format=torch.channels_last) for n in nets]
        x = x.contiguous(memory_format=torch.channels_last)
    params = [p for n in nets for p in n.parameters()]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    times = []
    for _ in range(steps):
        t0 = time.process_time()
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outs = [n(x) for n in nets]
        sum(F.cross_entropy(o.float(), y) for o in outs).backward()
        opt.step()
        times.append(time.process_time() - t0)
    return float(np.median(times[1:]))


def compile_payoff(steps=6):
    """(first-step cpu, first-step wall, median later-step cpu) per mode."""
    x = torch.rand(128, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (128,))
    out = {}
    for mode in ("eager", "compiled"):
        torch.manual_seed(0)
        net = ResNet18(7, small_input=False).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        forward = torch.compile(net) if mode == "compiled" else net
        times = []
        for _ in range(steps):
            t0, w0 = time.process_time(), time.perf_counter()
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = forward(x)
            F.cross_entropy(logits.float(), y).backward()
            opt.step()
            times.append((time.process_time() - t0, time.perf_counter() - w0))
        later = float(np.median([t[0] for t in times[1:]]))
        out[mode] = {"first_cpu": times[0][0], "first_wall": times[0][1], "cpu": later}
        print(
            f"{mode}: first step {times[0][0]:.2f} s CPU / {times[0][1]:.2f} s wall, "
            f"later steps {later:.3f} s CPU (median)",
            flush=True,
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, native cpu bf16: {cpu_bf16_supported()}")
    cases = [
        (
            "2x resnet18 32px b128",
            lambda: [ResNet18(7, small_input=False) for _ in range(2)],
            (128, 3, 32),
            (False, True),
        ),
    ] + [
        (f"small_cnn {s}px b64", lambda c=c: [SmallCNN(c, 10)], (64, c, s), (False,))
        for s, c in ((8, 1), (16, 3), (32, 3))
    ]
    report = {}
    for name, make, (b, c, s), foreach_opts in cases:
        x, y = torch.rand(b, c, s, s), torch.randint(0, 7, (b,))
        combos = list(itertools.product((False, True), (False, True), foreach_opts))
        res = {k: [] for k in combos}
        for _ in range(args.repeats):
            for cl, bf, fe in combos:
                res[(cl, bf, fe)].append(
                    step_seconds(
                        make,
                        x,
                        y,
                        channels_last=cl,
                        bf16=bf,
                        foreach=fe,
                        steps=args.steps,
                    )
                )
        base = float(np.median(res[(False, False, False)]))
        row = {}
        for (cl, bf, fe), v in res.items():
            key = f"{'nhwc' if cl else 'nchw'}-{'bf16' if bf else 'fp32'}"
            key += "-foreach" if fe else ""
            row[key] = round(float(np.median(v)) / base, 3)
        report[name] = {"nchw_fp32_s": base, "ratio": row}
        print(
            f"{name}: NCHW fp32 {base:.4f} s/step; "
            + ", ".join(f"{k} {r:.2f}" for k, r in row.items()),
            flush=True,
        )
    if args.compile:
        report["compile"] = compile_payoff()
    return report


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
