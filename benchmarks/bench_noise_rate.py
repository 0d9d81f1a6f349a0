"""How well ``forget_rate="auto"`` estimates the noise rate, global and per class.

    python benchmarks/bench_noise_rate.py                     # every setting, 3 seeds
    python benchmarks/bench_noise_rate.py --settings digits_sym_0.2 --seeds 0
    python benchmarks/bench_noise_rate.py --filter-check      # HAM10000 filter check
    python benchmarks/bench_noise_rate.py --table             # table of stored rows
    python benchmarks/bench_noise_rate.py --diagnose          # why it misses
    python benchmarks/bench_noise_rate.py --audit             # + cleanlab, audit
    python benchmarks/bench_noise_rate.py --audit --settings ham_sym_0.3 \
        ham_sym_0.5 --ham-config pretrained  # EfficientNet-Lite0, cached trunk

Settings: the embedded long-tailed digits with symmetric noise p = 0.2, 0.4, 0.6,
0.8 and pair-flip p = 0.2, 0.4; HAM10000 (lesion-grouped split, a stratified
subsample of the training split, 32 px, small CNN) with symmetric p = 0.3, 0.5.
Per seed, two estimates are compared with the realised noise:

- ``crossfit``: the default (:func:`noisyactive.filtering.estimate_noise_cross_fit`,
  what :class:`~noisyactive.NoisyLabelFilter` runs with ``forget_rate="auto"``),
  with the filter's own network at half its epochs;
- ``mixture``: the former default, the loss mixture over the Co-teaching warm-up,
  with per-class rates from the symmetric formula.

Each finished run is appended to ``benchmarks/results/noise_rate.jsonl`` (runs
already there are skipped, so an interrupted benchmark resumes).
``--filter-check`` fits default filters (``selection="batch"`` and
``"class_quota"``, the latter also at the rate the classifier's estimate
combined with a 100-answer audit gives) on a 600-image HAM10000 subset at
p = 0.3 and records the
estimate's error, the kept samples' precision and the clean recall of the two
rarest classes to ``noise_rate_filter.jsonl``.

``--audit`` (issue 25) compares, per setting x seed on one set of cross-fitted
probabilities and one noisy labelling, the classifier estimate, cleanlab's
``num_label_issues(..., "off_diagonal_calibrated") / n``, a stratified random
audit of k = 50, 100, 200 answered with the true labels, and the classifier
combined with each audit (``combine_noise_estimates``): absolute error, class
MAE, and whether each interval covers the realised rate, appended to
``noise_rate_audit.jsonl`` (resumable per setting, seed and ``--ham-config``).
HAM10000 runs with ``--ham-config cpu`` (the settings above) or
``pretrained`` (the fair benchmark's EfficientNet-Lite0 ImageNet,
``freeze=16``, 64 px, trunk features cached in ``.cache/noisyactive``, the
whole training split); try it small with ``--ham-subset 60 --max-epochs 2
--out /tmp/x/noise_rate.jsonl``.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np

HERE = Path(__file__).resolve().parent
HAM = "../shared/data/ham10000"  # as in benchmarks/configs (cwd: the repo)
SETTINGS = {
    **{f"digits_sym_{p}": ("digits", "symmetric", p) for p in (0.2, 0.4, 0.6, 0.8)},
    **{f"digits_pair_{p}": ("digits", "pairflip", p) for p in (0.2, 0.4)},
    **{f"ham_sym_{p}": ("ham10000", "symmetric", p) for p in (0.3, 0.5)},
}
PARAMS = {
    "digits": dict(
        module="small_cnn",
        augment=False,
        max_epochs=20,
        num_gradual=8,
        batch_size=64,
        lr=0.05,
    ),
    "ham10000": dict(
        module="small_cnn",
        module_kwargs={"width": 16},
        augment=True,
        max_epochs=10,
        num_gradual=5,
        batch_size=128,
        lr=0.05,
    ),
}


def load(dataset, kind, p, seed, n_train, ham_path, *, size=32, cache_dir=None):
    """Noisy training data (X, y_noisy, y_true); HAM10000 decoded at ``size``
    px, its images cached in ``cache_dir`` (default: ``default_cache_dir()``)."""
    from sklearn.model_selection import train_test_split

    from noisyactive._netcore._inputs import default_cache_dir
    from noisyactive.datasets import (
        grouped_train_val_test_split,
        inject_label_noise,
        load_ham10000,
        make_noisy_digits,
    )

    if dataset == "digits":
        d = make_noisy_digits(noise_rate=p, noise_kind=kind, random_state=seed)
        return d.X_train, d.y_train, d.y_train_true
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    ham = load_ham10000(ham_path, size=size, cache_dir=cache_dir)
    labels = np.asarray(ham.labels)
    tr, _, _ = grouped_train_val_test_split(
        labels, ham.groups, sizes=(0.7, 0.1, 0.2), random_state=seed
    )
    if n_train and n_train < len(tr):
        tr, _ = train_test_split(
            tr, train_size=n_train, stratify=labels[tr], random_state=seed
        )
    tr = np.sort(tr)
    y_true = labels[tr]
    y = inject_label_noise(y_true, p, kind=kind, random_state=seed)
    return np.asarray(ham.images[tr]), y, y_true


def true_class_rates(y, y_true, classes):
    return np.array([np.mean(y_true[y == c] != c) for c in classes])


def crossfit_estimate(params, seed, X, y, classes):
    """What ``fit(X, y)`` runs with ``forget_rate="auto"`` before the
    Co-teaching: the cross-fitted estimate, warnings recorded, not emitted."""
    from noisyactive import NoisyLabelFilter

    filt = NoisyLabelFilter(random_state=seed, **params)
    filt.classes_ = np.asarray(classes)  # set by fit before it estimates
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # they are recorded in the result
        return filt._estimate_noise(X, np.searchsorted(classes, y))


def mixture_estimate(X, y, params, seed):
    """The former default: the loss mixture of the Co-teaching warm-up."""
    from noisyactive import NoisyLabelFilter
    from noisyactive.filtering import estimate_class_clean_counts

    filt = NoisyLabelFilter(
        forget_rate="auto",
        random_state=seed,
        **dict(params, max_epochs=params["num_gradual"] + 1),
    )
    # The mixture runs inside the Co-teaching net when the filter's
    # cross-fitted estimate is switched off.
    with (
        mock.patch.object(NoisyLabelFilter, "_estimate_noise", return_value=None),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        filt.fit(X, y)
    m = np.bincount(np.searchsorted(filt.classes_, y), minlength=len(filt.classes_))
    clean = estimate_class_clean_counts(m, filt.forget_rate_)
    return float(filt.forget_rate_), 1.0 - clean / np.maximum(m, 1)


def run_one(name, seed, args):

    dataset, kind, p = SETTINGS[name]
    X, y, y_true = load(dataset, kind, p, seed, args.n_train, args.ham)
    classes = np.unique(y)
    truth = true_class_rates(y, y_true, classes)
    realised = float(np.mean(y != y_true))
    params = PARAMS[dataset]
    t = time.perf_counter()
    est = crossfit_estimate(params, seed, X, y, classes)
    t_cf = time.perf_counter() - t
    t = time.perf_counter()
    mix, mix_class = mixture_estimate(X, y, params, seed)
    t_mix = time.perf_counter() - t
    return dict(
        setting=name,
        seed=seed,
        n=len(y),
        realised=realised,
        true_class_rates=truth.tolist(),
        crossfit=est.rate,
        crossfit_std=est.rate_std,
        crossfit_confident=est.confident_rate,
        crossfit_class_rates=est.class_rates.tolist(),
        crossfit_error=est.rate - realised,
        crossfit_class_mae=float(np.mean(np.abs(est.class_rates - truth))),
        crossfit_warnings=est.warnings,
        crossfit_s=t_cf,
        mixture=mix,
        mixture_class_rates=mix_class.tolist(),
        mixture_error=mix - realised,
        mixture_class_mae=float(np.mean(np.abs(mix_class - truth))),
        mixture_s=t_mix,
    )


def epochs_sweep(name, seed, epochs, args):
    """The cross-fitted estimate with ``epochs`` per cross-fit (no mixture)."""

    dataset, kind, p = SETTINGS[name]
    X, y, y_true = load(dataset, kind, p, seed, args.n_train, args.ham)
    classes = np.unique(y)
    truth = true_class_rates(y, y_true, classes)
    # The filter cross-fits at half its epochs.
    params = dict(PARAMS[dataset], max_epochs=2 * epochs)
    est = crossfit_estimate(params, seed, X, y, classes)
    realised = float(np.mean(y != y_true))
    return dict(
        setting=name,
        seed=seed,
        crossfit_epochs=epochs,
        realised=realised,
        crossfit=est.rate,
        crossfit_confident=est.confident_rate,
        crossfit_error=est.rate - realised,
        crossfit_class_mae=float(np.mean(np.abs(est.class_rates - truth))),
    )


def diagnose(name, seed, args):
    """Why the estimate misses: the agreement correction's classifier accuracy
    (from pairs of cross-fits) against the true one, the rate the same
    formula gives with the true accuracy (under symmetric noise), and the
    classifier-free symmetric bound."""
    from itertools import combinations

    from noisyactive.filtering import agreement_noise_rate

    dataset, kind, p = SETTINGS[name]
    X, y, y_true = load(dataset, kind, p, seed, args.n_train, args.ham)
    classes = np.unique(y)
    y_enc, z = np.searchsorted(classes, y), np.searchsorted(classes, y_true)
    k = len(classes)
    est = crossfit_estimate(PARAMS[dataset], seed, X, y, classes)
    h = est.pred_probs.argmax(2)
    a2 = np.mean([np.mean(h[i] == h[j]) for i, j in combinations(range(len(h)), 2)])
    a_true = float(np.mean(h == z[None, :]))
    g = float(np.mean(h == y_enc[None, :]))
    # g = a (1 - tau) + (1 - a) tau / (k - 1) under symmetric noise, any classifier.
    tau_true_a = (a_true - g) / (a_true - (1 - a_true) / (k - 1))
    return dict(
        setting=name,
        seed=seed,
        realised=float(np.mean(y != y_true)),
        crossfit=est.rate,
        agreement_only=agreement_noise_rate(y_enc, h, k),
        pair_agreement=float(a2),
        accuracy_true=a_true,
        majority_share=float(np.bincount(z).max() / len(z)),
        predicted_majority_share=float(np.mean(h == np.bincount(y_enc).argmax())),
        rate_with_true_accuracy=float(tau_true_a),
        symmetric_bound=est.symmetric_bound,
        warnings=est.warnings,
    )


def diagnose_table(rows):
    cols = [
        "realised",
        "crossfit",
        "pair_agreement",
        "accuracy_true",
        "predicted_majority_share",
        "rate_with_true_accuracy",
        "symmetric_bound",
    ]
    lines = [
        "| setting | seeds | " + " | ".join(cols) + " |",
        "|---|---|" + "---|" * len(cols),
    ]
    for name in dict.fromkeys(r["setting"] for r in rows):
        sub = [r for r in rows if r["setting"] == name]
        means = [np.mean([r[c] for r in sub]) for c in cols]
        lines.append(
            f"| {name} | {len(sub)} | " + " | ".join(f"{v:.3f}" for v in means) + " |"
        )
    return "\n".join(lines)


def table(rows):
    lines = [
        "| setting | n | realised | cross-fit (mean ± std) | mean abs err | "
        "worst abs err | class MAE | mixture | mixture mean abs err | "
        "mixture worst | mixture class MAE | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SETTINGS:
        sub = [r for r in rows if r["setting"] == name]
        if not sub:
            continue
        keys = [k for k, v in sub[0].items() if isinstance(v, (int, float))]
        col = {k: np.array([r[k] for r in sub]) for k in keys}
        cf, mx = np.abs(col["crossfit_error"]), np.abs(col["mixture_error"])
        spread = col["crossfit"].std(ddof=1) if len(sub) > 1 else 0.0  # sample std
        lines.append(
            f"| {name} | {int(col['n'].mean())} | {col['realised'].mean():.3f} | "
            f"{col['crossfit'].mean():.3f} ± {spread:.3f} | "
            f"{cf.mean():.3f} | {cf.max():.3f} | "
            f"{col['crossfit_class_mae'].mean():.3f} | {col['mixture'].mean():.3f} | "
            f"{mx.mean():.3f} | {mx.max():.3f} | "
            f"{col['mixture_class_mae'].mean():.3f} | "
            f"{sorted(int(s) for s in col['seed'])} |"
        )
    return "\n".join(lines)


#: The filters of ``--filter-check``: the default selection, the class quota
#: on the classifier's estimate, and the class quota on the classifier's
#: estimate combined with a stratified audit of 100 true labels (what
#: ``ActiveLabelCleaner(audit_size=100, refit_after_audit=True)`` refitted
#: before it passed the per-class rates), and that with the combination's
#: per-class rates as well (``_perclass``: its transition matrix, what the
#: cleaner refits now).
FILTER_CHECKS = (
    "batch",
    "class_quota",
    "class_quota_audit100",
    "class_quota_audit100_perclass",
    "cleaner_audit100",
    "default",
    "cleaner_default_audit100",
)
#: ``cleaner_audit100`` is the product end to end:
#: ``ActiveLabelCleaner(NoisyLabelFilter(selection="class_quota"),
#: audit_size=100, n_rounds=0, refit_after_audit=True)`` with the true labels
#: as its oracle; its clean set is the refit's kept samples plus the audited
#: ones (with their answers), scored on ``labels_`` against the truth.
#: ``default`` / ``cleaner_default_audit100``: the same with the filter's
#: default selection (``final_selection="auto"``: per-class loss mixtures on
#: plain Co-teaching) in place of ``selection="class_quota"``.


def _row_filter(selection):
    """The selection parameters of a ``FILTER_CHECKS`` row's filter (every other
    row names one of Co-teaching's own selections)."""
    if "default" in selection:
        return dict(selection="batch", final_selection="auto")
    quota = "class_quota" in selection or selection == "cleaner_audit100"
    return dict(selection="class_quota" if quota else "batch", final_selection=None)


