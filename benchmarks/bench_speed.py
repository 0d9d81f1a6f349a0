"""Speed of noisyactive against plain training, the reference design and cleanlab.

One command, four measurements, side by side in one run. The repeats of the
variants are interleaved (the order rotates every repeat) and medians are
reported, because these machines are noisy.

1. **Epoch time** on the same data and module of: skorch's own
   ``NeuralNetClassifier`` (standard ``DataLoader``), ``NetClassifier`` (our
   in-memory ``ArrayNet``), a bare PyTorch loop (one network), Co-teaching
   (``NoisyLabelFilter(mix_ratio=0)``), Co-teaching+VOG (``mix_ratio=0.5``) and
   the reference design's VOG: Co-teaching+VOG whose gradients come from a
   separate pass over the whole training set after every epoch, per network
   (forward and full backward as under BackPACK, per-sample gradients of the
   final layer's weight and bias by ``torch.func.vmap(grad(...))``; benchmark
   only). An epoch is timed from skorch's ``on_epoch_begin`` to its
   ``on_epoch_end`` (after a CUDA synchronisation), and only the epochs after a
   warm-up are used: by then selection runs at the full forget rate and, for the
   VOG variants, VOG is in use (recorded per epoch). Timing inside one fit,
   rather than subtracting fits of different lengths, keeps set-up costs out and
   does not double the noise. Both wall and CPU seconds (process plus children)
   are recorded; the ratios use CPU seconds on the CPU, where other jobs share
   the cores, and wall seconds on CUDA (``--clock``). Also the VOG buffer's bytes
   per sample (float32 / float16) and the cost of its per-epoch VOG scores.
2. **Time to a clean mask** and downstream quality (``bench_speed_cleanlab.py``):
   ``NoisyLabelFilter`` (CT and CT+VOG) against cleanlab's ``CleanLearning``
   (5-fold, the same module in
   ``NetClassifier``, the same epochs) on long-tailed noisy digits (p = 0.4):
   time to the mask, its precision, the recall of truly clean samples of the
   three rarest classes, and the test macro-F1 of a ``NetClassifier`` trained on
   each kept subset (and on all noisy labels, and on the truly clean ones).
3. **Query cost**: the rows of ``benchmarks/bench_query.py`` (coreset and entropy
   on 20,000 x 512), run as its own command.
4. **Throughput** (images/s) of a Co-teaching epoch against the bare loop (the
   ceiling is 0.5x: two networks), from the epoch times of 1; and a bare
   two-network Co-teaching loop, which splits the ratio into what co-teaching
   costs in plain PyTorch and what noisyactive adds.

Separate questions have their own scripts: ``bench_speed_coteaching.py`` (the
filter's Co-teaching against a naive bare loop on real 32 px images, CPU) and
``bench_speed_stem.py`` (which ResNet18 stem for small images on a CPU).

Usage::

    python benchmarks/bench_speed.py --out bench_speed.json      # ~6-10 min, CPU
    python benchmarks/bench_speed.py --smoke                     # < 1 min
    python benchmarks/bench_speed.py --device cuda --out gpu.json
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch.func import grad, vmap

from noisyactive import NetClassifier, NoisyLabelFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speed_cleanlab import bench_clean_mask  # noqa: E402

from noisyactive._netcore._arrays import InputNorm
from noisyactive.base import input_stats, resolve_device
from noisyactive.filtering._coteaching import CoTeachingNet
from noisyactive.filtering._vog import VOGBuffer, vog_gradients
from noisyactive.nets import ResNet18, SmallCNN, capture_features, final_linear

_CNN = {"module": "small_cnn", "image": (3, 16, 16)}
_RESNET = {"module": "resnet18", "image": (3, 8, 8)}
_QUERY_CASES = [
    "coreset_k_center_greedy_float32",
    "coreset_strategy_rank_float32",
    "entropy_scores",
    "entropy_strategy_rank",
]
# Sizes per mode. On the CPU the images are small enough for 2 cores; the CUDA
# preset is the GPU run of the same command. A setup's own "repeats" wins over the
# mode's.
PRESETS = {
    "smoke": {
        "epoch": [
            {**_CNN, "image": (3, 8, 8), "n": 128, "batch_size": 32, "timed": 1},
            # 32 px, not 8: at 8 px ResNet18's maps are 1 x 1 from layer 2 on,
            # and one CI run of the smoke diverged there (bf16; not reproduced
            # in ten reruns).
            {**_RESNET, "image": (3, 32, 32), "n": 16, "batch_size": 16, "timed": 1},
        ],
        "clean": {"epochs": 2, "seeds": [0], "folds": 5},
        "query": [["--smoke", "--cases", "coreset_k_center_greedy_float32"]],
        "repeats": 1,
    },
    "cpu": {
        "epoch": [
            {**_CNN, "n": 512, "batch_size": 128, "timed": 4, "repeats": 5},
            {**_RESNET, "n": 64, "batch_size": 32, "timed": 2, "repeats": 3},
        ],
        "clean": {"epochs": 20, "seeds": [0, 1, 2], "folds": 5},
        "query": [
            ["--cases", *_QUERY_CASES, "--repeats", "3"],
            # The O(n^2)-memory reference design: one call is slow enough.
            ["--cases", "coreset_naive_full_matrix_float32", "--repeats", "1"],
        ],
        "repeats": 3,
    },
    "cuda": {
        "epoch": [
            {**_CNN, "image": (3, 32, 32), "n": 16384, "batch_size": 256, "timed": 3},
            {**_RESNET, "image": (3, 32, 32), "n": 8192, "batch_size": 256, "timed": 2},
        ],
        "clean": {"epochs": 20, "seeds": [0, 1, 2], "folds": 5},
        "query": [["--cases", *_QUERY_CASES, "--repeats", "3"]],
        "repeats": 3,
    },
}
VARIANTS = [
    "skorch_plain",
    "net_plain",
    "bare_torch",
    "bare_ct",
    "ct",
    "ct_vog",
    "ct_vog_ref",
]
# Warm-up epochs before timing: epoch 0 pays one-off allocations; with
# num_gradual=1 selection is at the full forget rate from epoch 1; with
# vog_window=2 the VOG history is complete (and used) from epoch 2.
WARMUP = {"ct_vog": 2, "ct_vog_ref": 2}
SELECTION = {"forget_rate": 0.4, "num_gradual": 1, "vog_window": 2}
SGD = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def read_clocks(device):
    """(wall, CPU) seconds after a device synchronisation. CPU time is this
    process's plus its waited-for children's (cleanlab may fork workers)."""
    _sync(device)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + children.ru_utime + (
        children.ru_stime
    )


class EpochClock(Callback):
    """Wall and CPU seconds of every epoch (``bench_wall``, ``bench_cpu``)."""

    def __init__(self, device="cpu"):
        self.device = device

    def on_epoch_begin(self, net, **kwargs):
        self.t0_ = read_clocks(self.device)

    def on_epoch_end(self, net, **kwargs):
        wall, cpu = read_clocks(self.device)
        net.history.record("bench_wall", wall - self.t0_[0])
        net.history.record("bench_cpu", cpu - self.t0_[1])
        net.history.record("vog_used", getattr(net, "vog_epoch_", None) is not None)


def _epoch_times(history):
    return {
        "wall": list(history[:, "bench_wall"]),
        "cpu": list(history[:, "bench_cpu"]),
    }


# --- the reference design's VOG (benchmark only) ---------------------------------
def reference_vog_gradients(layer, features, y):
    """Per-sample gradient of the cross-entropy w.r.t. the final layer's full
    weight and bias by ``vmap(grad(...))`` (what BackPACK's BatchGrad returns),
    then the rows of each sample's label: ``(b, D + 1)`` like ``vog_gradients``."""
    params = {name: p.detach().float() for name, p in layer.named_parameters()}

    def loss_one(p, h, target):
        logits = F.linear(h[None], p["weight"], p["bias"])
        return F.cross_entropy(logits, target[None])

    g = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, features.float(), y)
    rows = torch.arange(y.shape[0], device=y.device)
    return torch.cat([g["bias"][rows, y][:, None], g["weight"][rows, y]], dim=1)


