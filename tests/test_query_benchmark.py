"""Keeps benchmarks/bench_query.py alive: every case runs at smoke size."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_query.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_query", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_case_runs_in_process(bench):
    for case in bench.CASES:
        row = bench._measure(case, bench.SMOKE, 1, 0)
        assert row["case"] == case
        assert row["wall_s_median"] >= 0 and row["cpu_s_median"] >= 0
        assert row["tracemalloc_peak_mib"] > 0


def test_naive_reference_agrees_with_k_center(bench):
    from noisyactive.query import k_center_greedy

    rng = np.random.default_rng(0)
    points, centers = rng.normal(size=(300, 8)), rng.normal(size=(30, 8))
    np.testing.assert_array_equal(
        bench._naive_k_center(points, centers, 10),
        k_center_greedy(points, centers, 10)[0],
    )


def test_command_line_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(BENCH), "--smoke", "--cases", "entropy_scores"]
    proc = subprocess.run(
        [*cmd, "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "tracemalloc" in proc.stdout
    report = json.loads(out.read_text())
    assert report["smoke"] is True
    assert [r["case"] for r in report["results"]] == ["entropy_scores"]
