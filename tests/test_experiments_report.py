"""Benchmark tables: sample std with n, no ± for one seed, honest names."""

import json

import numpy as np
import pytest

from noisyactive.experiments import format_curve_table, method_label, summarize
from noisyactive.experiments._methods import duplicate_methods
from noisyactive.experiments._report import mean_std, reaches, write_report


def _run(seed, f1s, ref=0.80):
    curve = [{"macro_f1": f, "labels_used": 15 * i} for i, f in enumerate(f1s)]
    sel = {
        "precision": 0.9,
        "n_kept": 100,
        "recall_clean": 0.8,
        "recall_per_class": [0.7, 0.9],
        "wall_s": 1.0,
    }
    return {
        "seed": seed,
        "config": {"mix_ratio": 0.5, "vog_normalize": None},
        "classes": ["a", "b"],
        "reference": {"macro_f1": ref},
        "methods": {"ct_vog_entropy": {"curve": curve, "wall_s": 2.0}},
        "selection": {"ct_vog": sel},
    }


def test_mean_std_is_the_sample_std_with_n():
    mean, std, n = mean_std([0.7, 0.8, 0.9])
    assert (round(mean, 6), n) == (0.8, 3)
    assert std == pytest.approx(np.std([0.7, 0.8, 0.9], ddof=1))
    assert np.isnan(mean_std([0.5])[1])


def test_one_seed_prints_no_plus_minus_and_several_print_n():
    one = format_curve_table(summarize([_run(0, [0.6, 0.7])]))
    assert "±" not in one and "One seed" in one
    three = format_curve_table(
        summarize([_run(s, [0.6 + s / 100, 0.7]) for s in range(3)])
    )
    assert "0.610 ± 0.010" in three and "n = 3 seeds" in three


def test_reaches_needs_mean_minus_std_to_clear_the_reference():
    rounds = [
        {"labels_used": 15, "macro_f1": (0.81, 0.02, 3)},  # 0.79 < 0.80
        {"labels_used": 30, "macro_f1": (0.83, 0.02, 3)},  # 0.81 >= 0.80
    ]
    assert reaches(rounds, 0.80) == 30
    assert reaches(rounds[:1], 0.80) is None
    assert reaches([{"labels_used": 15, "macro_f1": (0.9, np.nan, 1)}], 0.8) is None


def test_method_names_say_which_vog_and_m():
    raw = method_label("ct_vog_entropy", {"mix_ratio": 0.5, "vog_normalize": None})
    norm = method_label("ct_vog_entropy", {"mix_ratio": 0.2, "vog_normalize": "class"})
    assert "raw" in raw and "m = 0.5" in raw
    assert "class-normalised" in norm and "m = 0.2" in norm


def test_vog_at_m_zero_is_dropped_as_a_duplicate_of_coteaching():
    methods = ["ct_entropy", "ct_vog_entropy", "al_entropy"]
    assert duplicate_methods(methods, {"mix_ratio": 0.0}) == {
        "ct_vog_entropy": "ct_entropy"
    }
    assert duplicate_methods(methods, {"mix_ratio": 0.5}) == {}


def test_report_files_carry_the_summary(tmp_path):
    runs = [_run(s, [0.6, 0.7 + s / 100]) for s in range(3)]
    write_report(runs, tmp_path, title="t")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["summary"]["n_seeds"] == 3
    assert (tmp_path / "curves.png").stat().st_size > 0
