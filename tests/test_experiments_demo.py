"""The demo's defaults: three seeds in parallel worker processes (issue 18.2)."""

from noisyactive.cli import _main


def test_demo_runs_three_seeds_in_parallel_processes_by_default(monkeypatch):
    calls = {}

    def fake_run(config, out, seeds, title, jobs=1):
        calls.update(config=config, seeds=list(seeds), jobs=jobs)

    monkeypatch.setattr(_main, "_run_experiments", fake_run)
    assert _main.main(["demo", "--out", "unused"]) == 0
    assert calls["seeds"] == [0, 1, 2] and calls["jobs"] == 3
    cfg = calls["config"]
    # the fair CE + AL (fine-tuned on all data), AL only and the method
    assert cfg["methods"] == ["ct_vog_entropy", "ce_al_entropy", "al_entropy"]
    assert cfg["refit"] == "finetune"


def test_seeds_run_in_worker_processes_return_one_result_each(monkeypatch):
    seen = []

    def fake_one_seed(config, seed, threads=1):
        seen.append((seed, threads))
        return {"seed": seed}

    monkeypatch.setattr(_main, "_one_seed", fake_one_seed)
    assert _main._run_seeds({}, [0, 1], jobs=1) == [{"seed": 0}, {"seed": 1}]
    assert [s for s, _ in seen] == [0, 1]
