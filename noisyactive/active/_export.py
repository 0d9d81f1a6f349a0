"""The export of a campaign: one row per training sample, cleanlab's columns
plus the expert's record.

Columns (:data:`EXPORT_COLUMNS`):

``index``, ``path``
    The sample (``path`` as the campaign stores it; empty for arrays).
``given_label``, ``final_label``
    The label the data came with and the label after the campaign.
``source``
    Who decided the final label:

    - ``confirmed`` / ``corrected``: an expert answered a sample phase 1
      doubted, keeping / changing the given label;
    - ``audit-confirmed`` / ``audit-corrected``: the same for a sample
      phase 1 kept (an audit);
    - ``abstained``: the expert was not sure; the given label stays;
    - ``unreviewed-suspect``: nobody reviewed it and the final model
      disagrees with its label (``is_label_issue``);
    - ``kept``: phase 1 kept it, nobody reviewed it, the final model agrees;
    - ``unreviewed``: phase 1 doubted it, nobody reviewed it, the final
      model agrees with its label.
``round``
    The round of the expert's answer (empty for none).
``label_quality``
    How much the final label can be trusted, in [0, 1]: 1 where an expert
    gave it, else the final model's probability of it (cleanlab's
    self-confidence). Sort by it to review the least trustworthy first.
``suggested_label``, ``suggested_confidence``
    The final model's most probable class and its probability.
``is_label_issue``
    Whether the row is still a suspected label issue: not reviewed by an
    expert and the final model suggests another label (without a model:
    phase 1 doubted it).

With several annotators (a consensus rule, or more than one annotator) the
export adds ``consensus`` (the consensus label; empty where none or a tie),
``agreement`` (the share of the sample's answers agreeing with it),
``n_answers`` and one ``answer:<annotator>`` column per annotator (their
latest answer; ``not sure`` for an abstention, empty when not asked).

The model's columns are empty when no classifier can score the data (a
campaign fitted on arrays exported without ``X``).
"""

import numpy as np

from noisyactive.active._annotators import consensus_fit, latest_answers, table
from noisyactive.active._models import model_proba
from noisyactive.active._open import write_csv

__all__ = ["EXPORT_COLUMNS", "export_rows", "write_export"]

EXPORT_COLUMNS = (
    "index",
    "path",
    "given_label",
    "final_label",
    "source",
    "round",
    "label_quality",
    "suggested_label",
    "suggested_confidence",
    "is_label_issue",
)


def export_rows(campaign, X=None):
    """The export as a dict of equal-length columns (see the module doc)."""
    s = campaign.state
    n = s.labels.shape[0]
    proba = model_proba(campaign, X)
    reviewed = s.relabeled
    same = s.labels == s.y_noisy
    if proba is not None:
        suggested = proba.argmax(1)
        quality = proba[np.arange(n), s.labels]
        issue = ~reviewed & (suggested != s.labels)
    else:
        issue = ~reviewed & ~s.initial_clean
    source = np.where(s.initial_clean, "kept", "unreviewed").astype(object)
    source[issue] = "unreviewed-suspect"
    source[s.abstained] = "abstained"
    audit = reviewed & s.initial_clean
    source[reviewed & ~audit] = np.where(same, "confirmed", "corrected")[
        reviewed & ~audit
    ]
    source[audit] = np.where(same, "audit-confirmed", "audit-corrected")[audit]
    empty = [""] * n
    columns = {
        "index": np.arange(n).tolist(),
        "path": empty if s.input_paths is None else [str(p) for p in s.input_paths],
        "given_label": s.classes[s.y_noisy].tolist(),
        "final_label": s.classes[s.labels].tolist(),
        "source": source.tolist(),
        "round": [int(r) or "" for r in s.answer_round.tolist()],
        "label_quality": empty,
        "suggested_label": empty,
        "suggested_confidence": empty,
        "is_label_issue": issue.tolist(),
    }
    if proba is not None:
        quality = np.where(reviewed, 1.0, quality)
        columns["label_quality"] = [f"{q:.4f}" for q in quality.tolist()]
        columns["suggested_label"] = s.classes[suggested].tolist()
        columns["suggested_confidence"] = [f"{c:.4f}" for c in proba.max(1).tolist()]
    if s.several_annotators():
        columns.update(annotator_columns(s))
    return columns


def annotator_columns(state):
    """``consensus``, ``agreement``, ``n_answers``, ``answer:<name>``..."""
    fit = consensus_fit(state)
    cons, agree = fit["consensus"], fit["agreement"]
    t = table(state)
    valid = t["label"] >= 0
    counts = np.bincount(t["index"][valid], minlength=state.labels.shape[0])
    out = {
        "consensus": [state.classes[c] if c >= 0 else "" for c in cons.tolist()],
        "agreement": ["" if a != a else f"{a:.4f}" for a in agree.tolist()],
        "n_answers": counts.tolist(),
    }
    for name in state.annotators:
        latest = latest_answers(state, name)
        asked = np.zeros(latest.size, dtype=bool)
        code = state.annotators.index(name)
        asked[t["index"][t["annotator"] == code]] = True
        out[f"answer:{name}"] = [
            state.classes[v] if v >= 0 else ("not sure" if a else "")
            for v, a in zip(latest.tolist(), asked.tolist())
        ]
    return out


def write_export(campaign, path, X=None):
    """Write :func:`export_rows` as a CSV (atomically)."""
    columns = export_rows(campaign, X)
    names = list(columns)  # EXPORT_COLUMNS, then any annotator columns
    rows = zip(*(columns[name] for name in names))
    write_csv(path, names, rows)