def filter_check(seed, args, done=()):
    """Default filters on a small HAM10000 subset at p = 0.3 (the selections
    in ``FILTER_CHECKS`` not in ``done``)."""
    from noisyactive import NoisyLabelFilter
    from noisyactive.active._audit import classifier_summary
    from noisyactive.active._noise_posterior import (
        audit_counts,
        combine_noise_estimates,
        stratified_audit,
    )
    from noisyactive.filtering import transition_from_class_noise_rates

    if args.ham_config == "pretrained":  # the pretrained benchmark's network
        config = HAM_CONFIGS["pretrained"]
        params, size = dict(config["params"]), config["size"]
    else:
        params, size = dict(PARAMS["ham10000"], max_epochs=20, num_gradual=10), 32
    X, y, y_true = load(
        "ham10000", "symmetric", 0.3, seed, 600, args.ham, size=size,
        cache_dir=params.get("cache_dir"),
    )  # fmt: skip
    classes, counts = np.unique(y_true, return_counts=True)
    rare = classes[np.argsort(counts)[:2]]
    realised = float(np.mean(y != y_true))
    out, first = [], None
    for selection in FILTER_CHECKS:
        if selection in done:
            continue
        t = time.perf_counter()
        row_params = dict(params, **_row_filter(selection))
        if selection.startswith("cleaner_"):
            out.append(_cleaner_check(X, y, y_true, seed, row_params, rare, realised))
            out[-1].update(
                selection=selection,
                wall_s=time.perf_counter() - t,
                ham_config=args.ham_config,
            )
            print(json.dumps(out[-1]), flush=True)
            continue
        audited = "_audit100" in selection
        extra = {}
        if audited:  # the classifier's estimate (a "batch" fit) + the audit
            if first is None:
                first = NoisyLabelFilter(
                    random_state=seed, **dict(params, **_row_filter("batch"))
                ).fit(X, y)
            k, y_enc = len(first.classes_), np.searchsorted(first.classes_, y)
            prior = classifier_summary(first, first.class_noise_rates_, y_enc, k)
            idx, _ = stratified_audit(y_enc, 100, n_classes=k, random_state=seed)
            known = np.isin(y_true, first.classes_)
            answers = np.where(known, np.searchsorted(first.classes_, y_true), k)
            post = combine_noise_estimates(
                np.bincount(y_enc, minlength=k),
                classifier=prior,
                audit=audit_counts(y_enc, idx, answers[idx], k),
            )
            extra = dict(forget_rate=float(np.clip(post.rate, 0.0, 0.95)))
            if selection.endswith("_perclass"):
                extra["transition_matrix"] = transition_from_class_noise_rates(
                    np.bincount(y_enc, minlength=k), post.class_rates
                )
        filt = NoisyLabelFilter(random_state=seed, **{**row_params, **extra}).fit(X, y)
        if selection == "batch":
            first = filt
        clean = y == y_true
        out.append(
            dict(
                seed=seed,
                selection=selection,
                n=len(y),
                realised=realised,
                forget_rate=filt.forget_rate_,
                forget_rate_std=filt.forget_rate_std_,
                error=filt.forget_rate_ - realised,
                **_kept_stats(filt.clean_mask_, clean, clean, y_true, rare),
                class_clean_counts=np.asarray(filt.class_clean_counts_).tolist(),
                wall_s=time.perf_counter() - t,
                ham_config=args.ham_config,
            )
        )
        print(json.dumps(out[-1]), flush=True)
    return out


