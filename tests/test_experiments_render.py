"""benchmarks/render_results.py: RESULTS.md sections from raw runs only."""

import json
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(seed, config, f1s, ref=0.9):
    curve = [{"macro_f1": f, "labels_used": 15 * i} for i, f in enumerate(f1s)]
    sel = {
        "precision": 0.9,
        "n_kept": 100,
        "recall_clean": 0.8,
        "recall_per_class": [0.9, 0.4 if seed < 9 else 0.9],
        "wall_s": 1.0,
    }
    return {
        "seed": seed,
        "config": config,
        "command": "python benchmarks/run_benchmark.py --config toy",
        "environment": {"device": "cpu"},
        "n_train": 100,
        "classes": ["a", "b"],
        "train_class_counts": [90, 10],
        "realised_noise_rate": 0.4,
        "budget_per_round": 15,
        "duplicates_dropped": {},
        "reference": {"macro_f1": ref},
        "methods": {
            "ct_vog_entropy": {"curve": curve, "wall_s": 2.0},
            "ce_al_entropy": {
                "curve": [dict(r, macro_f1=r["macro_f1"] - 0.1) for r in curve],
                "wall_s": 2.0,
            },
        },
        "selection": {"ct": sel, "ct_vog": dict(sel, recall_per_class=[0.8, 0.7])},
        "wall_s": 3.0,
    }


def test_sections_come_from_the_latest_config_with_claims(tmp_path):
    render = runpy.run_path(str(ROOT / "benchmarks" / "render_results.py"))
    old = {"title": "toy", "mix_ratio": 0.5, "epochs": 1}
    new = dict(old, epochs=2)
    runs = [_run(0, old, [0.1, 0.1])] + [
        _run(s, new, [0.6 + s / 100, 0.7]) for s in range(2)
    ]
    (tmp_path / "toy.jsonl").write_text("\n".join(json.dumps(r) for r in runs))
    out = tmp_path / "R.md"
    render["main"](["--results", str(tmp_path), "--out", str(out)])
    text = out.read_text()
    assert "Seeds: 0, 1;" in text and "n = 2 seeds" in text
    assert "0.100" not in text  # the older configuration's run is left out
    assert "beats every baseline at every round* (means): supported" in text
    assert "VOG keeps more of the rarest class's clean samples" in text
    assert "0.70 with VOG vs 0.40 without: supported" in text
    assert (tmp_path / "toy" / "curves.png").stat().st_size > 0


def test_readme_block_is_rewritten_between_its_markers(tmp_path):
    render = runpy.run_path(str(ROOT / "benchmarks" / "render_results.py"))
    cfg = {"title": "digits toy", "mix_ratio": 0.0, "epochs": 1}
    runs = [_run(s, cfg, [0.6 + s / 100, 0.7 + s / 100]) for s in range(3)]
    (tmp_path / "digits.jsonl").write_text("\n".join(json.dumps(r) for r in runs))
    readme = tmp_path / "README.md"
    start, end = render["README_START"], render["README_END"]
    readme.write_text(f"intro\n{start}\nstale 0.123\n{end}\noutro\n")
    out = tmp_path / "R.md"
    args = ["--results", str(tmp_path), "--out", str(out), "--readme", str(readme)]
    render["main"](args)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{end}\noutro\n")
    assert "stale 0.123" not in text
    assert "seeds 0, 1, 2 (n = 3)" in text
    assert "| 0.610 ± 0.010 | 0.710 ± 0.010 | not reached |" in text
    # m = 0: the "VOG" variant is plain Co-teaching; no Table-1 verdict on it.
    results = out.read_text()
    assert "not tested by this run (m = 0" in results
    assert "Co-teaching + VOG" not in results


def test_candidates_are_compared_with_the_baselines_of_their_run(tmp_path):
    render = runpy.run_path(str(ROOT / "benchmarks" / "render_results.py"))
    render["CANDIDATE_RUNS"]["toy_candidates"] = "toy"  # the dict main reads
    cfg = {"title": "toy", "mix_ratio": 0.0, "epochs": 1}
    base = [_run(s, cfg, [0.6 + s / 100, 0.7]) for s in range(3)]  # CE + AL 0.5, 0.6
    cand = []
    for s in range(3):
        run = _run(s, dict(cfg, methods=["ct_knn_entropy"]), [0.0], ref=0.88)
        curve = [
            {"macro_f1": 0.55 + s / 100, "labels_used": 0},
            {"macro_f1": 0.62 + s / 100, "labels_used": 15},
        ]
        run["methods"] = {"ct_knn_entropy": {"curve": curve, "wall_s": 1.0}}
        cand.append(run)
    for name, runs in (("toy", base), ("toy_candidates", cand)):
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in runs))
    out = tmp_path / "R.md"
    render["main"](["--results", str(tmp_path), "--out", str(out)])
    text = out.read_text()
    assert "beside the baselines of `toy`" in text
    assert "reference moved by 0.020" in text
    assert "| 15 | 0.630 ± 0.010 | 0.600 ± 0.000 |" in text
    # 0.56 - 0.01 > 0.5 at 0 labels; 0.63 - 0.01 > 0.6 at 15: above at both
    assert "mean − std above every baseline's mean at every round" in text
