"""benchmarks/gpu_check.py: its CPU parts run here, the CUDA parts skip."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    return runpy.run_path(str(SCRIPT))


def test_bare_loop_trains_two_networks_on_cpu(gpu_check, monkeypatch):
    X, y = gpu_check["synthetic_images"](8, 32, n_classes=2)
    assert X.dtype == np.uint8 and X.shape == (8, 3, 32, 32)
    bare_epochs = gpu_check["bare_epochs"]
    build = bare_epochs.__globals__["_resnet18"]
    for n_nets in (1, 2):
        built = []

        def recording(n_classes, built=built):
            net = build(n_classes)
            start = {k: v.detach().clone() for k, v in net.state_dict().items()}
            built.append((net, start))
            return net

        monkeypatch.setitem(bare_epochs.__globals__, "_resnet18", recording)
        times = bare_epochs(
            X,
            y,
            n_nets=n_nets,
            epochs=2,
            batch_size=4,
            device="cpu",
            bf16=False,
            channels_last=True,
        )
        assert len(times) == 2 and all(t > 0 for t in times)
        assert len(built) == n_nets  # one network, or Co-teaching's two
        for net, start in built:  # every network was trained: its weights moved
            weights = [k for k, v in start.items() if v.is_floating_point()]
            moved = [
                k
                for k in weights
                if not torch.equal(net.state_dict()[k].to(start[k].dtype), start[k])
            ]
            assert len(moved) > len(weights) // 2, f"{len(moved)}/{len(weights)}"
        if n_nets == 2:  # two distinct networks, not one trained twice
            (a, _), (b, _) = built
            assert a is not b
            assert not all(
                torch.equal(a.state_dict()[k], b.state_dict()[k])
                for k in a.state_dict()
                if a.state_dict()[k].is_floating_point()
            )


def test_without_cuda_it_records_the_skip(tmp_path, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the skip path is not taken")
    out = tmp_path / "gpu.json"
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--out", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exit_info.value.code == 0
    record = json.loads(out.read_text())
    assert record["skipped"].startswith("no CUDA device")
    assert record["environment"]["device"] == "cpu"


@pytest.mark.gpu
def test_filter_throughput_is_measured_on_cuda(gpu_check):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    res = gpu_check["measure"](256, 64, 64, 1, "cuda")
    assert set(res["rates"]) == {"filter", "bare_two_networks", "one_network"}
    assert 0 < res["filter_vs_one_network"] < 1.5
