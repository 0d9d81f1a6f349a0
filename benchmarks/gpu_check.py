"""The GPU path, measured (issue 18.5).

    python benchmarks/gpu_check.py --out benchmarks/results/gpu_check.json

On a CUDA machine this (1) runs the ``gpu``-marked tests and (2) measures
training images/s of :class:`~noisyactive.NoisyLabelFilter` (ResNet18, 224 px,
batch 256, bf16 autocast, channels-last, data on the device) against a bare
two-network Co-teaching loop written here with the same settings (target:
filter >= 0.90x the bare loop) and against one network trained alone (the 2x
floor: two networks cannot beat half its rate), and records the device name.

Without CUDA it says so and exits 0 after the parts that need no GPU (the
command line and the bare loop on a tiny CPU input, used by the default tests).
Throughput is the median of ``--repeats`` timed epochs after one warm-up epoch.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's package

TARGET_VS_BARE = 0.90


def synthetic_images(n, size, n_classes, seed=0):
    """Random uint8 images and labels (the timing does not depend on content)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 3, size, size), dtype=np.uint8)
    return X, np.arange(n) % n_classes


def _resnet18(n_classes):
    from noisyactive.nets import ResNet18

    return ResNet18(num_classes=n_classes)


def bare_epochs(X, y, *, n_nets, epochs, batch_size, device, bf16, channels_last):
    """A plain PyTorch loop: ``n_nets`` ResNet18s (2: Co-teaching's small-loss
    cross-update at a 20 % forget rate), SGD, data on the device; returns the
    wall seconds of every epoch."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    n_classes = int(y.max()) + 1
    nets = [_resnet18(n_classes).to(device) for _ in range(n_nets)]
    if channels_last:
        nets = [n.to(memory_format=torch.channels_last) for n in nets]
    opts = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.9) for n in nets]
    X_t = torch.as_tensor(X, device=device)
    y_t = torch.as_tensor(y, device=device)
    amp = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
    times = []
    for _ in range(epochs):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        perm = torch.randperm(len(y_t), device=device)
        for start in range(0, len(y_t), batch_size):
            idx = perm[start : start + batch_size]
            xb = X_t[idx].float().div_(255)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yb = y_t[idx]
            with amp if bf16 else torch.autocast("cpu", enabled=False):
                logits = [n(xb) for n in nets]
            losses = [
                F.cross_entropy(lg.float(), yb, reduction="none") for lg in logits
            ]
            if n_nets == 2:
                keep = max(1, int(0.8 * len(yb)))
                mine = [loss.detach().argsort()[:keep] for loss in losses]
                losses = [losses[0][mine[1]].mean(), losses[1][mine[0]].mean()]
            else:
                losses = [losses[0].mean()]
            for opt, loss in zip(opts, losses):
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return times


def filter_epochs(X, y, *, epochs, batch_size, device):
    """Per-epoch wall seconds of ``NoisyLabelFilter`` with the paper's GPU
    settings (``precision="bf16"``; channels-last is its CUDA default)."""
    from noisyactive.filtering import NoisyLabelFilter

    filt = NoisyLabelFilter(
        module="resnet18",
        max_epochs=epochs,
        batch_size=batch_size,
        lr=0.01,
        forget_rate=0.2,
        num_gradual=1,
        augment=False,
        device=device,
        precision="bf16",
        random_state=0,
    )
    t = time.perf_counter()
    filt.fit(X, y)
    total = time.perf_counter() - t
    try:  # skorch's EpochTimer, when the net records it
        return [float(d) for d in filt.net_.history[:, "dur"]]
    except KeyError:  # whole fit spread evenly (includes the warm-up)
        return [total / epochs] * epochs


def measure(n_images, size, batch_size, repeats, device):
    """Images/s of the filter, the bare two-network loop and one network."""
    X, y = synthetic_images(n_images, size, n_classes=8)
    epochs = repeats + 1  # the first epoch warms up (cuDNN autotune, allocator)
    rate = {}
    for name, times in (
        (
            "filter",
            filter_epochs(X, y, epochs=epochs, batch_size=batch_size, device=device),
        ),
        (
            "bare_two_networks",
            bare_epochs(
                X,
                y,
                n_nets=2,
                epochs=epochs,
                batch_size=batch_size,
                device=device,
                bf16=True,
                channels_last=True,
            ),
        ),
        (
            "one_network",
            bare_epochs(
                X,
                y,
                n_nets=1,
                epochs=epochs,
                batch_size=batch_size,
                device=device,
                bf16=True,
                channels_last=True,
            ),
        ),
    ):
        timed = times[1:] or times
        rate[name] = {
            "images_per_s": n_images / statistics.median(timed),
            "epoch_s": timed,
        }
    f, b, o = (
        rate[k]["images_per_s"] for k in ("filter", "bare_two_networks", "one_network")
    )
    return {
        "rates": rate,
        "filter_vs_bare": f / b,
        "filter_vs_one_network": f / o,
        "target_filter_vs_bare": TARGET_VS_BARE,
        "meets_target": f / b >= TARGET_VS_BARE,
    }


def run_gpu_tests():
    """``pytest -m gpu`` on this checkout; returns its exit code and tail."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
    )
    return {"returncode": proc.returncode, "tail": proc.stdout[-2000:]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--out", help="write the record as JSON here")
    args = parser.parse_args(argv)

    import torch

    from noisyactive.experiments import environment

    record = {
        "command": "python benchmarks/gpu_check.py " + " ".join(argv or sys.argv[1:])
    }
    record["environment"] = environment()
    if not torch.cuda.is_available():
        record["skipped"] = "no CUDA device: nothing measured"
        print(record["skipped"])
    else:
        record["device_name"] = torch.cuda.get_device_name(0)
        if not args.skip_tests:
            record["gpu_tests"] = run_gpu_tests()
        record.update(
            measure(args.images, args.size, args.batch_size, args.repeats, "cuda")
        )
        print(
            f"{record['device_name']}: filter {record['filter_vs_bare']:.2f}x the bare "
            f"two-network loop (target >= {TARGET_VS_BARE}), "
            f"{record['filter_vs_one_network']:.2f}x one network"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
