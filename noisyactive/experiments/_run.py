"""Running the paper's experiment protocol on one dataset and seed."""

import platform
import time

import numpy as np
import sklearn
import torch

from noisyactive._version import __version__
from noisyactive.active import SimulatedOracle
from noisyactive.experiments._data import load_experiment_data
from noisyactive.experiments._methods import (
    METHODS,
    PrefitMask,
    RecordingCleaner,
    evaluate,
    make_classifier,
    make_filter,
)
from noisyactive.query import get_query_strategy

__all__ = ["run_experiment", "selection_stats", "environment"]


def environment():
    """Versions, device and machine, recorded with every result."""
    import skorch

    device = "cpu"
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    return {
        "noisyactive": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }


def selection_stats(clean_mask, y_noisy, y_true, classes):
    """Precision of a clean mask and per-class recall of truly clean samples.

    A sample is truly clean when its noisy label equals its true label; the
    recall of class ``c`` is the share of class ``c``'s truly clean samples that
    the mask keeps (the paper's Table 1), ``share`` the share of kept samples
    labeled ``c``.
    """
    correct = y_noisy == y_true
    kept = np.asarray(clean_mask, dtype=bool)
    recall, share = [], []
    for c in classes:
        clean_c = correct & (y_true == c)
        recall.append(float(kept[clean_c].mean()) if clean_c.any() else float("nan"))
        share.append(float((y_noisy[kept] == c).mean()) if kept.any() else 0.0)
    return {
        "n_kept": int(kept.sum()),
        "precision": float(correct[kept].mean()) if kept.any() else float("nan"),
        "recall_clean": float(kept[correct].mean()) if correct.any() else float("nan"),
        "recall_per_class": recall,
        "share_per_class": share,
    }


def _run_alc(config, data, seed, noise_rate, budget, n_rounds):
    """ALC with Co-teaching (Bernhardt et al. 2022, adapted as in the paper):
    Co-teaching retrained every round on all samples with their current labels,
    relabeled ones included; samples ranked by the label-cleaning score."""
    strategy = get_query_strategy("label_cleaning")
    labels = data.y_train.copy()
    relabeled = np.zeros(len(labels), dtype=bool)
    cfg = dict(config, epochs=config.get("alc_epochs", config.get("epochs", 30)))
    rng = np.random.default_rng(seed)

    def fit_and_score(used):
        filt = make_filter(cfg, "ct", seed, noise_rate)
        filt.fit(data.X_train, labels, X_val=data.X_val, y_val=data.y_val)
        row = evaluate(filt, data.X_test, data.y_test, data.classes)
        row["labels_used"] = used
        curve.append(row)
        return filt

    curve, used = [], 0
    filt = fit_and_score(used)
    for _ in range(n_rounds):
        candidates = np.flatnonzero(~relabeled)
        n = min(budget, candidates.size)
        if n == 0:
            break
        idx, _ = strategy.rank(
            filt,
            data.X_train,
            candidates,
            n,
            labels=labels,
            labeled_mask=relabeled,
            random_state=int(rng.integers(2**31 - 1)),
        )
        labels[idx] = data.y_train_true[idx]
        relabeled[idx] = True
        used += idx.size
        filt = fit_and_score(used)
    return curve


def run_experiment(config, *, seed=0, methods=None, log=print):
    """All requested methods on one seed; returns a JSON-ready dict."""
    t_start = time.perf_counter()
    if methods is None:
        methods = config.get("methods", list(METHODS))
    methods = list(methods)  # [] runs phase 1 only (the selection table)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"Unknown methods {unknown}; known: {sorted(METHODS)}.")
    data = load_experiment_data(config, seed)
    if data.y_train_true is None:
        raise ValueError(
            "These data carry no true training labels, so the simulated oracle "
            "cannot answer; use `noisyactive run` with an oracle instead."
        )
    noise_rate = float(config.get("noise_rate", 0.4))
    n_rounds = int(config.get("n_rounds", 8))
    budget = config.get("budget_per_round", 0.028)
    a = int(round(budget * len(data.y_train))) if budget < 1 else int(budget)
    out = {
        "seed": seed,
        "config": config,
        "environment": environment(),
        "n_train": int(len(data.y_train)),
        "classes": [str(c) for c in data.classes],
        "train_class_counts": [
            int((data.y_train_true == c).sum()) for c in data.classes
        ],
        "realised_noise_rate": float(np.mean(data.y_train != data.y_train_true)),
        "budget_per_round": a,
        "methods": {},
        "selection": {},
    }

    t = time.perf_counter()
    ref = make_classifier(config, seed).fit(
        data.X_train, data.y_train_true, X_val=data.X_val, y_val=data.y_val
    )
    out["reference"] = dict(
        evaluate(ref, data.X_test, data.y_test, data.classes),
        wall_s=time.perf_counter() - t,
    )
    log(f"clean-label reference: test macro-F1 {out['reference']['macro_f1']:.3f}")

    variants = {METHODS[m][0] for m in methods} - {None}
    variants |= {"ct", "ct_vog"}  # the Table-1 comparison is always reported
    if config.get("class_quota") or any(m.startswith("cq") for m in methods):
        variants |= {"cq", "cq_vog"}
    masks = {}
    for variant in sorted(variants):
        t = time.perf_counter()
        filt = make_filter(config, variant, seed, noise_rate)
        filt.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val)
        stats = selection_stats(
            filt.clean_mask_, data.y_train, data.y_train_true, data.classes
        )
        stats.update(
            wall_s=time.perf_counter() - t,
            forget_rate=filt.forget_rate_,
            filter_test=evaluate(filt, data.X_test, data.y_test, data.classes),
            params={k: v for k, v in filt.get_params().items() if k != "optimizer"},
        )
        stats["params"] = {k: repr(v) for k, v in stats["params"].items()}
        out["selection"][variant] = stats
        masks[variant] = filt.clean_mask_
        log(
            f"phase 1 [{variant}]: kept {stats['n_kept']}, precision "
            f"{stats['precision']:.3f}, {stats['wall_s']:.0f}s"
        )

    for method in methods:
        variant, start, strategy = METHODS[method]
        t = time.perf_counter()
        if start == "alc":
            curve = _run_alc(config, data, seed, noise_rate, a, n_rounds)
        else:
            classifier = make_classifier(config, seed)
            cleaner = RecordingCleaner(
                test_data=(data.X_test, data.y_test),
                estimator=PrefitMask(masks.get(variant), classifier),
                classifier=classifier,
                query_strategy=strategy,
                oracle=SimulatedOracle(data.y_train_true),
                batch_size=a,
                n_rounds=n_rounds,
                refit=config.get("refit", "scratch"),
                refit_epochs=config.get("refit_epochs", 5),
                start=start,
                random_state=seed,
            )
            cleaner.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val)
            curve = cleaner.test_curve_
        out["methods"][method] = {"curve": curve, "wall_s": time.perf_counter() - t}
        last = curve[-1] if curve else {"macro_f1": float("nan"), "labels_used": 0}
        log(
            f"{method}: test macro-F1 {last['macro_f1']:.3f} after "
            f"{last['labels_used']} labels ({out['methods'][method]['wall_s']:.0f}s)"
        )
    out["wall_s"] = time.perf_counter() - t_start
    return out