def _kept_stats(kept, right, clean, y_true, rare):
    """A kept set's size, the share of its labels that are ``right``, the
    recall of the ``clean`` samples, and the right kept samples of the
    ``rare`` classes."""
    return dict(
        n_kept=int(kept.sum()),
        precision=float(np.mean(right[kept])) if kept.any() else 0.0,
        clean_recall=float(np.mean(kept[clean])),
        rare_clean_recall={
            str(c): float(np.mean(kept[right & (y_true == c)])) for c in rare
        },
        rare_clean_kept={
            str(c): int(np.sum(kept & right & (y_true == c))) for c in rare
        },
    )


def _cleaner_check(X, y, y_true, seed, params, rare, realised):
    """A ``cleaner_*`` row of ``filter_check`` (the filter built from ``params``)."""
    from noisyactive import ActiveLabelCleaner, NoisyLabelFilter
    from noisyactive.active import SimulatedOracle

    cleaner = ActiveLabelCleaner(
        estimator=NoisyLabelFilter(random_state=seed, **params),
        oracle=SimulatedOracle(y_true),
        audit_size=100,
        n_rounds=0,
        refit_after_audit=True,
        random_state=seed,
    ).fit(X, y)
    right = cleaner.labels_ == y_true  # the audited labels are answers
    return dict(
        seed=seed,
        n=len(y),
        realised=realised,
        forget_rate=float(cleaner.estimator_.forget_rate_),
        forget_rate_std=0.0,
        error=float(cleaner.noise_rate_) - realised,
        **_kept_stats(cleaner.clean_mask_, right, y == y_true, y_true, rare),
        class_clean_counts=np.asarray(cleaner.class_clean_counts_).tolist(),
        n_audited=int(cleaner.audit_indices_.size),
        # the refit filter's own selection, without the audited samples added
        filter_only=_kept_stats(
            cleaner.estimator_.clean_mask_, right, y == y_true, y_true, rare
        ),
    )


