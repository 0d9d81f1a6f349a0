"""The note added to an error that interrupted a round: what was kept, and
how to resume."""

import os

from noisyactive.active._files import JOURNAL_FILE

__all__ = ["note_failure"]


def note_failure(campaign, exc, round_, kept=0, completed=None):
    s = campaign.state
    completed = s.budget_used if completed is None else completed
    note = (
        f"ActiveLabelCleaner: round {round_} did not complete; the "
        f"{s.n_rounds} completed rounds ({completed} labels) "
    )
    if kept:
        note += f"and the {kept} valid answers of round {round_} "
    note += "are kept in the estimator's labels_"
    if campaign.folder is not None:
        note += f" and in the checkpoint {os.fspath(campaign.folder)!r} "
        note += f"(answers journaled in {JOURNAL_FILE}); fit again with the "
        note += "same checkpoint to resume."
    if hasattr(exc, "add_note"):
        exc.add_note(note)
