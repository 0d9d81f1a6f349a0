"""The report of a closed round: validation score, ``on_round_end``, a line.

A round is reported once: the state counts the reported entries
(``n_reported``), so a report cut short by a kill is made again on resume.
"""

from noisyactive.active._training import macro_f1

__all__ = ["report_round"]


def report_round(campaign, entry, validation, *, score=macro_f1):
    """Validation score of the current classifier, ``on_round_end``, then
    the state saying the round was reported (a report cut short by a
    kill is made again on resume)."""
    p = campaign.cleaner
    if validation is not None and campaign.classifier is not None:
        entry["val_macro_f1"] = score(campaign.classifier, validation)
    if p.on_round_end is not None:
        p.on_round_end(p, entry)
    campaign.state.n_reported += 1
    campaign.save()
    kind = entry.get("kind", "round" if entry["round"] else "start")
    if p.verbose and kind != "start":
        what = f"round {entry['round']}/{p.n_rounds}"
        what = "audit" if kind == "audit" else what
        line = (
            f"[ActiveLabelCleaner] {what}: "
            f"asked {entry['n_queried']}, answered {entry['n_returned']}, "
            f"changed {entry['n_changed']}, budget {entry['budget_used']}/"
            f"{campaign.budget_total()}"
        )
        if entry.get("val_macro_f1") is not None:
            line += f", val macro-F1 {entry['val_macro_f1']:.4f}"
        if entry.get("noise_rate_interval") is not None:
            line += ", noise rate {:.3f} [{:.3f}, {:.3f}]".format(
                entry["noise_rate"], *entry["noise_rate_interval"]
            )
        print(line)
