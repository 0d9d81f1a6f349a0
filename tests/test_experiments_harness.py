"""The benchmark harness: ignored default output, resume, one budget rounding."""

import json
import runpy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from noisyactive.active import ActiveLabelCleaner, SimulatedOracle
from noisyactive.experiments._run import round_budget

ROOT = Path(__file__).resolve().parents[1]
RUNNER = runpy.run_path(str(ROOT / "benchmarks" / "run_benchmark.py"))


def test_default_output_folder_is_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    probe = RUNNER["DEFAULT_OUT"] / "digits_smoke.jsonl"
    rel = probe.relative_to(ROOT)
    res = subprocess.run(
        ["git", "check-ignore", "-q", str(rel)], cwd=ROOT, capture_output=True
    )
    assert res.returncode == 0, f"{rel} would be an untracked file"
    assert not rel.parts[:2] == ("benchmarks", "results")


@pytest.mark.parametrize("budget, n", [(15, 441), (0.028, 17731), (0.022, 7011)])
def test_runner_rounds_the_budget_as_the_cleaner(budget, n):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 2)), np.arange(n) % 2
    cleaner = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        oracle=SimulatedOracle(y),
        query_strategy="random",
        start="noisy",
        batch_size=budget,
        n_rounds=1,
        random_state=0,
    ).fit(X, y)
    assert round_budget(budget, n) == cleaner.budget_used_


def test_runner_resumes_finished_seeds(tmp_path, capsys):
    args = [
        "--config", "digits", "--smoke", "--out", str(tmp_path),
        "--methods", "al_entropy", "--set", "n_rounds=1",
    ]  # fmt: skip
    assert RUNNER["main"](args) == 0
    jsonl = tmp_path / "digits_smoke.jsonl"
    assert len(jsonl.read_text().splitlines()) == 1
    capsys.readouterr()
    assert RUNNER["main"](args) == 0
    assert "seed 0 already in" in capsys.readouterr().out
    assert len(jsonl.read_text().splitlines()) == 1  # not run again
    run = json.loads(jsonl.read_text())
    assert run["methods"]["al_entropy"]["curve"][-1]["labels_used"] == 15


def test_unfinished_seed_resumes_from_its_partial_file(tmp_path):
    from noisyactive.experiments import run_experiment

    config = dict(
        dataset="digits", epochs=2, classifier_epochs=2, num_gradual=1,
        vog_window=2, budget_per_round=15, n_rounds=1, module="small_cnn",
    )  # fmt: skip
    partial = tmp_path / "seed0.json"
    first = run_experiment(
        config, seed=0, methods=["al_entropy"], phase1=False, partial=partial,
        log=lambda m: None,
    )  # fmt: skip
    saved = json.loads(partial.read_text())
    saved["method/al_entropy"]["curve"][0]["macro_f1"] = -1.0  # a marker
    partial.write_text(json.dumps(saved))
    again = run_experiment(
        config, seed=0, methods=["al_entropy"], phase1=False, partial=partial,
        log=lambda m: None,
    )  # fmt: skip
    assert again["methods"]["al_entropy"]["curve"][0]["macro_f1"] == -1.0
    assert again["reference"] == first["reference"]


def test_rescored_variants_are_the_coteaching_fit_reselected(tmp_path):
    """The issue-27 candidates reuse plain Co-teaching's fit: their masks are
    ``rescore`` of that fit, and a resumed seed missing one refits Co-teaching
    (its object is needed) but keeps the finished variant's saved stats."""
    from noisyactive.config._models import make_filter
    from noisyactive.config._schema import as_config
    from noisyactive.experiments import run_experiment
    from noisyactive.experiments._data import load_experiment_data
    from noisyactive.experiments._methods import RESCORED_VARIANTS

    config = dict(
        dataset="digits", epochs=2, classifier_epochs=2, num_gradual=1,
        vog_window=2, budget_per_round=15, n_rounds=1, module="small_cnn",
        forget_rate="true",
    )  # fmt: skip
    partial = tmp_path / "seed0.json"
    methods = ["ct_knn_entropy", "ct_gmm_entropy"]
    first = run_experiment(
        config, seed=0, methods=methods, phase1=False, partial=partial,
        log=lambda m: None,
    )  # fmt: skip
    assert set(first["selection"]) == {"ct", "ct_knn", "ct_gmm"}
    data = load_experiment_data(config, 0)
    filt = make_filter(config, "ct", 0, as_config(config).noise_rate).fit(
        data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val
    )
    for variant in ("ct_knn", "ct_gmm"):
        keep, _ = filt.rescore(data.X_train, RESCORED_VARIANTS[variant])
        assert first["selection"][variant]["n_kept"] == keep.sum()
    assert first["selection"]["ct_knn"]["final_selection"] == "knn"

    saved = json.loads(partial.read_text())
    del saved["phase1/ct_gmm"], saved["method/ct_gmm_entropy"]
    saved["phase1/ct_knn"]["precision"] = -1.0  # a marker
    partial.write_text(json.dumps(saved))
    again = run_experiment(
        config, seed=0, methods=methods, phase1=False, partial=partial,
        log=lambda m: None,
    )  # fmt: skip
    assert again["selection"]["ct_knn"]["precision"] == -1.0
    assert (
        again["selection"]["ct_gmm"]["n_kept"]
        == (first["selection"]["ct_gmm"]["n_kept"])
    )


