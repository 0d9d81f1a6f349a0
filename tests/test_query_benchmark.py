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
    rows = [bench._measure(case, bench.SMOKE, 1, 0) for case in bench.CASES]
    assert [row["case"] for row in rows] == bench.CASES
    for row in rows:
        assert row["repeats"] == 1
        assert row["tracemalloc_peak_mib"] > 0


def test_measure_times_the_call_and_its_memory(bench, monkeypatch):
    import time

    def sleeping_call(case, sizes, seed):
        # 60 ms of wall time, almost no CPU, and a 16 MiB temporary.
        return lambda: (time.sleep(0.06), np.ones(2**21))

    monkeypatch.setattr(bench, "_make_call", sleeping_call)
    row = bench._measure("anything", bench.SMOKE, 3, 0)
    assert 0.06 <= row["wall_s_min"] <= row["wall_s_median"] < 1.0
    assert row["cpu_s_median"] < 0.03
    assert 16 <= row["tracemalloc_peak_mib"] < 20


def test_naive_reference_agrees_with_k_center(bench):
    from noisyactive.query import k_center_greedy

    rng = np.random.default_rng(0)
    points, centers = rng.normal(size=(300, 8)), rng.normal(size=(30, 8))
    np.testing.assert_array_equal(
        bench._naive_k_center(points, centers, 10),
        k_center_greedy(points, centers, 10)[0],
    )


@pytest.mark.parametrize(("m", "d"), [(300, 8), (1500, 256)])
def test_previous_implementation_gives_the_same_result(bench, m, d):
    """The lazy update (used from 128 features on) changes the cost, not the
    result: same picks and distances as the implementation before it."""
    from noisyactive.query import k_center_greedy

    rng = np.random.default_rng(1)
    points, centers = rng.normal(size=(m, d)), rng.normal(size=(40, d))
    old_idx, old_dist = bench._previous_k_center(points, centers, 60)
    new_idx, new_dist = k_center_greedy(points, centers, 60)
    np.testing.assert_array_equal(new_idx, old_idx)
    np.testing.assert_allclose(new_dist, old_dist, rtol=1e-12)


def test_main_prints_table_and_writes_json(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    cases = ["entropy_scores", "coreset_k_center_greedy_float32"]
    bench.main(["--smoke", "--in-process", "--cases", *cases, "--out", str(out)])
    assert "tracemalloc" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["smoke"] is True
    assert [r["case"] for r in report["results"]] == cases
    assert report["sizes"]["n_candidates"] == bench.SMOKE["n_candidates"]