# -- item 4 of issue 25: classifier, cleanlab, audit and their combination ------

#: The cross-fit classifier of HAM10000 in the audit comparison: ``cpu`` is
#: PARAMS["ham10000"] (32 px, small CNN, 1500 images); ``pretrained`` the
#: pretrained fair benchmark's network (EfficientNet-Lite0 ImageNet, 16 of 18
#: trunk units frozen and cached, 64 px, the whole training split).
HAM_CONFIGS = {
    "cpu": dict(params=PARAMS["ham10000"], size=32, n_train=1500),
    "pretrained": dict(
        params=dict(
            module="efficientnet_lite0",
            weights="imagenet",
            freeze=16,
            image_size=64,
            cache_dir=".cache/noisyactive",
            augment=True,
            max_epochs=20,
            num_gradual=6,
            batch_size=64,
            lr=0.01,
        ),
        size=64,
        n_train=0,
    ),
}
AUDIT_SIZES = (50, 100, 200)
#: The estimators compared, in table order.
ESTIMATORS = (
    "classifier",
    "cleanlab",
    *(f"audit_{k}" for k in AUDIT_SIZES),
    *(f"combined_{k}" for k in AUDIT_SIZES),
)


def _scored(rate, class_rates, interval, realised, truth):
    """An estimate with its errors against the realised global and class rates."""
    class_rates = np.asarray(class_rates, dtype=float)
    out = dict(
        rate=float(rate),
        class_rates=class_rates.tolist(),
        error=float(rate) - realised,
        abs_error=abs(float(rate) - realised),
        class_mae=float(np.mean(np.abs(class_rates - truth))),
        interval=None,
        covers=None,
        width=None,
    )
    if interval is not None:
        low, high = (float(v) for v in interval)
        out.update(
            interval=[low, high], covers=bool(low <= realised <= high), width=high - low
        )
    return out


