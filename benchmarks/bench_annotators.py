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
    python benchmarks/bench_annotators.py --dataset ham10000 \
        --data /work/shared/data/ham10000            # annotators_ham10000.jsonl

HAM10000: the pretrained fair benchmark's data and split at p = 0.4
(``benchmarks/configs/ham10000_p04_pretrained.json``, 7 classes, 7,011
training images); the features are the penultimate embeddings
(:meth:`~noisyactive.NetClassifier.embed`) of its network (EfficientNet-Lite0
ImageNet, 16 of 18 units frozen, 64 px) after one epoch on the noisy labels,
reduced to 64 principal components, and the classifier is the same logistic
regression, so every method costs seconds per round.
"""

import argparse
import json
import sys
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


def _ham_data(seed, path):
    """HAM10000's training (noisy p = 0.4) and test split as 64 principal
    components of the pretrained network's embeddings (see the docstring)."""
    from sklearn.decomposition import PCA

    from noisyactive.config._models import make_classifier
    from noisyactive.config._schema import as_config
    from noisyactive.experiments._data import load_experiment_data

    config = json.loads((HERE / "configs" / "ham10000_p04_pretrained.json").read_text())
    config = as_config(dict(config, path=path))
    d = load_experiment_data(config, seed)
    net = make_classifier(config, seed, epochs=1).fit(d.X_train, d.y_train)
    train = net.embed(d.X_train)  # once: it runs the network over 7,011 images
    pca = PCA(64, random_state=seed).fit(train)
    X_tr, X_te = pca.transform(train), pca.transform(net.embed(d.X_test))
    return X_tr, d.y_train_true, d.y_train, X_te, d.y_test


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


def run(method, seed, *, answers, rounds, data=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from noisyactive.active import ActiveLabelCleaner, simulated_annotators

    X, y, noisy, X_te, y_te = _data(seed) if data is None else data
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
        audit_share=0.0,  # as the stored runs: entropy ranks every question
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
    parser.add_argument("--dataset", choices=("digits", "ham10000"), default="digits")
    parser.add_argument("--data", help="the HAM10000 folder (--dataset ham10000)")
    parser.add_argument(
        "--out",
        default=None,
        help=f"default {OUT.name} or annotators_ham10000.jsonl beside it",
    )
    parser.add_argument("--table", action="store_true")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        help="run these only; the stored rows of the others are kept",
    )
    args = parser.parse_args(argv)
    if args.dataset == "ham10000" and not args.data and not args.table:
        parser.error("--dataset ham10000 needs --data (the HAM10000 folder)")
    default = (
        OUT if args.dataset == "digits" else OUT.with_name("annotators_ham10000.jsonl")
    )
    out = Path(args.out or default)
    stored = []
    if out.exists():
        stored = [json.loads(x) for x in out.read_text().splitlines() if x]
    if args.table:
        print("\n".join(markdown_table(stored)))
        return
    rows = [r for r in stored if r["method"] not in args.methods]
    if args.dataset == "ham10000":
        sys.path.insert(0, str(HERE.parent))  # this checkout's package
    for seed in range(args.seeds):
        data = _ham_data(seed, args.data) if args.dataset == "ham10000" else None
        for method in args.methods:
            t = time.time()
            rows += run(
                method, seed, answers=args.answers, rounds=args.rounds, data=data
            )
            print(f"seed {seed} {method}: {rows[-1]} ({time.time() - t:.1f} s)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n".join(markdown_table(rows)))


if __name__ == "__main__":
    main()
