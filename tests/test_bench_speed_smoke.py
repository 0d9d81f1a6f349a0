"""Keeps benchmarks/bench_speed.py alive: its --smoke run and its reference VOG."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from noisyactive.filtering._vog import vog_gradients

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "speed.json"
    bench.main(["--smoke", "--quiet", "--out", str(out)])
    return json.loads(out.read_text())


def test_reference_per_sample_gradients_equal_closed_form(bench):
    # The reference design's torch.func pass must compute the same VOG vectors
    # as the inline closed form, or the factor between them compares apples
    # with pears.
    torch.manual_seed(0)
    layer = nn.Linear(5, 4)
    h, y = torch.randn(7, 5), torch.tensor([0, 1, 2, 3, 0, 1, 2])
    ref = bench.reference_vog_gradients(layer, h, y)
    assert ref.shape == (7, 6)
    torch.testing.assert_close(ref, vog_gradients(layer(h), h, y))


def test_report_has_versions_device_and_wall_time(report):
    import os

    import numpy
    import sklearn
    import skorch

    env = report["environment"]
    assert env["torch"] == torch.__version__
    assert env["skorch"] == skorch.__version__
    assert env["sklearn"] == sklearn.__version__
    assert env["numpy"] == numpy.__version__
    assert env["cpu_count"] == os.cpu_count()
    assert isinstance(env["device_name"], str) and env["device_name"].strip()
    assert env["torch_num_threads"] == 1
    # The smoke run really ran: it took measurable time, and less than the
    # whole test session could.
    assert report["smoke"] is True and 0.5 < report["wall_time_s"] < 600
    assert len(report["loadavg_start"]) == 3
    assert all(isinstance(v, float) and v >= 0 for v in report["loadavg_start"])


def test_epoch_timings_positive_and_ratios_present(report, bench):
    for module in ("small_cnn", "resnet18"):
        res = report["epoch_time"][module]
        for clock in ("wall", "cpu"):
            med = res["by_clock"][clock]["epoch_s_median"]
            assert set(med) == set(bench.VARIANTS)
            assert all(v > 0 for v in med.values())
        for variant, times in res["epoch_s_raw"].items():
            warm = res["warmup_epochs"][variant]
            assert all(len(t["wall"]) == warm + res["setup"]["timed"] for t in times)
        ratios = res["ratios"]
        for key in ("ct_vog_over_ct", "ct_over_net_plain", "ref_vog_over_inline_vog"):
            assert math.isfinite(ratios[key]) and ratios[key] > 0
        assert 0 < report["throughput"][module]["ct_over_bare"]
        # Selection and VOG are active in the timed epochs, not only warm-up.
        used = res["vog_used_in_timed_epochs"]
        assert all(all(r) for r in used["ct_vog"] + used["ct_vog_ref"])
        assert not any(any(r) for r in used["ct"])
        n = res["setup"]["n"]
        assert res["n_selected_per_epoch"]["ct"][-1] < n
        assert res["reference_vs_closed_form_max_abs_diff"] < 1e-4


def test_vog_buffer_bytes_per_sample(report):
    b = report["epoch_time"]["resnet18"]["vog_buffer"]["bytes_per_sample"]
    # Two networks x window 5 x (512 + 1) values.
    assert b["float32"] == 2 * 5 * 513 * 4
    assert b["float16"] == b["float32"] / 2


def test_clean_mask_and_query_sections(report):
    summary = report["clean_mask"]["summary"]
    assert set(summary) == {
        "filter_ct",
        "filter_ct_vog",
        "cleanlab",
        "all_noisy",
        "true_clean",
    }
    for name in ("filter_ct", "filter_ct_vog", "cleanlab"):
        assert summary[name]["mask_wall_s_median"] > 0
        assert 0 <= summary[name]["precision_mean"] <= 1
        assert 0 <= summary[name]["test_macro_f1_mean"] <= 1
    assert summary["true_clean"]["precision_mean"] == 1.0
    assert report["clean_mask"]["ratios"]["filter_ct_time_over_cleanlab"] > 0
    assert report["query"]["results"][0]["wall_s_median"] > 0
    names = [t["name"] for t in report["targets"]]
    assert "small_cnn: CT+VOG / CT epoch" in names


HAM = Path("/work/shared/data/ham10000")


def _load(name):
    path = BENCH.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not HAM.exists(), reason="needs the HAM10000 copy")
def test_coteaching_benchmark_reports_every_ratio_per_repeat(capsys):
    bench = _load("bench_speed_coteaching")
    argv = ["--n", "16", "--batch-size", "8", "--epochs", "3", "--repeats", "2"]
    report = bench.main(argv)
    for name in ("ct / bare", "ct_vog / ct", "ct_fp32 / bare"):
        for clock in ("cpu", "wall"):
            row = report[name][clock]
            assert 0 < row["min"] <= row["median"] <= row["max"]
    assert all(len(report["raw"][v]) == 2 for v in bench.VARIANTS)
    out = capsys.readouterr().out
    assert "ct / bare" in out and "load average" in out
