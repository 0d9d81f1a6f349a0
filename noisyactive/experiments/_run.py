"""Running the paper's experiment protocol on one dataset and seed."""

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
import torch

from noisyactive._version import __version__
from noisyactive.active import SimulatedOracle
from noisyactive.active._state import resolve_batch_size
from noisyactive.config._schema import as_config
from noisyactive.experiments._data import load_experiment_data
from noisyactive.experiments._methods import (
    AUDIT_SHARE,
    METHODS,
    RESCORED_VARIANTS,
    ALCCoTeaching,
    ALCTrainer,
    AuditedCoTeaching,
    PrefitMask,
    RecordingOracle,
    TestCurve,
    duplicate_methods,
    evaluate,
    make_classifier,
    make_cleaner,
    make_filter,
    vog_off,
)

__all__ = ["run_experiment", "selection_stats", "environment", "round_budget"]


def environment():
    """Versions, device, machine and its load: the one record every benchmark
    result carries."""
    import skorch

    device = "cpu"
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "noisyactive": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(load[0], 2),
        "machine": platform.machine(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pid": os.getpid(),
    }


def round_budget(budget, n_train):
    """Labels per round exactly as :class:`ActiveLabelCleaner` (and so
    ``noisyactive run``) rounds ``batch_size``: an int as given, a share
    rounded up."""
    return resolve_batch_size(budget, n_train)


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


def _fit_filter(filt, data, labels):
    return filt.fit(data.X_train, labels, X_val=data.X_val, y_val=data.y_val)


def _run_alc(config, data, seed, first, make_curve):
    """ALC with Co-teaching (Bernhardt et al. 2022, as the paper adapts it),
    run by :class:`ActiveLabelCleaner` like every method: ``start="noisy"``
    (every sample not yet relabeled is a candidate, the model is trained on
    all samples with their current labels), Bernhardt et al.'s score
    (``"label_cleaning_ambiguity"``) and, as the model, the round's
    Co-teaching filter (:class:`ALCCoTeaching`, trained as
    :class:`ALCTrainer` says); the test curve is recorded by ``on_round_end``.
    """
    oracle = RecordingOracle(SimulatedOracle(data.y_train_true))
    trainer = ALCTrainer(
        config, seed, first, data.y_train, data.y_train_true, data.classes, oracle
    )
    curve = make_curve()
    cleaner = make_cleaner(
        curve,
        estimator=PrefitMask(None, None),
        classifier=ALCCoTeaching(trainer),
        query_strategy="label_cleaning_ambiguity",
        oracle=oracle,
        batch_size=config.budget_per_round,
        n_rounds=config.n_rounds,
        refit="scratch",  # the trainer fine-tunes or retrains as configured
        start="noisy",
        random_state=seed,
    )
    cleaner.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val)
    return curve.rows


def _run_audited(config, data, seed, first, strategy, curve, final_selection=None):
    """``ct_audit_entropy`` (``ct_audit_gmm_entropy``: with that
    ``final_selection``): an audit of one round's budget (stratified, the
    true labels answering), phase 1 refit at the combined rates, then the
    other ``n_rounds - 1`` rounds; returns the test curve and what the audit
    estimated."""
    a = round_budget(config.budget_per_round, len(data.y_train))
    cleaner = make_cleaner(
        curve,
        estimator=AuditedCoTeaching.around(first, config, seed, final_selection),
        classifier=make_classifier(config, seed),
        query_strategy=strategy,
        oracle=SimulatedOracle(data.y_train_true),
        batch_size=config.budget_per_round,
        n_rounds=config.n_rounds - 1,
        audit_size=a,
        refit_after_audit=True,
        refit=config.refit,
        refit_epochs=config.refit_epochs,
        start="filter",
        random_state=seed,
    )
    cleaner.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val)
    entry = cleaner.history_[0]
    audit = {
        "audit_size": a,
        "prior_noise_rate": entry.get("prior_noise_rate"),
        "noise_rate": entry.get("noise_rate"),
        "noise_rate_interval": entry.get("noise_rate_interval"),
        "refit_forget_rate": entry.get("refit_forget_rate"),
        "refit": selection_stats(
            cleaner.estimator_.clean_mask_, data.y_train, data.y_train_true,
            data.classes,
        ),
    }  # fmt: skip
    return curve.rows, audit


