"""Tables, plots and JSON of experiment results."""

import json
import math
import textwrap
from pathlib import Path

import numpy as np

from noisyactive.experiments._methods import method_label, vog_name

__all__ = [
    "format_curve_table",
    "format_selection_table",
    "mean_std",
    "reaches",
    "summarize",
    "write_report",
]


def variant_names(config):
    """Display names of the phase-1 variants, saying which VOG and which m."""
    vog = vog_name(config or {})
    return {
        "ct": "Co-teaching (m = 0)",
        "ct_vog": f"Co-teaching + {vog}",
        "cq": "class quota (m = 0)",
        "cq_vog": f"class quota + {vog}",
        "cleanlab": "cleanlab prune_by_class (cross-validated)",
        "ct_knn": "Co-teaching (m = 0), kNN label agreement",
        "ct_gmm": "Co-teaching (m = 0), per-class loss mixture",
        "ct_cj": "Co-teaching (m = 0), cleanlab prune_by_class on its cross-fit",
    }


_ORDER = ["ct", "ct_vog", "cq", "cq_vog", "ct_knn", "ct_gmm", "ct_cj", "cleanlab"]


def mean_std(values):
    """``(mean, sample std (ddof=1), n)`` of the finite values; std is NaN for
    fewer than two."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    std = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    return float(v.mean()), std, int(v.size)


def reaches(rounds, reference):
    """Labels at the first round whose mean - std clears the clean-label mean
    (None: not reached; one seed cannot clear it)."""
    for row in rounds:
        mean, std, n = row["macro_f1"]
        if n > 1 and math.isfinite(std) and mean - std >= reference:
            return row["labels_used"]
    return None


def summarize(results):
    """Aggregate per-seed results: mean, sample std and n per method and round."""
    config = results[0].get("config", {})
    methods = list(results[0]["methods"])
    ref = mean_std([r["reference"]["macro_f1"] for r in results])
    summary = {
        "n_seeds": len(results),
        "seeds": [r.get("seed") for r in results],
        "reference": ref,
        "methods": {},
        "selection": {},
        "labels": {m: method_label(m, config) for m in methods},
        "variant_names": variant_names(config),
    }
    for m in methods:
        curves = [r["methods"][m]["curve"] for r in results if m in r["methods"]]
        n = min(len(c) for c in curves)
        rounds = []
        for i in range(n):
            f1 = mean_std([c[i]["macro_f1"] for c in curves])
            used = mean_std([c[i]["labels_used"] for c in curves])
            wall = mean_std([c[i].get("wall_s", float("nan")) for c in curves])
            rounds.append({"labels_used": used[0], "macro_f1": f1, "wall_s": wall})
        summary["methods"][m] = {
            "rounds": rounds,
            "reaches_reference_at": reaches(rounds, ref[0]),
            "wall_s": mean_std([r["methods"][m]["wall_s"] for r in results]),
        }
    for variant in results[0]["selection"]:
        sel = [r["selection"][variant] for r in results]
        summary["selection"][variant] = {
            "precision": mean_std([s["precision"] for s in sel]),
            "n_kept": mean_std([s["n_kept"] for s in sel]),
            "recall_clean": mean_std([s["recall_clean"] for s in sel]),
            "recall_per_class": [
                mean_std([s["recall_per_class"][c] for s in sel])
                for c in range(len(sel[0]["recall_per_class"]))
            ],
            "filter_test_f1": mean_std(
                [s.get("filter_test", {}).get("macro_f1", float("nan")) for s in sel]
            ),
            "forget_rate": mean_std([s.get("forget_rate", float("nan")) for s in sel]),
            "wall_s": mean_std([s["wall_s"] for s in sel]),
        }
    return summary


def _fmt(ms, digits=3):
    """``mean ± std (n = k)``; one value prints no ±."""
    mean, std, n = ms
    if not math.isfinite(mean):
        return "–"
    if n < 2 or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _n_note(summary):
    n = summary.get("n_seeds", 1)
    if n < 2:
        return "One seed: no spread is shown (it needs several seeds)."
    return f"± is the sample standard deviation (ddof = 1) over n = {n} seeds."


def format_curve_table(summary):
    """Markdown table: test macro-F1 per round (rows) and method (columns)."""
    methods = list(summary["methods"])
    if not methods:
        return "(phase 1 only: no relabeling rounds were run)"
    n = max(len(summary["methods"][m]["rounds"]) for m in methods)
    labels = summary.get("labels", {})
    head = "| labels relabeled | " + " | ".join(labels.get(m, m) for m in methods)
    lines = [head + " |", "|" + "---|" * (len(methods) + 1)]
    for i in range(n):
        cells, used = [], None
        for m in methods:
            rounds = summary["methods"][m]["rounds"]
            offset = n - len(rounds)  # AL-only has no round-0 model
            j = i - offset
            if j < 0:
                cells.append("–")
                continue
            used = rounds[j]["labels_used"]
            cells.append(_fmt(rounds[j]["macro_f1"]))
        lines.append(f"| {used:.0f} | " + " | ".join(cells) + " |")
    reach = []
    for m in methods:
        at = summary["methods"][m]["reaches_reference_at"]
        reach.append("not reached" if at is None else f"{at:.0f}")
    lines.append(
        "| reaches clean-label F1 (mean − std) at | " + " | ".join(reach) + " |"
    )
    lines.append(
        f"\nClean-label reference (same classifier on true labels): test macro-F1 "
        f"{_fmt(summary['reference'])}. Test macro-F1 at the best-validation epoch "
        f"of every training. {_n_note(summary)}"
    )
    return "\n".join(lines)


def format_selection_table(summary, classes, rare=None):
    """Markdown table: phase-1 selection precision and per-class clean recall."""
    names = summary.get("variant_names") or variant_names({})
    cols = list(classes) if rare is None else list(rare)
    idx = [list(classes).index(c) for c in cols]
    head = "| phase 1 | kept | precision | clean recall | " + " | ".join(
        f"recall {c}" for c in cols
    )
    lines = [head + " | filter test F1 |", "|" + "---|" * (len(cols) + 5)]
    ordered = sorted(summary["selection"], key=_ORDER.index)
    for variant in ordered:
        s = summary["selection"][variant]
        cells = [_fmt(s["recall_per_class"][i], 2) for i in idx]
        lines.append(
            f"| {names.get(variant, variant)} | {s['n_kept'][0]:.0f} | "
            f"{_fmt(s['precision'])} | {_fmt(s['recall_clean'], 2)} | "
            + " | ".join(cells)
            + f" | {_fmt(s['filter_test_f1'])} |"
        )
    lines.append(f"\n{_n_note(summary)}")
    return "\n".join(lines)


def plot_curves(summary, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    for m, info in summary["methods"].items():
        x = [r["labels_used"] for r in info["rounds"]]
        y = np.array([r["macro_f1"][0] for r in info["rounds"]])
        s = np.array([r["macro_f1"][1] for r in info["rounds"]])
        label = summary.get("labels", {}).get(m, m)
        line = ax.plot(x, y, marker="o", ms=3, label=label)[0]
        if np.isfinite(s).all():  # a band needs several seeds
            ax.fill_between(x, y - s, y + s, color=line.get_color(), alpha=0.12)
    ref = summary["reference"][0]
    ax.axhline(ref, color="k", ls="--", lw=1, label=f"clean labels ({ref:.3f})")
    ax.set_xlabel("labels relabeled by the oracle")
    ax.set_ylabel("test macro-F1")
    ax.set_title(textwrap.fill(title, 70), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_selection(summary, classes, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = sorted(summary["selection"], key=_ORDER.index)
    names = summary.get("variant_names") or variant_names({})
    k = len(classes)
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * k + 2), 4.2))
    for i, v in enumerate(variants):
        s = summary["selection"][v]
        mean = [r[0] for r in s["recall_per_class"]]
        std = np.nan_to_num([r[1] for r in s["recall_per_class"]])
        label = f"{names.get(v, v)} (precision {s['precision'][0]:.2f})"
        ax.bar(np.arange(k) + i * width, mean, width, yerr=std, label=label, capsize=2)
    ax.set_xticks(np.arange(k) + width * (len(variants) - 1) / 2)
    ax.set_xticklabels([str(c) for c in classes])
    ax.set_xlabel("class")
    ax.set_ylabel("recall of truly clean samples kept")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(results, out_dir, *, title):
    """Write ``results.json``, ``curves.png``, ``selection.png`` and
    ``tables.md`` to ``out_dir``; returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    classes = results[0]["classes"]
    (out / "results.json").write_text(
        json.dumps({"runs": results, "summary": summary}, indent=1, default=str)
    )
    if summary["methods"]:
        plot_curves(summary, out / "curves.png", title)
    plot_selection(
        summary,
        classes,
        out / "selection.png",
        "Phase 1: per-class recall of truly clean samples",
    )
    tables = (
        format_curve_table(summary) + "\n\n" + format_selection_table(summary, classes)
    )
    (out / "tables.md").write_text(tables + "\n")
    return summary