class _SeparatePassBuffer(VOGBuffer):
    """Ignores the inline writes of the training step; filled by the extra pass."""

    def write(self, indices, grads):
        pass

    def write_separate(self, indices, grads):
        super().write(indices, grads)


class ReferenceVOGNet(CoTeachingNet):
    """Co-teaching+VOG with the reference design's gradient pass.

    After every epoch, each network runs over the whole training set again (eval
    mode): a forward and, as under BackPACK's ``with backpack(BatchGrad()):
    loss.backward()``, an ordinary backward through the whole network; the
    per-sample gradients of the final layer come from ``torch.func``. The inline
    VOG writes of the training step are ignored, so selection uses only these.
    Still a lower bound of the reference's cost: it also wrote one ``.npy`` file
    per epoch and network, which is not done here.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        cfg, dev = self.coteaching, torch.device(self.device)
        dtype = getattr(torch, cfg.vog_dtype)
        self.vog_ = [
            _SeparatePassBuffer(
                len(y), layer.in_features + 1, cfg.vog_window, dtype, dev
            )
            for layer in self.layers_
        ]
        self.train_data_ = self.get_dataset(X, y)

    def on_epoch_end(self, net, **kwargs):
        self._set_training(False)
        batches = self.get_iterator(self.train_data_, training=False)
        for module, layer, buf in zip(self.ensemble(), self.layers_, self.vog_):
            params = [p for p in module.parameters() if p.requires_grad]
            for Xb, yb in batches:
                with capture_features(layer) as store, self.autocast():
                    logits = module(self.prepare_batch(Xb["x"], training=False))
                # autograd.grad leaves the .grad fields of training untouched.
                torch.autograd.grad(F.cross_entropy(logits.float(), yb), params)
                h = store["h"].detach().flatten(1)
                buf.write_separate(Xb["index"], reference_vog_gradients(layer, h, yb))
        super().on_epoch_end(net, **kwargs)


class ReferenceVOGFilter(NoisyLabelFilter):
    """The filter with :class:`ReferenceVOGNet` inside (benchmark only)."""

    _net_class = ReferenceVOGNet


# --- variants ------------------------------------------------------------------------
def _body(module, in_channels, n_classes):
    if module == "small_cnn":
        return SmallCNN(in_channels, n_classes)
    return ResNet18(n_classes, in_channels, small_input=True)


def _build_network(module, X, n_classes, seed, device):
    """The same network the estimators build: body + input normalisation."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        body = _body(module, X.shape[1], n_classes)
    return InputNorm(body, *input_stats(X, "image")).to(device)


