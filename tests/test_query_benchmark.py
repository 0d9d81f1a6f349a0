"""Keeps benchmarks/bench_query.py alive: every case runs at smoke size."""

import importlib.util
import json
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


def test_main_prints_table_and_writes_json(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    cases = ["entropy_scores", "coreset_k_center_greedy_float32"]
    bench.main(["--smoke", "--in-process", "--cases", *cases, "--out", str(out)])
    assert "tracemalloc" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["smoke"] is True
    assert [r["case"] for r in report["results"]] == cases
    assert report["sizes"]["n_candidates"] == bench.SMOKE["n_candidates"]
