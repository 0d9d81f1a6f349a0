"""``noisyactive run`` on an existing checkpoint: changed settings, --restart,
and Ctrl-C during phase 1 (issue 26, items 1 and 2)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from noisyactive.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _campaign(folder, n=60, **extra):
    rng = np.random.default_rng(0)
    (folder / "img").mkdir(exist_ok=True)
    rows = []
    for i in range(n):
        label = "mel" if i % 2 else "nv"
        pixels = rng.integers(0, 60, size=(8, 8, 3))
        pixels[:, : 4 if label == "mel" else 8] += 150
        Image.fromarray(pixels.astype(np.uint8)).save(folder / f"img/{i}.png")
        rows.append([f"img/{i}.png", label])
    with open(folder / "labels.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "label"], *rows])
    config = {
        "dataset": "csv",
        "path": "labels.csv",
        "image_size": 8,
        "epochs": 2,
        "classifier_epochs": 1,
        "num_gradual": 1,
        "vog_window": 2,
        "forget_rate": 0.2,
        "budget_per_round": 5,
        "n_rounds": 1,
        "oracle": "ask",
        "checkpoint": "camp",
        **extra,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return config


def _write(folder, config):
    (folder / "config.json").write_text(json.dumps(config))


def test_changed_setting_stops_before_training_and_restart_keeps_the_old(
    tmp_path, monkeypatch
):
    from noisyactive.config import _models

    config = _campaign(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    state = tmp_path / "camp" / "state.npz"
    assert state.is_file()
    before = state.stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("a network was built: the check came too late")

    with monkeypatch.context() as m:
        m.setattr(_models, "make_filter", no_training)
        m.setattr(_models, "make_classifier", no_training)
        _write(tmp_path, dict(config, image_size=6, module="mlp"))
        with pytest.raises(SystemExit) as exc:
            main(["run", "--config", "config.json", "--out", "out"])
    message = str(exc.value)
    assert "image_size: 8 → 6" in message and "module: 'small_cnn' → 'mlp'" in message
    assert "--restart" in message and "checkpoint" in message
    assert state.stat().st_mtime_ns == before  # nothing was written

    # a safe change is accepted and recorded
    _write(tmp_path, dict(config, n_rounds=2, budget_per_round=4))
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    record = json.loads((tmp_path / "camp" / "run-config.json").read_text())
    assert record["changes"][-1]["changed"] == [
        "budget_per_round: 5 → 4",
        "n_rounds: 1 → 2",
    ]

    # --restart keeps the old folder under a new name and starts afresh
    _write(tmp_path, dict(config, image_size=6))
    assert main(["run", "--config", "config.json", "--out", "out", "--restart"]) == 0
    old = sorted(tmp_path.glob("camp.old-*"))
    assert len(old) == 1 and (old[0] / "state.npz").is_file()
    record = json.loads((tmp_path / "camp" / "run-config.json").read_text())
    assert record["config"]["image_size"] == 6 and record["changes"] == []


def _run(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "noisyactive", "run", "--config", "config.json"]
        + ["--out", "out", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigint_during_phase1_exits_nonzero_and_saves_nothing_as_finished(tmp_path):
    config = _campaign(tmp_path, epochs=2000, num_gradual=1)
    proc = _run(tmp_path)
    lines = []
    deadline = time.monotonic() + 120
    for line in proc.stdout:  # wait until phase 1 has started
        lines.append(line)
        if "phase 1" in line or time.monotonic() > deadline:
            break
    assert any("phase 1" in line for line in lines), lines
    time.sleep(1.5)  # inside Co-teaching's epochs (2000 of them)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted (SIGINT)" in err and "again to resume" in err
    assert "phase 1 done" not in out
    assert not (tmp_path / "camp" / "state.npz").exists()  # not saved as finished

    _write(tmp_path, dict(config, epochs=2))  # nothing saved: not a change
    proc = _run(tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out, err)
    assert "resuming" not in out  # phase 1 trained from the start
    assert "phase 1 done" in out
    assert (tmp_path / "camp" / "state.npz").is_file()


def _cli(tmp_path, *argv):
    """``noisyactive ARGV`` in a fresh interpreter; its output, and whether
    it imported torch."""
    code = (
        "import sys; from noisyactive.cli import main; rc = main(sys.argv[1:]); "
        "print('TORCH', 'torch' in sys.modules); sys.exit(rc)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc.stdout, "TORCH True" in proc.stdout


def _answer(questions, answers, k):
    with open(questions, newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(answers, "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        for row in rows[:k]:
            writer.writerow(dict(row, label=row["current_label"]))
    return len(rows)


def test_a_cache_dir_never_blocks_the_campaign_and_is_not_taken_from_it(
    tmp_path, monkeypatch
):
    # A config with a cache_dir (as the benchmark configs have) made query,
    # teach and export refuse the campaign: the checkpoint named a folder.
    from noisyactive.active import load_cleaner

    config = _campaign(tmp_path, cache_dir=".cache/na")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    assert any((tmp_path / ".cache" / "na").iterdir())  # the run used it
    out, _ = _cli(tmp_path, "query", "camp", "--csv", "q.csv")
    assert "questions written" in out
    _answer(tmp_path / "q.csv", tmp_path / "a.csv", 2)
    _cli(tmp_path, "teach", "camp", "a.csv")
    _cli(tmp_path, "export", "camp", "export.csv")
    with open(tmp_path / "export.csv", newline="") as fh:
        assert sum(r["source"] == "confirmed" for r in csv.DictReader(fh)) == 2
    # the folder a header names is not where a loaded campaign writes
    loaded = load_cleaner(tmp_path / "camp")
    assert loaded.classifier.cache_dir == "auto"
    assert loaded.estimator.cache_dir == "auto"
    # a changed cache_dir is a safe change for `run`
    _write(tmp_path, dict(config, cache_dir=".cache/other"))
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    record = json.loads((tmp_path / "camp" / "run-config.json").read_text())
    assert record["changes"][-1]["changed"] == [
        "cache_dir: '.cache/na' → '.cache/other'"
    ]


def test_query_teach_export_use_the_saved_predictions_without_torch(
    tmp_path, monkeypatch
):
    from noisyactive.active import load_cleaner

    _campaign(tmp_path, budget_per_round=6)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "config.json", "--out", "out"]) == 0
    out, torch_used = _cli(tmp_path, "query", "camp", "--csv", "q.csv")
    assert not torch_used, out
    # the same questions and suggestions as the loaded model gives
    model = load_cleaner(tmp_path / "camp")
    proba = model.predict_proba(model.input_paths_)
    with open(tmp_path / "q.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    asked = [int(r["index"]) for r in rows]
    assert asked == [int(i) for i in model.pending_indices_]
    for row in rows:
        i = int(row["index"])
        assert row["suggested_label"] == model.classes_[proba[i].argmax()]
        assert float(row["confidence"]) == pytest.approx(proba[i].max(), abs=1e-4)
    _answer(tmp_path / "q.csv", tmp_path / "a.csv", 2)  # the round stays open
    out, torch_used = _cli(tmp_path, "teach", "camp", "a.csv")
    assert not torch_used and "4 questions open" in out, out
    _, torch_used = _cli(tmp_path, "export", "camp", "export.csv")
    assert not torch_used
    with open(tmp_path / "export.csv", newline="") as fh:
        export = list(csv.DictReader(fh))
    for row in export:
        i = int(row["index"])
        assert row["suggested_label"] == model.classes_[proba[i].argmax()]
    # the answers that close the round refit the classifier (torch, then)
    _answer(tmp_path / "q.csv", tmp_path / "a.csv", 6)
    out, torch_used = _cli(tmp_path, "teach", "camp", "a.csv", "--amend")
    assert torch_used and "0 questions open" in out, out
    after = load_cleaner(tmp_path / "camp")
    assert after.n_rounds_ == 1
    state = after.campaign_.state
    assert state.proba_version == state.classifier_version == 2
    np.testing.assert_allclose(
        state.proba, after.predict_proba(after.input_paths_), atol=1e-6
    )
