"""Corrected answers: an expert changes an answer already given.

Experts misclick. A correction (an *amendment*) of a sample the expert
relabeled (in the open round or an earlier one) is journaled as a new entry
of ``answers.jsonl`` -- the journal stays append-only, the later entry wins
-- marked ``"amendment": true`` and naming the entry it replaces
(``"amends"``: its ``seq`` for each index), who made it and when. Applied to
the state it changes the label (and the relabel log's ``new``), never the
budget: a correction is not a new label. A correction to "not sure" gives the
sample back its label from before the answer and marks it abstained (the label
returns to the budget). A correction of a round whose answers the classifier
was already retrained on marks the classifier for a refit (``needs_refit``).
"""

import datetime
import getpass
import os

import numpy as np

from noisyactive.active._annotators import (
    DEFAULT_ANNOTATOR,
    amend_table,
    answered_by,
    apply_consensus,
    latest_answers,
)
from noisyactive.active._errors import CheckpointCorruptedError
from noisyactive.active._journal import answer_entry, append_journal, read_journal
from noisyactive.active._state import LOG_FIELDS

__all__ = ["amend_answers", "apply_amendment"]


def _who():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _replaced(folder, campaign_id, indices):
    """The ``seq`` of the journal entry that last answered each index."""
    last = {}
    if folder is not None:
        for entry in read_journal(folder):
            if entry["campaign"] == campaign_id:
                for i in entry["indices"]:
                    last[i] = entry["seq"]
    return [last.get(int(i)) for i in indices]


def amend_answers(campaign, indices, encoded, annotator=DEFAULT_ANNOTATOR):
    """Journal and apply corrections of relabeled samples.

    ``encoded`` are positions in ``classes`` (-1: "not sure"). A correction
    that repeats the applied label is skipped. Call under the campaign's lock.

    Returns
    -------
    changed : ndarray of int
        The indices whose answer changed.
    """
    s = campaign.state
    idx = np.asarray(indices, dtype=np.intp)
    enc = np.asarray(encoded, dtype=np.intp)
    several = s.several_annotators()
    mine = answered_by(s, annotator) if several else s.relabeled
    if not mine[idx].all():
        raise ValueError(
            f"Samples {idx[~mine[idx]].tolist()} have no answer to correct."
        )
    current = latest_answers(s, annotator)[idx] if several else s.labels[idx]
    changed = current != enc
    changed |= enc < 0
    idx, enc = idx[changed], enc[changed]
    if not idx.size:
        return idx
    if campaign.folder is not None:
        campaign_id = campaign._journal_id()
        when = datetime.datetime.now(datetime.timezone.utc)
        entry = answer_entry(
            campaign_id,
            s.journal_seq + 1,
            s.n_rounds + 1,
            "teach",
            idx,
            enc,
            [None] * idx.size,
            amendment=True,
            amends=_replaced(campaign.folder, campaign_id, idx),
            who=_who(),
            when=when.isoformat(timespec="seconds"),
            **({} if annotator == DEFAULT_ANNOTATOR else {"annotator": annotator}),
        )
        append_journal(campaign.folder, entry)
    apply_amendment(s, idx, enc, annotator=annotator)
    s.journal_seq += 1
    campaign.save()
    return idx


def apply_amendment(state, indices, encoded, annotator=DEFAULT_ANNOTATOR):
    """Apply corrections to ``state`` (also when a journal is replayed): with
    several annotators to ``annotator``'s answer, then the consensus."""
    log, n, k = state.log, state.labels.shape[0], state.classes.shape[0]
    several = state.several_annotators()
    for i, new in zip(np.asarray(indices).tolist(), np.asarray(encoded).tolist()):
        if not (0 <= i < n and -1 <= new < k):
            raise CheckpointCorruptedError(
                f"A correction in the journal names sample {i} or label {new}, "
                f"outside the campaign's {n} samples and {k} classes; the "
                "journal is damaged."
            )
        if several:
            if amend_table(state, i, new, annotator) and (
                state.answer_round[i] <= state.n_rounds
            ):
                state.needs_refit = True
            continue
        amend_table(state, i, new, annotator, budget=False)
        rows = [r for r, j in enumerate(log["index"]) if j == i]
        if not rows or not state.relabeled[i]:
            continue  # nothing to correct (a journal replayed twice)
        row = rows[-1]
        if new >= 0:
            log["new"][row] = new
            state.labels[i] = new
        else:  # "not sure" after all: the label from before the answer
            state.labels[i] = log["old"][row]
            for name in LOG_FIELDS:
                del log[name][row]
            state.relabeled[i] = False
            state.abstained[i] = True
            state.clean[i] = state.initial_clean[i]
            state.budget_used -= 1
        if state.answer_round[i] <= state.n_rounds:
            state.needs_refit = True  # the classifier learnt the old answer
    if several:
        apply_consensus(state)