def _fit_skorch_plain(setup, X, y, epochs, clock, device):
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(
        _build_network(setup["module"], X, 10, 0, device),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        optimizer__momentum=SGD["momentum"],
        optimizer__weight_decay=SGD["weight_decay"],
        lr=SGD["lr"],
        batch_size=setup["batch_size"],
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        callbacks=[("bench_clock", clock)],
        device=device,
        verbose=0,
    )
    # A standard Dataset/DataLoader over float images, as a skorch user has it.
    net.fit(X.astype(np.float32) / np.float32(255), y)
    return net.history


def _estimator_kwargs(setup, epochs, clock, device):
    return dict(
        module=setup["module"],
        max_epochs=epochs,
        batch_size=setup["batch_size"],
        augment=False,
        device=device,
        callbacks=[("bench_clock", clock)],
        random_state=0,
        **SGD,
    )


def _bare_step_plain(nets, xb, yb):
    return F.cross_entropy(nets[0](xb).float(), yb)


def _bare_step_coteaching(nets, xb, yb):
    """Han et al.'s step written out: each network learns from the other's
    small-loss choice (the forget rate at its final value from the start)."""
    loss1 = F.cross_entropy(nets[0](xb).float(), yb, reduction="none")
    loss2 = F.cross_entropy(nets[1](xb).float(), yb, reduction="none")
    r = int((1 - SELECTION["forget_rate"]) * yb.shape[0])
    sel1 = torch.argsort(loss1.detach())[:r]
    sel2 = torch.argsort(loss2.detach())[:r]
    return loss1[sel2].mean() + loss2[sel1].mean()


