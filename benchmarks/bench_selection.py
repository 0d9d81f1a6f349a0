"""Every final-selection candidate of NoisyLabelFilter on the long-tailed noisy digits.

    python benchmarks/bench_selection.py                   # both settings, seeds 0 1 2
    python benchmarks/bench_selection.py --settings digits_pair_0.4 --seeds 0
    python benchmarks/bench_selection.py --table           # table of stored rows

Settings: the embedded digits, long-tailed (imbalance 15) with symmetric or
pair-flip noise p = 0.4 on the training labels (``make_noisy_digits``). Per
seed, one default filter (Co-teaching, ``forget_rate="auto"`` with the cross-fit,
small CNN) is fitted while recording every score a candidate needs, and every
rule of ``SELECTION_RULES`` (plus cleanlab's ``prune_by_class``) is applied to
that same fit with :meth:`~noisyactive.NoisyLabelFilter.rescore`, with its own
threshold and with the per-class quotas (``final_quota="class"``). Two
in-training variants are separate fits: ``selection="class_quota"`` and the
paper's ``mix_ratio=0.3``. For each candidate: the kept count, clean precision,
clean recall (overall and per true class; the three rarest digits named) and
the test macro-F1 of a plain ``NetClassifier`` (same network, best validation
epoch on the clean validation split) trained on the kept samples.

Each (setting, seed) is one JSON line of ``benchmarks/results/selection_digits.jsonl``;
lines already there are skipped, so an interrupted run resumes.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "selection_digits.jsonl"
SETTINGS = {
    "digits_sym_0.4": ("symmetric", 0.4),
    "digits_pair_0.4": ("pairflip", 0.4),
}
#: HAM10000 settings: the pretrained fair benchmark's configuration (its data,
#: split, noise and Co-teaching filter, EfficientNet-Lite0 on a cached frozen
#: trunk). Phase 1 only: a classifier per candidate would cost 3-5 CPU-minutes
#: each, so their test macro-F1 is left out ("–").
CONFIG_SETTINGS = {
    "ham_p04_pretrained": "ham10000_p04_pretrained",
    "ham_p05_pretrained": "ham10000_p05_pretrained",
}
NET = dict(module="small_cnn", augment=False, max_epochs=20, batch_size=64, lr=0.05)
FILTER = dict(NET, num_gradual=8, final_selection=None)  # Co-teaching's mask


def _fit_filter(d, seed, **params):
    from noisyactive import NoisyLabelFilter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return NoisyLabelFilter(**{**FILTER, **params}, random_state=seed).fit(
            d.X_train, d.y_train
        )


def _test_f1(d, keep, seed):
    from sklearn.metrics import f1_score

    from noisyactive import NetClassifier

    if np.unique(d.y_train[keep]).size < 2:
        return 0.0
    clf = NetClassifier(**NET, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(d.X_train[keep], d.y_train[keep], X_val=d.X_val, y_val=d.y_val)
    pred = clf.predict(d.X_test)
    return float(f1_score(d.y_test, pred, labels=np.arange(10), average="macro"))


def _metrics(d, keep, seed, test=True):
    true = d.y_train_true
    clean = d.y_train == true
    recall = [
        float(keep[clean & (true == c)].mean()) if (clean & (true == c)).any() else None
        for c in np.unique(true)
    ]
    return {
        "kept": int(keep.sum()),
        "precision": float(clean[keep].mean()) if keep.any() else 0.0,
        "clean_recall": float(keep[clean].mean()),
        "class_recall": recall,
        "test_macro_f1": _test_f1(d, keep, seed) if test else None,
    }


def _candidates(filt, X, metrics, fit_variant):
    """Every rule of SELECTION_RULES and cleanlab's prune_by_class rescored on
    ``filt``, with and without class quotas, and the in-training variants
    (``fit_variant(**params)`` returns a fitted filter's clean mask)."""
    from noisyactive.filtering import SELECTION_RULES, ConfidentJointRule

    candidates = {}
    rules = {name: name for name in SELECTION_RULES}
    rules["cleanlab_prune_by_class"] = ConfidentJointRule("prune_by_class")
    for name, rule in rules.items():
        for quota in (None, "class"):
            keep, _ = filt.rescore(X, rule, final_quota=quota)
            label = name if quota is None else f"{name}+class_quota"
            candidates[label] = metrics(keep)
    for label, params in (
        ("in-training class_quota", dict(selection="class_quota")),
        ("in-training mix_ratio=0.3 (paper)", dict(mix_ratio=0.3)),
    ):
        candidates[label] = metrics(fit_variant(**params))
    return candidates


def run_config(setting, seed):
    """One seed of a HAM10000 setting (``CONFIG_SETTINGS``), phase 1 only."""
    from noisyactive.config._models import make_filter
    from noisyactive.config._schema import as_config
    from noisyactive.experiments._data import load_experiment_data
    from noisyactive.filtering import VOGRule, VoteRule

    name = CONFIG_SETTINGS[setting]
    config = as_config(json.loads((HERE / "configs" / f"{name}.json").read_text()))
    d = load_experiment_data(config, seed)
    noise = float(config.noise_rate)
    start = time.process_time()

    def fit(**params):
        filt = make_filter(config, "ct", seed, noise).set_params(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return filt.fit(d.X_train, d.y_train, X_val=d.X_val, y_val=d.y_val)

    record = VoteRule([VOGRule("predicted"), VOGRule("eval")])
    filt = fit(final_selection=record)
    candidates = _candidates(
        filt,
        d.X_train,
        lambda keep: _metrics(d, keep, seed, test=False),
        lambda **params: fit(**params).clean_mask_,
    )
    classes = np.unique(d.y_train_true)
    return _row(
        setting,
        seed,
        d,
        filt,
        candidates,
        start,
        config_name=name,
        noise_kind="symmetric",
        noise_rate=noise,
        classes=[str(c) for c in classes],
    )


def run_one(setting, seed):
    from noisyactive.datasets import make_noisy_digits
    from noisyactive.filtering import VOGRule, VoteRule

    kind, p = SETTINGS[setting]
    d = make_noisy_digits(noise_rate=p, noise_kind=kind, random_state=seed)
    start = time.process_time()
    # Recording the extra VOGs does not change training (no random draws).
    record = VoteRule([VOGRule("predicted"), VOGRule("eval")])
    filt = _fit_filter(d, seed, final_selection=record)
    candidates = _candidates(
        filt,
        d.X_train,
        lambda keep: _metrics(d, keep, seed),
        lambda **params: _fit_filter(d, seed, **params).clean_mask_,
    )
    return _row(
        setting, seed, d, filt, candidates, start, noise_kind=kind, noise_rate=p
    )


def _row(setting, seed, d, filt, candidates, start, **about):
    """One stored line: the setting, its data and every candidate's metrics."""
    counts = np.unique(d.y_train_true, return_counts=True)[1]
    return {
        "setting": setting,
        "seed": seed,
        **about,
        "realised_noise_rate": float(np.mean(d.y_train != d.y_train_true)),
        "forget_rate": float(filt.forget_rate_),
        "n_train": int(d.y_train.shape[0]),
        "true_class_counts": counts.tolist(),
        "rare_classes": np.argsort(counts, kind="stable")[:3].tolist(),
        "candidates": candidates,
        "cpu_s": round(time.process_time() - start, 1),
        "env": {
            "python": platform.python_version(),
            "threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "command": "python benchmarks/bench_selection.py --settings "
        f"{setting} --seeds {seed}",
    }


def _ms(values):
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return "–"
    if v.size == 1:
        return f"{v[0]:.3f}"
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}"


def markdown_table(rows):
    """Markdown lines: one table per setting, candidates as rows (mean ± std
    over the seeds, ddof = 1)."""
    lines = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        runs = [r for r in rows if r["setting"] == setting]
        rare = runs[0]["rare_classes"]
        names = runs[0].get("classes") or [f"digit {c}" for c in range(10)]
        seeds = ", ".join(str(r["seed"]) for r in runs)
        lines += [
            f"**{setting}**, seeds {seeds} (n = {len(runs)}), realised noise "
            f"{np.mean([r['realised_noise_rate'] for r in runs]):.3f}, estimated "
            f"forget rate {np.mean([r['forget_rate'] for r in runs]):.3f}, "
            f"{runs[0]['n_train']} training images; rarest classes (fewest true "
            f"samples): {', '.join(names[c] for c in rare)}.",
            "",
            "| candidate | kept | clean precision | clean recall | "
            + " | ".join(f"recall {names[c]}" for c in rare)
            + " | lowest class recall | test macro-F1 |",
            "|---|---|---|---|" + "---|" * len(rare) + "---|---|",
        ]
        for name in runs[0]["candidates"]:
            got = [r["candidates"][name] for r in runs]
            cells = [
                f"{np.mean([g['kept'] for g in got]):.0f}",
                _ms([g["precision"] for g in got]),
                _ms([g["clean_recall"] for g in got]),
                *(
                    _ms([g["class_recall"][c] for g in got])
                    for c in rare  # the rare classes of the first seed
                ),
                _ms([min(v for v in g["class_recall"] if v is not None) for g in got]),
                _ms([g["test_macro_f1"] for g in got]),
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _stored(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        choices=[*SETTINGS, *CONFIG_SETTINGS],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--table", action="store_true", help="print stored rows")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))  # this checkout's package
    out = Path(args.out)
    if not args.table:
        done = {(r["setting"], r["seed"]) for r in _stored(out)}
        for setting in args.settings:
            for seed in args.seeds:
                if (setting, seed) in done:
                    continue
                run = run_config if setting in CONFIG_SETTINGS else run_one
                row = run(setting, seed)
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{setting} seed {seed}: {row['cpu_s']} s CPU", flush=True)
    print("\n".join(markdown_table(_stored(out))))


if __name__ == "__main__":
    main()