def cleanlab_estimate(y_enc, probs):
    """cleanlab's ``num_label_issues(..., "off_diagonal_calibrated") / n`` and
    the per-class rates of the same calibrated joint (rows: given label)."""
    from cleanlab.count import compute_confident_joint, estimate_joint, num_label_issues

    rate = num_label_issues(
        y_enc, probs, estimation_method="off_diagonal_calibrated"
    ) / len(y_enc)
    joint = estimate_joint(
        y_enc, probs, confident_joint=compute_confident_joint(y_enc, probs)
    )
    rows = joint.sum(1)
    return float(rate), 1.0 - np.diag(joint) / np.where(rows > 0, rows, 1.0)


def audit_run(name, seed, args):
    """Per setting x seed, on one set of cross-fitted probabilities and one
    noisy labelling: the classifier estimate, cleanlab, the audit alone at
    ``AUDIT_SIZES`` (the expert answers with the true label) and the
    classifier combined with each audit, scored against the realised rates."""
    from noisyactive.active._noise_posterior import (
        audit_counts,
        classifier_reliability,
        combine_noise_estimates,
        stratified_audit,
        weighted_audit_rate,
    )

    dataset, kind, p = SETTINGS[name]
    if dataset == "digits":
        params, size, n_train = PARAMS["digits"], 32, 0
    else:
        config = HAM_CONFIGS[args.ham_config]
        params, size = config["params"], config["size"]
        n_train = config["n_train"] if args.n_train is None else args.n_train
        if args.cache_dir is not None and "cache_dir" in params:
            params = dict(params, cache_dir=args.cache_dir)
    if args.max_epochs:
        params = dict(params, max_epochs=args.max_epochs)
    # The images are cached where the network caches its trunk (pretrained).
    cache_dir = args.cache_dir or params.get("cache_dir")
    X, y, y_true = load(
        dataset, kind, p, seed, n_train, args.ham, size=size, cache_dir=cache_dir
    )
    classes = np.unique(y)
    k = len(classes)
    y_enc = np.searchsorted(classes, y)
    truth = true_class_rates(y, y_true, classes)
    realised = float(np.mean(y != y_true))
    counts = np.bincount(y_enc, minlength=k)
    t = time.perf_counter()
    est = crossfit_estimate(params, seed, X, y, classes)
    t_cf = time.perf_counter() - t
    # The classifier's summary as ActiveLabelCleaner builds it (classifier_summary).
    prior = dict(
        rate=float(est.rate),
        rate_std=float(est.rate_std),
        class_rates=np.asarray(est.class_rates, dtype=float).tolist(),
        class_rates_std=np.asarray(est.class_rates_std, dtype=float).tolist(),
        reliability=classifier_reliability(
            est.agreement, est.majority_agreement, est.skill
        ),
    )
    alone = combine_noise_estimates(counts, classifier=prior)
    estimates = {
        "classifier": _scored(
            est.rate, est.class_rates, alone.interval, realised, truth
        ),
        "cleanlab": _scored(
            *cleanlab_estimate(y_enc, est.pred_probs.mean(0)), None, realised, truth
        ),
    }
    estimates["classifier"]["reliability"] = prior["reliability"]
    # The expert's answers: the true labels (a true class no noisy label has
    # is encoded k, which differs from every noisy label).
    known = np.isin(y_true, classes)
    answers_all = np.where(known, np.searchsorted(classes, y_true), k)
    for size_k in AUDIT_SIZES:
        idx, weights = stratified_audit(
            y_enc, min(size_k, len(y)), n_classes=k, random_state=1000 * seed + size_k
        )
        audit = audit_counts(y_enc, idx, answers_all[idx], k)
        answered, wrong = audit
        raw = wrong / np.maximum(answered, 1)
        audit_only = combine_noise_estimates(counts, audit=audit)
        estimates[f"audit_{size_k}"] = _scored(
            weighted_audit_rate(answers_all[idx] != y_enc[idx], weights),
            np.where(answered > 0, raw, audit_only.class_rates),
            audit_only.interval,
            realised,
            truth,
        )
        estimates[f"audit_{size_k}"]["n_audited"] = int(answered.sum())
        post = combine_noise_estimates(counts, classifier=prior, audit=audit)
        scored = _scored(post.rate, post.class_rates, post.interval, realised, truth)
        scored["class_covers"] = float(
            np.mean(
                (post.class_intervals[:, 0] <= truth)
                & (truth <= post.class_intervals[:, 1])
            )
        )
        estimates[f"combined_{size_k}"] = scored
    return dict(
        setting=name,
        seed=seed,
        ham_config=args.ham_config if dataset == "ham10000" else None,
        n=len(y),
        realised=realised,
        true_class_rates=truth.tolist(),
        noisy_counts=counts.tolist(),
        crossfit_warnings=est.warnings,
        crossfit_s=t_cf,
        params=params,
        estimates=estimates,
    )


