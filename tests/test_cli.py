"""The command line and the benchmark runner stay alive (CI-sized runs)."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from noisyactive.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_writes_report(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--out", str(out), "--rounds", "1", "--epochs", "2"]) == 0
    for name in ("curves.png", "selection.png", "results.json", "tables.md"):
        assert (out / name).stat().st_size > 0
    data = json.loads((out / "results.json").read_text())
    run = data["runs"][0]
    assert set(run["methods"]) == {"ct_vog_entropy", "ce_al_entropy", "al_entropy"}
    assert run["config"]["noise_rate"] == 0.4
    assert run["methods"]["ct_vog_entropy"]["curve"][-1]["labels_used"] == 15
    assert {"ct", "ct_vog"} <= set(run["selection"])
    printed = capsys.readouterr().out
    assert "labels relabeled" in printed and "clean-label reference" in printed


def test_run_with_config_and_user_oracle(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    oracle_module = tmp_path / "my_expert.py"
    oracle_module.write_text("def answer(ids, X_subset):\n    return [0] * len(ids)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {
        "dataset": "npz",
        "path": str(tmp_path / "data.npz"),
        "module": "mlp",
        "epochs": 2,
        "classifier_epochs": 2,
        "num_gradual": 1,
        "vog_window": 2,
        "budget_per_round": 10,
        "n_rounds": 2,
        "oracle": "my_expert:answer",
    }
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out)]) == 0
    rows = (out / "labels.csv").read_text().splitlines()
    assert rows[0] == "row,noisy_label,label,kept_by_phase1,relabeled"
    assert len(rows) == 1 + 240  # no hidden split: every row is a candidate
    relabeled = [r.split(",") for r in rows[1:] if r.endswith(",1")]
    assert len(relabeled) == 20 and all(r[2] == "0" for r in relabeled)


def test_run_rejects_bad_oracle_spec(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"dataset": "csv", "path": "x.csv", "oracle": "nocolon"}))
    with pytest.raises(SystemExit, match="module:function"):
        main(["run", "--config", str(cfg)])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["run", "--config", str(tmp_path / "missing.json")])


def test_benchmark_runner_smoke(tmp_path, monkeypatch):
    script = ROOT / "benchmarks" / "run_benchmark.py"
    monkeypatch.setattr(
        sys,
        "argv",
        [str(script), "--config", "digits", "--smoke", "--out", str(tmp_path)],
    )
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    line = json.loads((tmp_path / "digits_smoke.jsonl").read_text().splitlines()[0])
    assert line["environment"]["torch"]
    assert "alc_coteaching" in line["methods"]
    assert (tmp_path / "digits_smoke" / "curves.png").exists()