def test_audited_method_spends_the_first_round_on_the_audit():
    """``ct_audit_entropy``: phase 1 refit at the audited rate, the audit
    counted in the same budget as every other method's rounds."""
    from noisyactive.experiments import run_experiment

    config = dict(
        dataset="digits", epochs=2, classifier_epochs=2, num_gradual=1,
        vog_window=2, budget_per_round=15, n_rounds=3, module="small_cnn",
        forget_rate="true",
    )  # fmt: skip
    out = run_experiment(
        config, seed=0, methods=["ct_entropy", "ct_audit_entropy"], phase1=False,
        log=lambda m: None,
    )  # fmt: skip
    plain = out["methods"]["ct_entropy"]["curve"]
    audited = out["methods"]["ct_audit_entropy"]["curve"]
    assert [r["labels_used"] for r in plain] == [0, 15, 30, 45]
    assert [r["labels_used"] for r in audited] == [15, 30, 45]
    audit = out["methods"]["ct_audit_entropy"]["audit"]
    assert audit["audit_size"] == 15
    assert audit["refit_forget_rate"] == audit["noise_rate"]
    low, high = audit["noise_rate_interval"]
    assert low < audit["noise_rate"] < high
    assert audit["refit"]["n_kept"] > 0


def test_audited_gmm_method_selects_with_the_loss_mixture_in_both_fits():
    """``ct_audit_gmm_entropy``: the first fit's clean set is the rescored
    per-class loss mixture of plain Co-teaching's fit, the refit's is the
    mixture on the refit (prior: the audited clean counts), not the
    Co-teaching small-loss mask."""
    from noisyactive.config._models import make_filter
    from noisyactive.experiments import load_experiment_data
    from noisyactive.experiments._methods import AuditedCoTeaching

    config = dict(
        dataset="digits", epochs=2, num_gradual=1, vog_window=2,
        module="small_cnn", forget_rate=0.3,
    )  # fmt: skip
    data = load_experiment_data(config, seed=0)
    first = make_filter(config, "ct", 0, 0.3).fit(data.X_train, data.y_train)
    est = AuditedCoTeaching.around(first, config, 0, "gmm_loss")
    est.fit(data.X_train, data.y_train)
    expected, _ = first.rescore(data.X_train, "gmm_loss")
    np.testing.assert_array_equal(est.clean_mask_, expected)
    assert not np.array_equal(est.clean_mask_, first.clean_mask_)

    est.set_params(forget_rate=0.25)
    est.fit(data.X_train, data.y_train)
    assert est.filter_.final_selection == "gmm_loss"
    np.testing.assert_array_equal(
        est.clean_mask_, est.filter_.issue_table_["kept"].to_numpy()
    )
    assert est.filter_.forget_rate_ == 0.25


def test_folder_with_a_separate_test_set_splits_train_and_validation(tmp_path):
    from PIL import Image

    from noisyactive.experiments import load_experiment_data

    rng = np.random.default_rng(0)
    for part, n in (("train", 40), ("test", 6)):
        for label in ("a", "b"):
            folder = tmp_path / part / label
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    config = dict(
        dataset="folder", path=str(tmp_path / "train"),
        test_path=str(tmp_path / "test"), split=[0.8, 0.2], image_size=8,
        noise_rate=0.0, cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    d = load_experiment_data(config, seed=0)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (64, 16, 12)
    assert sorted(d.y_test) == ["a"] * 6 + ["b"] * 6
    with pytest.raises(ValueError, match="train, validation"):
        load_experiment_data(dict(config, split=[0.7, 0.1, 0.2]), seed=0)


def test_share_methods_spend_part_of_each_round_on_kept_samples(monkeypatch):
    """``ct_share_entropy`` / ``ct_gmm_share_entropy`` build their cleaner with
    ``AUDIT_SHARE``; every other method with none."""
    from noisyactive.experiments import _run, run_experiment
    from noisyactive.experiments._methods import AUDIT_SHARE

    shares = {}
    make = _run.make_cleaner

    def recording(curve, **params):
        cleaner = make(curve, **params)
        shares.setdefault(params.get("audit_share"), []).append(cleaner)
        return cleaner

    monkeypatch.setattr(_run, "make_cleaner", recording)
    config = dict(
        dataset="digits", epochs=2, classifier_epochs=2, num_gradual=1,
        vog_window=2, budget_per_round=15, n_rounds=2, module="small_cnn",
        forget_rate=0.4,
    )  # fmt: skip
    out = run_experiment(
        config, seed=0, methods=["ct_gmm_entropy", "ct_gmm_share_entropy"],
        phase1=False, log=lambda m: None,
    )  # fmt: skip
    assert sorted(shares) == [0.0, AUDIT_SHARE["ct_gmm_share_entropy"]]
    (shared,) = shares[0.3]
    assert shared.audit_share == 0.3
    curve = out["methods"]["ct_gmm_share_entropy"]["curve"]
    assert [r["labels_used"] for r in curve] == [0, 15, 30]
