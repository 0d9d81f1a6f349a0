"""``noisyactive run`` with an oracle on the user's own ``path,label`` CSV."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from noisyactive.cli import main
from noisyactive.config._schema import check_config

ORACLE = """
import json, os

def answer(rows, paths):
    with open("calls.jsonl", "a") as fh:
        fh.write(json.dumps({"rows": [int(r) for r in rows],
                             "paths": [str(p) for p in paths]}) + "\\n")
    # the true class is in the file name: img_<row>_<class>.png
    return [os.path.basename(p).split("_")[2][:-4] for p in paths]
"""


def _write_images(folder, n, rng, *, split=None):
    rows = []
    (folder / "img").mkdir(exist_ok=True)
    for i in range(n):
        true = "mel" if i % 2 else "nv"
        pixels = rng.integers(0, 60, size=(8, 8, 3))
        pixels[:, : 4 if true == "mel" else 8] += 150  # two easy classes
        name = f"img/img_{i}_{true}.png"
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / name)
        noisy = true if rng.random() > 0.3 else ("nv" if true == "mel" else "mel")
        rows.append([name, noisy] + ([split(i)] if split else []))
    return rows


def _config(tmp_path, **extra):
    config = {
        "dataset": "csv",
        "path": "labels_in.csv",
        "image_size": 8,
        "module": "small_cnn",
        "epochs": 2,
        "classifier_epochs": 1,
        "num_gradual": 1,
        "vog_window": 2,
        "budget_per_round": 15,
        "n_rounds": 2,
        "oracle": "my_dermatologist:answer",
        **extra,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "my_dermatologist.py").write_text(ORACLE)


def test_run_with_oracle_offers_every_row_and_passes_paths(tmp_path, monkeypatch):
    rows = _write_images(tmp_path, 400, np.random.default_rng(0))
    with open(tmp_path / "labels_in.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "label"], *rows])
    _config(tmp_path)
    monkeypatch.chdir(tmp_path)  # the oracle module is found from here, no PYTHONPATH
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0

    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 2 and all(len(c["rows"]) == 15 for c in calls)
    for call in calls:  # row numbers of the user's file, and that row's path
        for row, path in zip(call["rows"], call["paths"]):
            assert path == str(tmp_path / rows[row][0])
    with open(tmp_path / "out" / "labels.csv", newline="") as fh:
        out = list(csv.DictReader(fh))
    assert len(out) == 400  # every row of the file, none hidden in a split
    assert [r["path"] for r in out] == [str(tmp_path / r[0]) for r in rows]
    assert [int(r["row"]) for r in out] == list(range(400))
    asked = {row for c in calls for row in c["rows"]}
    for r in out:
        if int(r["row"]) in asked:  # the expert's answer is the final label
            assert r["label"] == r["path"].rsplit("_", 1)[1][:-4]


def test_run_uses_split_column_for_validation_and_test(tmp_path, monkeypatch, capsys):
    rows = _write_images(
        tmp_path,
        120,
        np.random.default_rng(1),
        split=lambda i: "test" if i % 10 == 0 else ("val" if i % 10 == 1 else ""),
    )
    with open(tmp_path / "labels_in.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "label", "split"], *rows])
    _config(tmp_path, n_rounds=1, budget_per_round=5)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    with open(tmp_path / "out" / "labels.csv", newline="") as fh:
        out = list(csv.DictReader(fh))
    assert len(out) == 96
    assert all(int(r["row"]) % 10 not in (0, 1) for r in out)
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert all(row % 10 not in (0, 1) for row in calls[0]["rows"])
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "labels as given" in printed


def test_unknown_config_key_names_the_nearest():
    with pytest.raises(SystemExit, match="unknown key 'epohcs'; did you mean 'epochs'"):
        check_config({"epohcs": 3})


def test_benchmark_keys_refused_with_an_oracle():
    with pytest.raises(SystemExit, match="benchmark keys"):
        check_config(
            {"dataset": "csv", "path": "x.csv", "oracle": "m:f", "noise_rate": 0.4}
        )


def test_run_help_lists_the_keys(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for key in ("oracle", "budget_per_round", "split_column", "val_path", "epochs"):
        assert f"  {key} (default" in text


def test_run_with_oracle_ask_leaves_a_campaign_for_the_expert(tmp_path, monkeypatch):
    from noisyactive.active import load_cleaner

    rows = _write_images(tmp_path, 60, np.random.default_rng(2))
    with open(tmp_path / "labels_in.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "label"], *rows])
    _config(tmp_path, oracle="ask", n_rounds=1, budget_per_round=5, forget_rate=0.2)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    cleaner = load_cleaner(tmp_path / "out" / "checkpoint")
    assert cleaner.budget_used_ == 0 and cleaner.n_rounds_ == 0
    assert cleaner.classes_.tolist() == ["mel", "nv"]
    assert not (tmp_path / "calls.jsonl").exists()


def test_run_with_an_audit_asks_it_first_and_records_the_rate(tmp_path, monkeypatch):
    rows = _write_images(tmp_path, 200, np.random.default_rng(3))
    with open(tmp_path / "labels_in.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "label"], *rows])
    _config(tmp_path, n_rounds=1, budget_per_round=10, audit_size=20, audit_share=0.3)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [len(c["rows"]) for c in calls] == [20, 10]  # the audit, then a round
    history = json.loads((tmp_path / "out" / "history.json").read_text())["history"]
    audit = history[0]
    assert audit["kind"] == "audit" and audit["budget_used"] == 20
    low, high = audit["noise_rate_interval"]
    assert 0 <= low <= audit["noise_rate"] <= high <= 1
    assert "prior_noise_rate" in audit  # the classifier's, before the answers
    last = history[-1]
    assert last["kind"] == "round" and last["budget_used"] == 30
    assert last["n_audited"] == 3  # audit_share: 30 % of the round on kept rows


def test_every_config_key_is_documented():
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "expert.rst"
    text = page.read_text()
    # the table is rendered from the schema itself (docs/conf.py)
    assert "\n.. config-keys::" in text
    example = text.split(".. code-block:: json")[1].split("and run")[0]
    config = check_config(json.loads(example))  # the page's example config is valid
    assert config.dataset == "csv" and config.oracle == "ask"