def cleanlab_mask(config, data, seed):
    """cleanlab's ``find_label_issues(filter_by="prune_by_class")`` on
    out-of-sample probabilities from cross-validating the phase-1 network."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cv = StratifiedKFold(config.cleanlab_folds, shuffle=True, random_state=seed)
    clf = make_classifier(config, seed, epochs=config.epochs)
    classes, y_enc = np.unique(data.y_train, return_inverse=True)
    proba = cross_val_predict(clf, data.X_train, y_enc, cv=cv, method="predict_proba")
    issues = find_label_issues(y_enc, proba, filter_by="prune_by_class")
    return ~np.asarray(issues, dtype=bool)


def _phase1(config, data, seed, variant, noise_rate):
    t = time.perf_counter()
    if variant == "cleanlab":
        mask, filt = cleanlab_mask(config, data, seed), None
    else:
        filt = _fit_filter(
            make_filter(config, variant, seed, noise_rate), data, data.y_train
        )
        mask = filt.clean_mask_
    stats = selection_stats(mask, data.y_train, data.y_train_true, data.classes)
    stats["wall_s"] = time.perf_counter() - t
    if filt is not None:
        stats.update(
            forget_rate=filt.forget_rate_,
            forget_rate_source=str(config.forget_rate),
            filter_test=evaluate(filt, data.X_test, data.y_test, data.classes),
            params={
                k: repr(v) for k, v in filt.get_params().items() if k != "optimizer"
            },
        )
    return stats, mask, filt


def _rescored(filt, data, variant):
    """A rescored phase-1 variant (``RESCORED_VARIANTS``) of the fitted
    Co-teaching filter ``filt``: its clean mask and selection statistics."""
    t, rule = time.perf_counter(), RESCORED_VARIANTS[variant]
    mask, _ = filt.rescore(data.X_train, rule)
    stats = selection_stats(mask, data.y_train, data.y_train_true, data.classes)
    stats.update(
        wall_s=time.perf_counter() - t,
        forget_rate=filt.forget_rate_,
        final_selection=str(getattr(rule, "name", rule)),
    )
    return stats, mask


class _Partial:
    """Per-method results of one seed written to a JSON file as they finish, so
    an interrupted seed resumes after its last finished method."""

    def __init__(self, path):
        self.path = None if path is None else Path(path)
        self.done = {}
        if self.path is not None and self.path.is_file():
            self.done = json.loads(self.path.read_text())

    def get(self, key):
        return self.done.get(key)

    def put(self, key, value):
        self.done[key] = value
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.done, default=str))
            os.replace(tmp, self.path)


def run_experiment(
    config, *, seed=0, methods=None, log=print, phase1=True, partial=None
):
    """All requested methods on one seed; returns a JSON-ready dict.

    ``phase1=True`` also fits the Co-teaching variants of the Table-1
    comparison (with and without VOG) when no method needs them;
    ``partial`` is a JSON file where finished parts are kept (resume).
    """
    t_start = time.perf_counter()
    config = as_config(config)
    if methods is None:
        methods = list(METHODS) if config.methods is None else config.methods
    methods = list(methods)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"Unknown methods {unknown}; known: {sorted(METHODS)}.")
    dropped = duplicate_methods(methods, config)
    methods = [m for m in methods if m not in dropped]
    data = load_experiment_data(config, seed)
    if data.y_train_true is None:
        raise ValueError(
            "These data carry no true training labels, so the simulated oracle "
            "cannot answer; use `noisyactive run` with an oracle instead."
        )
    noise_rate = float(config.noise_rate)
    n_rounds = config.n_rounds
    a = round_budget(config.budget_per_round, len(data.y_train))
    done = _Partial(partial)
    out = {
        "seed": seed,
        "config": config.given,
        "environment": environment(),
        "n_train": int(len(data.y_train)),
        "classes": [str(c) for c in data.classes],
        "train_class_counts": [
            int((data.y_train_true == c).sum()) for c in data.classes
        ],
        "realised_noise_rate": float(np.mean(data.y_train != data.y_train_true)),
        "budget_per_round": a,
        "duplicates_dropped": dropped,
        "methods": {},
        "selection": {},
    }

    out["reference"] = done.get("reference")
    if out["reference"] is None:
        t = time.perf_counter()
        ref = make_classifier(config, seed).fit(
            data.X_train, data.y_train_true, X_val=data.X_val, y_val=data.y_val
        )
        out["reference"] = dict(
            evaluate(ref, data.X_test, data.y_test, data.classes),
            wall_s=time.perf_counter() - t,
            best_epoch=ref.best_epoch_,
        )
        done.put("reference", out["reference"])
    log(f"clean-label reference: test macro-F1 {out['reference']['macro_f1']:.3f}")

    variants = {METHODS[m][0] for m in methods} - {None}
    if phase1:  # the Table-1 comparison; at m = 0 "CT-VOG" is CT
        variants |= {"ct"} if vog_off(config) else {"ct", "ct_vog"}
    if variants & set(RESCORED_VARIANTS):
        variants.add("ct")
    # Plain Co-teaching's filter object is needed (refit even if its stats are
    # saved) by ALC and by the rescored variants not yet done.
    needs_ct = any(
        METHODS[m][1] in ("alc", "audit") and not done.get(f"method/{m}")
        for m in methods
    )
    needs_ct |= any(
        not done.get(f"phase1/{v}") for v in variants & set(RESCORED_VARIANTS)
    )
    masks, filters = {}, {}
    # "ct" sorts before its rescored variants "ct_*"
    for variant in sorted(variants):
        saved = done.get(f"phase1/{variant}")
        if saved is not None and not (variant == "ct" and needs_ct):
            out["selection"][variant], masks[variant] = saved, np.array(saved["mask"])
        else:
            if variant in RESCORED_VARIANTS:
                stats, mask = _rescored(filters["ct"], data, variant)
            else:
                stats, mask, filters[variant] = _phase1(
                    config, data, seed, variant, noise_rate
                )
            stats["mask"] = np.asarray(mask, dtype=int).tolist()
            out["selection"][variant], masks[variant] = stats, np.asarray(mask, bool)
            done.put(f"phase1/{variant}", stats)
        s = out["selection"][variant]
        log(
            f"phase 1 [{variant}]: kept {s['n_kept']}, precision "
            f"{s['precision']:.3f}, {s['wall_s']:.0f}s"
        )

    for method in methods:
        saved = done.get(f"method/{method}")
        if saved is not None:
            out["methods"][method] = saved
            continue
        variant, start, strategy, refit = METHODS[method]
        t = time.perf_counter()
        if start == "audit":
            curve, audit = _run_audited(
                config, data, seed, filters["ct"], strategy,
                TestCurve(data.X_test, data.y_test, data.classes),
                RESCORED_VARIANTS.get(variant),
            )  # fmt: skip
        elif start == "alc":
            curve = _run_alc(
                config,
                data,
                seed,
                filters["ct"],
                lambda: TestCurve(data.X_test, data.y_test, data.classes),
            )
        else:
            classifier = make_classifier(config, seed)
            curve = TestCurve(data.X_test, data.y_test, data.classes)
            cleaner = make_cleaner(
                curve,
                estimator=PrefitMask(masks.get(variant), classifier),
                classifier=classifier,
                query_strategy=strategy,
                oracle=SimulatedOracle(data.y_train_true),
                batch_size=config.budget_per_round,
                n_rounds=n_rounds,
                refit=refit or config.refit,
                refit_epochs=config.refit_epochs,
                start=start,
                audit_share=AUDIT_SHARE.get(method, 0.0),
                random_state=seed,
            )
            cleaner.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val)
            curve = curve.rows
        out["methods"][method] = {"curve": curve, "wall_s": time.perf_counter() - t}
        if start == "audit":
            out["methods"][method]["audit"] = audit
        done.put(f"method/{method}", out["methods"][method])
        last = curve[-1] if curve else {"macro_f1": float("nan"), "labels_used": 0}
        log(
            f"{method}: test macro-F1 {last['macro_f1']:.3f} after "
            f"{last['labels_used']} labels ({out['methods'][method]['wall_s']:.0f}s)"
        )
    for stats in out["selection"].values():
        stats.pop("mask", None)
    out["wall_s"] = time.perf_counter() - t_start
    return out
