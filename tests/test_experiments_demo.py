"""The demo's defaults: three seeds in parallel worker processes (issue 18.2)."""

import os

from noisyactive.cli import _main
from noisyactive.config._schema import parse_config


def test_demo_runs_three_seeds_in_parallel_processes_by_default(monkeypatch):
    calls = {}

    def fake_run(config, out, seeds, title, jobs=1):
        calls.update(config=config, seeds=list(seeds), jobs=jobs)

    monkeypatch.setattr(_main, "_run_experiments", fake_run)
    assert _main.main(["demo", "--out", "unused"]) == 0
    assert calls["seeds"] == [0, 1, 2] and calls["jobs"] == 3
    cfg = calls["config"]
    # the fair CE + AL (fine-tuned on all data), AL only and the method
    assert cfg.methods == ("ct_vog_entropy", "ce_al_entropy", "al_entropy")
    assert cfg.refit == "finetune"


def test_seeds_run_in_worker_processes_return_one_result_each():
    """Two seeds in two spawned worker processes, for real (tiny run)."""
    config = parse_config(
        dict(
            dataset="digits",
            epochs=1,
            classifier_epochs=1,
            num_gradual=1,
            vog_window=2,
            forget_rate="true",
            mix_ratio=0.0,
            budget_per_round=5,
            n_rounds=1,
            refit_epochs=1,
            methods=["al_random"],
        )
    )
    results = _main._run_seeds(config, [0, 1], jobs=2)
    assert [r["seed"] for r in results] == [0, 1]
    pids = {r["environment"]["pid"] for r in results}
    assert len(pids) == 2 and os.getpid() not in pids  # two workers, not this one
    for r in results:
        assert r["methods"]["al_random"]["curve"][-1]["labels_used"] == 5
