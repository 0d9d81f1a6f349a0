"""Several annotators on the noisy digits: who decides the label?

Three simulated annotators of accuracy 0.9 / 0.8 / 0.65 (errors towards one
confusable class per class, :func:`noisyactive.active.simulated_annotators`),
the same answer budget for every method (``--answers`` per round, ``--rounds``
rounds): every answer is the truth (``consensus=None``, the last annotator
asked wins), ``majority`` (ties left open), ``dawid_skene``, ``crowdlab`` (the
classifier as one more voter), and the ``second_opinion`` strategy
(Dawid--Skene, one answer per query, answered samples may be asked again).
Per round: the accuracy of the cleaned labels (``labels_`` against the true
labels, over the training set and over the samples answered) and the test
macro-F1 of the classifier. One JSON line per method, seed and round in
``benchmarks/results/annotators_digits.jsonl``.

    python benchmarks/bench_annotators.py            # 3 seeds
    python benchmarks/bench_annotators.py --methods crowdlab  # keep the others
    python benchmarks/bench_annotators.py --table    # print the stored table
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "annotators_digits.jsonl"
ACCURACIES = {"a": 0.9, "b": 0.8, "c": 0.65}
METHODS = ("single_as_truth", "majority", "dawid_skene", "crowdlab", "second_opinion")


def _data(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X / 16, y, test_size=0.3, random_state=seed, stratify=y
    )
    rng = np.random.default_rng(seed)
    noisy = y_tr.copy()
    flip = rng.random(noisy.size) < 0.4
    noisy[flip] = (noisy[flip] + rng.integers(1, 10, flip.sum())) % 10
    return X_tr, y_tr, noisy, X_te, y_te


def _realised(cleaner, y):
    """Each annotator's share of correct answers so far (the accuracy the
    simulation realised, which the estimate is compared with)."""
    answers = cleaner.answers_
    out = {}
    for name in ACCURACIES:
        own = answers[(answers["annotator"] == name) & (answers["label_code"] >= 0)]
        if own.size:
            given = cleaner.classes_[own["label_code"]]
            out[name] = float(np.mean(given == y[own["index"]]))
    return out


def run(method, seed, *, answers, rounds):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from noisyactive.active import ActiveLabelCleaner, simulated_annotators

    X, y, noisy, X_te, y_te = _data(seed)
    rows = []

    def record(cleaner, entry):
        asked = np.flatnonzero(np.isfinite(cleaner.agreement_))
        clf = cleaner.classifier_
        rows.append(
            {
                "method": method,
                "seed": seed,
                "round": entry["round"],
                "n_answers": int(cleaner.budget_used_),
                "label_accuracy": float((cleaner.labels_ == y).mean()),
                "answered_accuracy": float((cleaner.labels_[asked] == y[asked]).mean())
                if asked.size
                else None,
                "n_answered_samples": int(asked.size),
                "test_macro_f1": float(
                    f1_score(y_te, clf.predict(X_te), average="macro")
                ),
                "annotator_accuracy": entry.get("annotator_accuracy"),
                "realised_accuracy": _realised(cleaner, y),
            }
        )

    per_query = 1 if method == "second_opinion" else len(ACCURACIES)
    params = dict(
        estimator=LogisticRegression(max_iter=300),
        classifier=LogisticRegression(max_iter=300),
        query_strategy="second_opinion" if method == "second_opinion" else "entropy",
        oracle=simulated_annotators(y, ACCURACIES, seed=seed),
        start="noisy",
        batch_size=answers // per_query,
        n_rounds=rounds,
        consensus={
            "single_as_truth": None,
            "second_opinion": "dawid_skene",
        }.get(method, method),
        answers_per_query=1 if method == "second_opinion" else None,
        refit="scratch",
        on_round_end=record,
        random_state=seed,
    )
    ActiveLabelCleaner(**params).fit(X, noisy)
    return rows


def markdown_table(rows):
    """Final round per method: mean ± std over seeds."""
    last = max(r["round"] for r in rows)
    out = [
        "| method | answers | label accuracy | answered-sample accuracy | "
        "test macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for method in METHODS:
        sel = [r for r in rows if r["method"] == method and r["round"] == last]
        if not sel:
            continue

        def cell(key, sel=sel):
            v = np.array([r[key] for r in sel], dtype=float)
            sd = v.std(ddof=1) if v.size > 1 else 0.0
            return f"{v.mean():.4f} ± {sd:.4f}"

        out.append(
            f"| {method} | {sel[0]['n_answers']} | {cell('label_accuracy')} | "
            f"{cell('answered_accuracy')} | {cell('test_macro_f1')} |"
        )
    out.append(f"\n(round {last}, {len({r['seed'] for r in rows})} seeds)")
    out += ["", *accuracy_table(rows, last)]
    return out


def accuracy_table(rows, last):
    """The estimated annotator accuracies of the last round against the
    simulated ones: nominal and realised (each annotator's share of correct
    answers in that run); the largest absolute gap over seeds."""
    out = [
        "| method | annotator | nominal | realised | estimated | "
        "largest abs. gap to realised | to nominal |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        sel = [
            r
            for r in rows
            if r["method"] == method
            and r["round"] == last
            and r.get("annotator_accuracy")
            and r.get("realised_accuracy")
        ]
        if not sel or method == "single_as_truth":
            continue
        for name, nominal in ACCURACIES.items():
            est = np.array([r["annotator_accuracy"][name] for r in sel])
            real = np.array([r["realised_accuracy"][name] for r in sel])
            out.append(
                f"| {method} | {name} | {nominal} | {real.mean():.3f} | "
                f"{est.mean():.3f} | {np.abs(est - real).max():.3f} | "
                f"{np.abs(est - nominal).max():.3f} |"
            )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--answers", type=int, default=150, help="per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--table", action="store_true")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        help="run these only; the stored rows of the others are kept",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    stored = []
    if out.exists():
        stored = [json.loads(x) for x in out.read_text().splitlines() if x]
    if args.table:
        print("\n".join(markdown_table(stored)))
        return
    rows = [r for r in stored if r["method"] not in args.methods]
    for seed in range(args.seeds):
        for method in args.methods:
            t = time.time()
            rows += run(method, seed, answers=args.answers, rounds=args.rounds)
            print(f"seed {seed} {method}: {rows[-1]} ({time.time() - t:.1f} s)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n".join(markdown_table(rows)))


if __name__ == "__main__":
    main()