def _fit_bare_torch(setup, X, y, epochs, device, amp, n_networks=1):
    """A hand-written loop with the same data handling as ArrayNet: one network
    with cross-entropy, or two co-taught networks."""
    nets = [
        _build_network(setup["module"], X, 10, seed, device)
        for seed in range(n_networks)
    ]
    channels_last = device.startswith("cuda")  # as ArrayNet does on a GPU
    if channels_last:
        nets = [net.to(memory_format=torch.channels_last) for net in nets]
    step = _bare_step_plain if n_networks == 1 else _bare_step_coteaching
    opt = torch.optim.SGD([p for net in nets for p in net.parameters()], **SGD)
    X_t, y_t = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    gen, b = torch.Generator().manual_seed(0), setup["batch_size"]
    for net in nets:
        net.train()
    times = {"wall": [], "cpu": []}
    for _ in range(epochs):
        t0 = read_clocks(device)
        order = torch.randperm(X.shape[0], generator=gen).to(device)
        for start in range(0, X.shape[0], b):
            idx = order[start : start + b]
            xb = X_t[idx].float().div_(255.0)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(
                device.split(":")[0], dtype=amp, enabled=amp is not None
            ):
                loss = step(nets, xb, y_t[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        t1 = read_clocks(device)
        times["wall"].append(t1[0] - t0[0])
        times["cpu"].append(t1[1] - t0[1])
    return times


def run_variant(variant, setup, X, y, device, amp):
    """Fit one variant; returns ({"wall": [...], "cpu": [...]} seconds of every
    epoch, extras)."""
    epochs = WARMUP.get(variant, 1) + setup["timed"]
    clock = EpochClock(device)
    extra = {}
    if variant in ("bare_torch", "bare_ct"):
        n_networks = 1 if variant == "bare_torch" else 2
        return _fit_bare_torch(setup, X, y, epochs, device, amp, n_networks), extra
    if variant == "skorch_plain":
        history = _fit_skorch_plain(setup, X, y, epochs, clock, device)
        return _epoch_times(history), extra
    kwargs = _estimator_kwargs(setup, epochs, clock, device)
    if variant == "net_plain":
        est = NetClassifier(**kwargs).fit(X, y)
        return _epoch_times(est.history_), extra
    mix = 0.0 if variant == "ct" else 0.5
    cls = ReferenceVOGFilter if variant == "ct_vog_ref" else NoisyLabelFilter
    est = cls(mix_ratio=mix, **SELECTION, **kwargs).fit(X, y)
    extra["vog_used"] = list(est.history_[:, "vog_used"])
    extra["n_selected"] = list(est.history_[:, "n_selected"])
    extra["vog_buffer_nbytes"] = est.vog_buffer_nbytes_
    return _epoch_times(est.history_), extra


def vog_bytes_per_sample(setup, X, y, device):
    """Bytes per training sample of the two VOG buffers at the default window."""
    out = {}
    n = min(32, X.shape[0])
    for dtype in ("float32", "float16"):
        est = NoisyLabelFilter(
            setup["module"],
            vog_dtype=dtype,
            forget_rate=0.2,  # the buffer's size only: no noise estimate
            max_epochs=1,
            batch_size=n,
            augment=False,
            device=device,
            random_state=0,
        ).fit(X[:n], y[:n])
        out[dtype] = est.vog_buffer_nbytes_ / n
    return {"vog_window": 5, "networks": 2, "bytes_per_sample": out}


def reference_check(setup, X, y, device):
    """Max |closed form - torch.func| on one batch of a fresh network."""
    net = _build_network(setup["module"], X[:16], 10, 0, device).eval()
    layer = final_linear(net)
    x = torch.from_numpy(X[:16]).to(device).float() / 255
    yb = torch.from_numpy(y[:16]).to(device)
    with torch.no_grad(), capture_features(layer) as store:
        logits = net(x)
    h = store["h"].flatten(1)
    diff = vog_gradients(logits, h, yb) - reference_vog_gradients(layer, h, yb)
    return float(diff.abs().max())


def _median(values):
    return float(statistics.median(values))


def vog_score_cost(setup, device, reps=5):
    """Seconds per epoch of ``VOGBuffer.scores`` (two networks, as CT+VOG calls it
    at the start of every epoch) and of the same population std written as two
    passes, on a buffer of the benchmark's size."""
    dim = final_linear(_body(setup["module"], setup["image"][0], 10)).in_features
    buf = VOGBuffer(setup["n"], dim + 1, SELECTION["vog_window"], device=device)
    buf.data.normal_()

    def two_pass(data):
        mean = data.mean(dim=1, keepdim=True)
        return (data - mean).square_().mean(dim=1).sqrt_().mean(dim=1)

    out = {}
    for name, fn in (
        ("torch_std", buf.scores),
        ("two_pass", lambda: two_pass(buf.data)),
    ):
        fn()
        t0 = read_clocks(device)
        for _ in range(reps):
            fn()
        t1 = read_clocks(device)
        out[f"{name}_wall_s"] = 2 * (t1[0] - t0[0]) / reps
        out[f"{name}_cpu_s"] = 2 * (t1[1] - t0[1]) / reps
    out["max_abs_diff"] = float((buf.scores() - two_pass(buf.data)).abs().max())
    return out


def _summary(raw, n, clock):
    """Medians over all timed epochs of all repeats, and ratios, for one clock."""
    timed = {v: [t[clock][WARMUP.get(v, 1) :] for t in raw[v]] for v in VARIANTS}
    per_repeat = {v: [float(np.mean(t)) for t in timed[v]] for v in VARIANTS}
    med = {v: _median([x for t in timed[v] for x in t]) for v in VARIANTS}

    def paired(a, b):
        return _median([x / y for x, y in zip(per_repeat[a], per_repeat[b])])

    return {
        "epoch_s_per_repeat": per_repeat,
        "epoch_s_median": med,
        "epoch_s_min": {
            v: float(min(x for t in timed[v] for x in t)) for v in VARIANTS
        },
        "images_per_s": {v: n / med[v] for v in VARIANTS},
        "ratios": {
            "ct_vog_over_ct": med["ct_vog"] / med["ct"],
            "ct_over_net_plain": med["ct"] / med["net_plain"],
            "ct_over_skorch_plain": med["ct"] / med["skorch_plain"],
            "ref_vog_over_inline_vog": med["ct_vog_ref"] / med["ct_vog"],
            "net_plain_over_skorch_plain": med["net_plain"] / med["skorch_plain"],
            "ct_throughput_over_bare": med["bare_torch"] / med["ct"],
            "bare_ct_over_bare": med["bare_ct"] / med["bare_torch"],
            "ct_over_bare_ct": med["ct"] / med["bare_ct"],
            "net_plain_throughput_over_bare": med["bare_torch"] / med["net_plain"],
        },
        "paired_ratios_median": {
            "ct_vog_over_ct": paired("ct_vog", "ct"),
            "ct_over_net_plain": paired("ct", "net_plain"),
            "ref_vog_over_inline_vog": paired("ct_vog_ref", "ct_vog"),
        },
    }


def bench_epochs(setup, repeats, device, amp, clock, log):
    """Section 1 (and 4): interleaved repeats of every variant on one module."""
    rng = np.random.default_rng(0)
    n, shape = setup["n"], setup["image"]
    X = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    raw = {v: [] for v in VARIANTS}
    extras = {v: [] for v in VARIANTS}
    for r in range(repeats):
        # Rotate the order so no variant always runs first or last.
        order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
        for variant in order:
            times, extra = run_variant(variant, setup, X, y, device, amp)
            raw[variant].append(times)
            extras[variant].append(extra)
            w = WARMUP.get(variant, 1)
            log(
                f"  {setup['module']} repeat {r + 1}/{repeats} {variant:<12} "
                f"{clock} s per epoch {[round(d, 3) for d in times[clock]]} -> "
                f"timed {np.mean(times[clock][w:]):.3f} (wall "
                f"{np.mean(times['wall'][w:]):.3f})"
            )
    summary = _summary(raw, n, clock)
    scores = vog_score_cost(setup, device)
    ct_epoch = summary["epoch_s_median"]["ct"]
    # VOG's fixed per-epoch work, measured on its own: the part of the CT+VOG
    # overhead that the epoch medians cannot resolve on a noisy machine.
    summary["ratios"]["vog_scores_share_of_ct_epoch"] = (
        scores[f"torch_std_{clock}_s"] / ct_epoch
    )
    summary["ratios"]["vog_scores_two_pass_share_of_ct_epoch"] = (
        scores[f"two_pass_{clock}_s"] / ct_epoch
    )
    result = {
        "setup": {**setup, "image": list(shape), "n_classes": 10, **SELECTION},
        "repeats": repeats,
        "clock": clock,
        "warmup_epochs": {v: WARMUP.get(v, 1) for v in VARIANTS},
        "epoch_s_raw": raw,
        **summary,
        "by_clock": {c: _summary(raw, n, c) for c in ("wall", "cpu")},
        "vog_used_in_timed_epochs": {
            v: [e["vog_used"][WARMUP.get(v, 1) :] for e in extras[v]]
            for v in ("ct", "ct_vog", "ct_vog_ref")
        },
        "n_selected_per_epoch": {
            v: extras[v][0]["n_selected"] for v in ("ct", "ct_vog", "ct_vog_ref")
        },
        "vog_buffer": vog_bytes_per_sample(setup, X, y, device),
        "vog_score_cost": scores,
        "reference_vs_closed_form_max_abs_diff": reference_check(setup, X, y, device),
    }
    return result


# --- section 2: time to a clean mask -------------------------------------------------
def bench_query_cost(argv):
    """The rows of bench_query.py, run as its own command.

    A separate process, because bench_query spawns one worker per case, and a
    spawned worker re-imports the parent's ``__main__``: from here that would be
    torch, skorch and cleanlab in every worker, inflating its memory figures.
    """
    script = Path(__file__).resolve().parent / "bench_query.py"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "query.json"
        subprocess.run(
            [sys.executable, str(script), *argv, "--out", str(out)], check=True
        )
        return json.loads(out.read_text())


def _quiet(*args, **kwargs):
    pass


# --- environment, table, main --------------------------------------------------------
def environment(device, threads):
    import cleanlab
    import sklearn
    import skorch

    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "cleanlab": cleanlab.__version__,
        "platform": platform.platform(),
        "device": device,
        "device_name": name,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "torch_num_threads": threads,
    }


def _targets(report):
    """Every ratio against its target; ``met`` is None for informative rows."""
    rows = []
    for module, res in report.get("epoch_time", {}).items():
        r = res["ratios"]
        rows += [
            (f"{module}: CT+VOG / CT epoch", r["ct_vog_over_ct"], "<=", 1.05),
            (
                f"{module}: VOG scores / CT epoch",
                r["vog_scores_share_of_ct_epoch"],
                "<=",
                0.05,
            ),
            (f"{module}: CT / plain NetClassifier", r["ct_over_net_plain"], "<=", 2.2),
            (f"{module}: CT / plain skorch", r["ct_over_skorch_plain"], "<=", 2.2),
            (
                f"{module}: reference VOG / inline VOG",
                r["ref_vog_over_inline_vog"],
                "factor",
                None,
            ),
            (
                f"{module}: CT images/s / bare loop",
                r["ct_throughput_over_bare"],
                "ceiling",
                0.5,
            ),
            (f"{module}: bare CT loop / bare loop", r["bare_ct_over_bare"], "-", None),
            (f"{module}: CT / bare CT loop", r["ct_over_bare_ct"], "-", None),
        ]
    if "clean_mask" in report:
        r = report["clean_mask"]["ratios"]
        for name in ("filter_ct", "filter_ct_vog"):
            rows.append(
                (f"{name} time / cleanlab", r[f"{name}_time_over_cleanlab"], "<=", 0.5)
            )
            rows.append(
                (f"{name} macro-F1 - cleanlab", r[f"{name}_f1_minus_cleanlab"], ">=", 0)
            )
    out = []
    for name, value, op, bound in rows:
        met = {"<=": value <= (bound or 0), ">=": value >= (bound or 0)}.get(op)
        target = op if bound is None else f"{op} {bound:g}"
        out.append({"name": name, "value": value, "target": target, "met": met})
    return out


def print_tables(report, out=print):
    for module, res in report.get("epoch_time", {}).items():
        s = res["setup"]
        out(
            f"\nEpoch time: {module}, {s['n']} x {tuple(s['image'])} uint8, batch "
            f"{s['batch_size']}, median of {res['repeats']} interleaved repeat(s) x "
            f"{s['timed']} timed epoch(s); "
            f"ratios on {res['clock']} time"
        )
        wall, clock = res["by_clock"]["wall"], res["clock"]
        out(
            f"{'variant':<14} {clock + ' s':>8} {'min':>7} {'images/s':>9} "
            f"{'wall s':>7}  mean per repeat ({clock} s)"
        )
        for v in VARIANTS:
            reps = ", ".join(f"{x:.3f}" for x in res["epoch_s_per_repeat"][v])
            out(
                f"{v:<14} {res['epoch_s_median'][v]:>8.3f} "
                f"{res['epoch_s_min'][v]:>7.3f} {res['images_per_s'][v]:>9.1f} "
                f"{wall['epoch_s_median'][v]:>7.3f}  [{reps}]"
            )
        c = res["vog_score_cost"]
        out(
            f"VOGBuffer.scores per epoch (2 networks): {c[f'torch_std_{clock}_s']:.4f}"
            f" {clock} s (written as a two-pass std: {c[f'two_pass_{clock}_s']:.4f})"
        )
        b = res["vog_buffer"]["bytes_per_sample"]
        out(
            f"VOG buffer (2 networks, window 5): {b['float32']:.0f} B/sample float32, "
            f"{b['float16']:.0f} B/sample float16"
        )
    if "clean_mask" in report:
        cm = report["clean_mask"]
        out(
            "\nTime to a clean mask (noisy digits p=0.4) and downstream test "
            f"macro-F1, {len(cm['settings']['seeds'])} seed(s)"
        )
        out(
            f"{'method':<14} {'CPU s':>7} {'wall s':>7} {'precision':>9} "
            f"{'clean rec':>9} {'rare rec':>8} {'macro-F1':>15}"
        )
        for name, s in cm["summary"].items():
            out(
                f"{name:<14} {s['mask_cpu_s_median']:>7.2f} "
                f"{s['mask_wall_s_median']:>7.2f} {s['precision_mean']:>9.3f} "
                f"{s['clean_recall_mean']:>9.3f} {s['rare_clean_recall_mean']:>8.3f} "
                f"{s['test_macro_f1_mean']:>7.3f} +- {s['test_macro_f1_std']:.3f}"
            )
    if "query" in report:
        out("\nQuery cost (bench_query.py)")
        for row in report["query"]["results"]:
            out(
                f"{row['case']:<36} wall {row['wall_s_median']:.3f} s, CPU "
                f"{row['cpu_s_median']:.3f} s, peak {row['tracemalloc_peak_mib']:.1f} "
                "MiB"
            )
    out("\nRatios and targets")
    for t in report["targets"]:
        met = {True: "met", False: "MISSED", None: "-"}[t["met"]]
        out(f"{t['name']:<40} {t['value']:>8.3f}  {t['target']:<11} {met}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 repeat")
    parser.add_argument("--out", help="write the results as JSON to this path")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads (default 1: steadier timings on a shared machine)",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["epoch", "clean", "query"],
        choices=["epoch", "clean", "query"],
    )
    parser.add_argument(
        "--modules",
        nargs="+",
        default=["small_cnn", "resnet18"],
        choices=["small_cnn", "resnet18"],
    )
    parser.add_argument(
        "--clock",
        default="auto",
        choices=["auto", "wall", "cpu"],
        help="clock of the ratios: 'auto' is CPU time (process + children) on the "
        "CPU, where other jobs share the cores, and wall time on CUDA",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    wall0 = time.perf_counter()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    preset = PRESETS["smoke" if args.smoke else device.split(":")[0]]
    repeats = args.repeats or preset["repeats"]
    amp = None
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        amp = torch.bfloat16  # what the estimators use on such a GPU
    clock = args.clock
    if clock == "auto":
        clock = "wall" if device.startswith("cuda") else "cpu"
    log = _quiet if args.quiet else (lambda msg: print(msg, flush=True))

    report = {
        "benchmark": "speed",
        "command": "python benchmarks/bench_speed.py " + " ".join(argv or sys.argv[1:]),
        "smoke": args.smoke,
        "repeats": repeats,
        "clock": clock,
        "environment": environment(device, args.threads),
        "loadavg_start": list(os.getloadavg()),
    }
    if "epoch" in args.sections:
        report["epoch_time"] = {}
        for setup in preset["epoch"]:
            if setup["module"] in args.modules:
                log(f"epoch time: {setup['module']}")
                report["epoch_time"][setup["module"]] = bench_epochs(
                    setup,
                    args.repeats or setup.get("repeats", repeats),
                    device,
                    amp,
                    clock,
                    log,
                )
        report["throughput"] = {
            m: {
                "images_per_s": res["images_per_s"],
                "ct_over_bare": res["ratios"]["ct_throughput_over_bare"],
                "ceiling": 0.5,
            }
            for m, res in report["epoch_time"].items()
        }
    if "clean" in args.sections:
        log("time to a clean mask")
        report["clean_mask"] = bench_clean_mask(preset["clean"], device, clock, log)
    if "query" in args.sections:
        log("query cost")
        parts = [bench_query_cost(argv) for argv in preset["query"]]
        report["query"] = {
            **parts[0],
            "results": [r for p in parts for r in p["results"]],
        }
    report["targets"] = _targets(report)
    report["loadavg_end"] = list(os.getloadavg())
    report["wall_time_s"] = time.perf_counter() - wall0
    print_tables(report)
    print(
        f"\nwall time {report['wall_time_s']:.1f} s; load average "
        f"{report['loadavg_start'][0]:.2f} -> {report['loadavg_end'][0]:.2f}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
