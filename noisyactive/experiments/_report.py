"""Tables, plots and JSON of experiment results."""

import json
import math
import textwrap
from pathlib import Path

import numpy as np

from noisyactive.experiments._methods import LABELS

__all__ = ["summarize", "format_curve_table", "format_selection_table", "write_report"]


VARIANT_NAMES = {
    "ct": "Co-teaching (m = 0)",
    "ct_vog": "Co-teaching + VOG",
    "cq": "class quota (m = 0)",
    "cq_vog": "class quota + VOG",
}


def _mean_std(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std())


def summarize(results):
    """Aggregate per-seed results: mean and std per method and round."""
    methods = list(results[0]["methods"])
    ref = _mean_std([r["reference"]["macro_f1"] for r in results])
    summary = {"reference": ref, "methods": {}, "selection": {}}
    for m in methods:
        curves = [r["methods"][m]["curve"] for r in results]
        n = min(len(c) for c in curves)
        rounds = []
        for i in range(n):
            f1 = _mean_std([c[i]["macro_f1"] for c in curves])
            used = _mean_std([c[i]["labels_used"] for c in curves])
            rounds.append({"labels_used": used[0], "macro_f1": f1})
        reached = None
        for row in rounds:
            if row["macro_f1"][0] >= ref[0]:
                reached = row["labels_used"]
                break
        wall = _mean_std([r["methods"][m]["wall_s"] for r in results])
        summary["methods"][m] = {
            "rounds": rounds,
            "reaches_reference_at": reached,
            "wall_s": wall,
        }
    for variant in results[0]["selection"]:
        sel = [r["selection"][variant] for r in results]
        summary["selection"][variant] = {
            "precision": _mean_std([s["precision"] for s in sel]),
            "n_kept": _mean_std([s["n_kept"] for s in sel]),
            "recall_clean": _mean_std([s["recall_clean"] for s in sel]),
            "recall_per_class": [
                _mean_std([s["recall_per_class"][c] for s in sel])
                for c in range(len(sel[0]["recall_per_class"]))
            ],
            "filter_test_f1": _mean_std([s["filter_test"]["macro_f1"] for s in sel]),
            "forget_rate": _mean_std([s["forget_rate"] for s in sel]),
            "wall_s": _mean_std([s["wall_s"] for s in sel]),
        }
    return summary


def _fmt(ms, digits=3):
    mean, std = ms
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_curve_table(summary):
    """Markdown table: test macro-F1 per round (rows) and method (columns)."""
    methods = list(summary["methods"])
    if not methods:
        return "(phase 1 only: no relabeling rounds were run)"
    n = max(len(summary["methods"][m]["rounds"]) for m in methods)
    head = "| labels relabeled | " + " | ".join(LABELS.get(m, m) for m in methods)
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
    lines.append("| reaches clean-label F1 at | " + " | ".join(reach) + " |")
    lines.append(
        f"\nClean-label reference (same classifier on true labels): test macro-F1 "
        f"{_fmt(summary['reference'])}."
    )
    return "\n".join(lines)


def format_selection_table(summary, classes, rare=None):
    """Markdown table: phase-1 selection precision and per-class clean recall."""
    names = VARIANT_NAMES
    cols = list(classes) if rare is None else list(rare)
    idx = [list(classes).index(c) for c in cols]
    head = "| phase 1 | kept | precision | clean recall | " + " | ".join(
        f"recall {c}" for c in cols
    )
    lines = [head + " | filter test F1 |", "|" + "---|" * (len(cols) + 5)]
    ordered = sorted(summary["selection"], key=lambda v: list(VARIANT_NAMES).index(v))
    for variant in ordered:
        s = summary["selection"][variant]
        cells = [_fmt(s["recall_per_class"][i], 2) for i in idx]
        lines.append(
            f"| {names.get(variant, variant)} | {s['n_kept'][0]:.0f} | "
            f"{_fmt(s['precision'])} | {_fmt(s['recall_clean'], 2)} | "
            + " | ".join(cells)
            + f" | {_fmt(s['filter_test_f1'])} |"
        )
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
        line = ax.plot(x, y, marker="o", ms=3, label=LABELS.get(m, m))[0]
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

    variants = sorted(summary["selection"], key=lambda v: list(VARIANT_NAMES).index(v))
    k = len(classes)
    width = 0.8 / len(variants)
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * k + 2), 4.2))
    for i, v in enumerate(variants):
        s = summary["selection"][v]
        mean = [r[0] for r in s["recall_per_class"]]
        std = [r[1] for r in s["recall_per_class"]]
        label = f"{VARIANT_NAMES.get(v, v)} (precision {s['precision'][0]:.2f})"
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