def _audit_label(row):
    config = row.get("ham_config")
    return row["setting"] + (f" ({config})" if config and config != "cpu" else "")


def audit_table(rows):
    """One line per setting x estimator: means over the seeds."""
    lines = [
        "| setting | estimator | seeds | realised | estimate | mean abs err | "
        "worst abs err | class MAE | interval width | covers |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(_audit_label(r) for r in rows):
        sub = [r for r in rows if _audit_label(r) == label]
        for name in ESTIMATORS:
            est = [r["estimates"][name] for r in sub]
            err = np.array([e["abs_error"] for e in est])
            covers = [e["covers"] for e in est if e["covers"] is not None]
            widths = [e["width"] for e in est if e["width"] is not None]
            lines.append(
                f"| {label} | {name} | {len(sub)} | "
                f"{np.mean([r['realised'] for r in sub]):.3f} | "
                f"{np.mean([e['rate'] for e in est]):.3f} | {err.mean():.3f} | "
                f"{err.max():.3f} | {np.mean([e['class_mae'] for e in est]):.3f} | "
                + (f"{np.mean(widths):.3f} | " if widths else "- | ")
                + (f"{sum(covers)}/{len(covers)} |" if covers else "- |")
            )
    return "\n".join(lines)


def _audit_group(row):
    config = row.get("ham_config")
    return f"ham10000 ({config})" if config else "digits"


def audit_summary(rows):
    """Per dataset (and HAM10000 configuration), over settings x seeds: every
    estimator's mean and worst abs error, class MAE and interval coverage."""
    lines = [
        "| rows | estimator | mean abs err | worst abs err | class MAE | covers |",
        "|---|---|---|---|---|---|",
    ]
    for group in dict.fromkeys(_audit_group(r) for r in rows):
        sub = [r for r in rows if _audit_group(r) == group]
        lines += _summary_lines(f"{group}, {len(sub)}", sub)
    return "\n".join(lines)


def _summary_lines(label, sub):
    out = []
    for name in ESTIMATORS:
        est = [r["estimates"][name] for r in sub]
        err = np.array([e["abs_error"] for e in est])
        covers = [e["covers"] for e in est if e["covers"] is not None]
        out.append(
            f"| {label} | {name} | {err.mean():.3f} | {err.max():.3f} | "
            f"{np.mean([e['class_mae'] for e in est]):.3f} | "
            + (f"{sum(covers)}/{len(covers)} |" if covers else "- |")
        )
    return out


def run_audit(args, out, rows, command):
    """``--audit``: every setting x seed not stored yet, then the tables."""
    from noisyactive.experiments import environment

    done = {(r["setting"], r["seed"], r.get("ham_config")) for r in rows}
    for seed in args.seeds:
        for name in args.settings:
            config = args.ham_config if SETTINGS[name][0] == "ham10000" else None
            if (name, seed, config) in done:
                continue
            row = audit_run(name, seed, args)
            e = row["estimates"]
            print(
                f"{_audit_label(row)} seed={seed}: realised {row['realised']:.3f}, "
                + ", ".join(f"{m} {e[m]['rate']:.3f}" for m in ESTIMATORS),
                flush=True,
            )
            with out.open("a") as fh:
                fh.write(
                    json.dumps(
                        dict(row, command=command, environment=environment()),
                        default=str,
                    )
                    + "\n"
                )
            rows.append(row)
    print(audit_table(rows))
    print()
    print(audit_summary(rows))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ham", default=str(HAM))
    parser.add_argument(
        "--n-train",
        "--ham-subset",
        type=int,
        default=None,
        help="HAM10000 training images (stratified subset; 0: the whole split); "
        "default 1500, with --audit the --ham-config's (cpu 1500, pretrained 0)",
    )
    parser.add_argument(
        "--audit",
        action="store_true",
        help="classifier, cleanlab, audit (k = 50, 100, 200) and their "
        "combination on the same probabilities (noise_rate_audit.jsonl)",
    )
    parser.add_argument(
        "--ham-config",
        choices=sorted(HAM_CONFIGS),
        default="cpu",
        help="the network on HAM10000 with --audit and --filter-check",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="with --audit: the filter network's max_epochs (cross-fits run half)",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="with --audit: the decoded images and the pretrained trunk's "
        "features (default: the --ham-config's, .cache/noisyactive for "
        "pretrained; default_cache_dir() for the cpu images)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--filter-check", action="store_true")
    parser.add_argument("--table", action="store_true")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="why the estimate misses (noise_rate_diagnose.jsonl)",
    )
    parser.add_argument(
        "--crossfit-epochs",
        type=int,
        nargs="+",
        help="sweep the cross-fit's epochs instead (noise_rate_epochs.jsonl)",
    )
    parser.add_argument("--out", default=str(HERE / "results" / "noise_rate.jsonl"))
    args = parser.parse_args(argv)
    if args.n_train is None and not args.audit:
        args.n_train = 1500

    import torch

    from noisyactive.experiments import environment

    torch.set_num_threads(args.threads)
    command = "python benchmarks/bench_noise_rate.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    out = Path(args.out)
    if args.filter_check:
        out = out.with_name("noise_rate_filter.jsonl")
    if args.crossfit_epochs:
        out = out.with_name("noise_rate_epochs.jsonl")
    if args.diagnose:
        out = out.with_name("noise_rate_diagnose.jsonl")
    if args.audit:
        out = out.with_name("noise_rate_audit.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in out.open()] if out.exists() else []
    if args.table and args.audit:
        print(audit_table(rows) + "\n\n" + audit_summary(rows))
        return 0
    if args.table:
        print(table(rows))
        return 0
    if args.audit:
        return run_audit(args, out, rows, command)
    if args.diagnose:
        done = {(r["setting"], r["seed"]) for r in rows}
        for name in args.settings:
            for seed in args.seeds:
                if (name, seed) not in done:
                    row = diagnose(name, seed, args)
                    with out.open("a") as fh:
                        fh.write(json.dumps(dict(row, command=command)) + "\n")
                    rows.append(row)
        print(diagnose_table(rows))
        return 0
    if args.crossfit_epochs:
        done = {(r["setting"], r["seed"], r["crossfit_epochs"]) for r in rows}
        for name in args.settings:
            for epochs in args.crossfit_epochs:
                for seed in args.seeds:
                    if (name, seed, epochs) in done:
                        continue
                    row = epochs_sweep(name, seed, epochs, args)
                    print(json.dumps(row), flush=True)
                    with out.open("a") as fh:
                        fh.write(json.dumps(dict(row, command=command)) + "\n")
                    rows.append(row)
        for name in args.settings:
            for epochs in args.crossfit_epochs:
                sub = [
                    r
                    for r in rows
                    if r["setting"] == name and r["crossfit_epochs"] == epochs
                ]
                err = np.abs([r["crossfit_error"] for r in sub])
                mae = np.mean([r["crossfit_class_mae"] for r in sub])
                print(
                    f"{name} epochs={epochs}: mean |error| {err.mean():.3f}, "
                    f"worst {err.max():.3f}, class MAE {mae:.3f} ({len(sub)} seeds)"
                )
        return 0
    for seed in args.seeds:
        if args.filter_check:
            done = {
                r["selection"]
                for r in rows
                if r["seed"] == seed and r.get("ham_config", "cpu") == args.ham_config
            }
            new = filter_check(seed, args, done)
        else:
            new = []
            for name in args.settings:
                if any(r["setting"] == name and r["seed"] == seed for r in rows):
                    continue
                row = run_one(name, seed, args)
                print(
                    f"{name} seed={seed}: realised {row['realised']:.3f}, cross-fit "
                    f"{row['crossfit']:.3f} (class MAE "
                    f"{row['crossfit_class_mae']:.3f}), mixture {row['mixture']:.3f} "
                    f"(class MAE {row['mixture_class_mae']:.3f})",
                    flush=True,
                )
                new.append(row)
                with out.open("a") as fh:
                    fh.write(
                        json.dumps(
                            dict(row, command=command, environment=environment()),
                            default=str,
                        )
                        + "\n"
                    )
            continue
        with out.open("a") as fh:
            for row in new:
                fh.write(
                    json.dumps(
                        dict(row, command=command, environment=environment()),
                        default=str,
                    )
                    + "\n"
                )
        rows += new
    rows = [json.loads(line) for line in out.open()] if out.exists() else []
    if not args.filter_check:
        print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
