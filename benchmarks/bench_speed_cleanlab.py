"""Time to a clean mask: NoisyLabelFilter (CT, CT+VOG) against cleanlab.

Question 2 of ``benchmarks/bench_speed.py`` (which runs it): on long-tailed noisy
digits (p = 0.4), the time to the mask, its precision, the recall of truly clean
samples of the three rarest classes, and the test macro-F1 of a ``NetClassifier``
trained on each kept subset (and on all noisy labels, and on the truly clean
ones), against cleanlab's ``CleanLearning`` (5-fold, the same module in
``NetClassifier``, the same epochs).
"""

import resource
import statistics
import time
import warnings

import numpy as np
from cleanlab.classification import CleanLearning

from noisyactive import NetClassifier, NoisyLabelFilter

__all__ = ["bench_clean_mask"]


def read_clocks(device):
    """(wall, CPU) seconds after a device synchronisation. CPU time is this
    process's plus its waited-for children's (cleanlab may fork workers)."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + children.ru_utime + (
        children.ru_stime
    )


def _median(values):
    return float(statistics.median(values))


def _mask_quality(mask, data, rare):
    y, y_true = data.y_train, data.y_train_true
    clean = y == y_true
    rec = {}
    for c in rare:
        members = clean & (y_true == c)
        rec[int(c)] = float((mask & members).sum() / max(members.sum(), 1))
    return {
        "n_kept": int(mask.sum()),
        "precision": float(clean[mask].mean()) if mask.any() else 0.0,
        "clean_recall": float((mask & clean).sum() / max(clean.sum(), 1)),
        "rare_clean_recall": rec,
    }


def _clean_mask_methods(cfg, common):
    return {
        "filter_ct": lambda s: NoisyLabelFilter(
            final_selection=None, random_state=s, **common
        ),
        "filter_ct_vog": lambda s: NoisyLabelFilter(
            mix_ratio=0.5,
            vog_normalize="class",
            final_selection=None,
            random_state=s,
            **common,
        ),
        "cleanlab": lambda s: CleanLearning(
            NetClassifier(random_state=s, **common), cv_n_folds=cfg["folds"], seed=s
        ),
    }


def _find_mask(name, est, X, y):
    if name == "cleanlab":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cleanlab's advice on psutil etc.
            return ~est.find_label_issues(X, y)["is_label_issue"].to_numpy()
    return est.fit(X, y).clean_mask_


def bench_clean_mask(cfg, device, clock, log):
    """Section 2: NoisyLabelFilter vs cleanlab's CleanLearning on noisy digits."""
    from sklearn.metrics import f1_score

    from noisyactive.datasets import make_noisy_digits

    common = dict(
        module="small_cnn",
        max_epochs=cfg["epochs"],
        batch_size=64,
        lr=0.05,
        augment=False,  # flipped digits are other digits
        device=device,
    )
    methods = _clean_mask_methods(cfg, common)
    rows = []
    for k, seed in enumerate(cfg["seeds"]):
        data = make_noisy_digits(noise_rate=0.4, balanced_eval=True, random_state=seed)
        X, y = data.X_train, data.y_train
        rare = np.argsort(np.bincount(data.y_train_true, minlength=10), kind="stable")
        rare = rare[:3]
        masks = {
            "all_noisy": np.ones(len(y), bool),
            "true_clean": y == data.y_train_true,
        }
        times = {}
        names = list(methods)
        for name in names[k % 3 :] + names[: k % 3]:  # interleaved order
            est = methods[name](seed)
            t0 = read_clocks(device)
            masks[name] = _find_mask(name, est, X, y)
            t1 = read_clocks(device)
            times[name] = {"mask_wall_s": t1[0] - t0[0], "mask_cpu_s": t1[1] - t0[1]}
            if name != "cleanlab":
                times[name]["forget_rate"] = est.forget_rate_
        for name, mask in masks.items():
            clf = NetClassifier(random_state=seed, **common).fit(X[mask], y[mask])
            f1 = f1_score(data.y_test, clf.predict(data.X_test), average="macro")
            row = {"seed": seed, "method": name, **times.get(name, {})}
            row.update(_mask_quality(mask, data, rare), test_macro_f1=float(f1))
            rows.append(row)
            log(
                f"  seed {seed} {name:<13} mask {row.get(f'mask_{clock}_s', 0):6.2f} "
                f"{clock} s, kept {row['n_kept']:4d}, precision {row['precision']:.3f}"
                f", macro-F1 {f1:.3f}, rare clean recall {row['rare_clean_recall']}"
            )
    summary = {}
    for name in ["filter_ct", "filter_ct_vog", "cleanlab", "all_noisy", "true_clean"]:
        sel = [r for r in rows if r["method"] == name]
        f1s = [r["test_macro_f1"] for r in sel]
        summary[name] = {
            f"mask_{c}_s_median": _median([r.get(f"mask_{c}_s", 0.0) for r in sel])
            for c in ("wall", "cpu")
        }
        summary[name].update(
            precision_mean=float(np.mean([r["precision"] for r in sel])),
            clean_recall_mean=float(np.mean([r["clean_recall"] for r in sel])),
            rare_clean_recall_mean=float(
                np.mean([np.mean(list(r["rare_clean_recall"].values())) for r in sel])
            ),
            test_macro_f1_mean=float(np.mean(f1s)),
            test_macro_f1_std=float(np.std(f1s)),
        )
    ratios = {}
    cl = summary["cleanlab"]
    for name in ("filter_ct", "filter_ct_vog"):
        for c in ("wall", "cpu"):
            key = f"mask_{c}_s_median"
            ratios[f"{name}_{c}_time_over_cleanlab"] = summary[name][key] / cl[key]
        ratios[f"{name}_time_over_cleanlab"] = ratios[
            f"{name}_{clock}_time_over_cleanlab"
        ]
        ratios[f"{name}_f1_minus_cleanlab"] = (
            summary[name]["test_macro_f1_mean"] - cl["test_macro_f1_mean"]
        )
    return {
        "data": "make_noisy_digits(noise_rate=0.4, balanced_eval=True): long-tailed "
        "training split (imbalance 15, 438 images 1x8x8), balanced test split",
        "settings": {**common, "cv_n_folds": cfg["folds"], "seeds": cfg["seeds"]},
        "clock": clock,
        "rare_classes": "the 3 classes with the fewest training samples, per seed",
        "rows": rows,
        "summary": summary,
        "ratios": ratios,
    }


# --- section 3: query cost -----------------------------------------------------------
