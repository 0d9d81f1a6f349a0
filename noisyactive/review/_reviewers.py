"""Several reviewers on one review page: who is reviewing, what they see.

With several answers per sample (``max_answers_per_sample``, a consensus
rule, or more than one annotator so far) the page asks who is reviewing (a
name the browser remembers) and shows each reviewer only the open samples
they have not answered; every answer is taught with its annotator.

By default the reads are independent: a card shows the sample's given label,
not the working label (which, once someone answered, is their answer or the
consensus), and none of the other answers. In adjudication mode (``review
--adjudicate``, for a senior reader who settles disagreements) a card shows
every earlier answer with its annotator and the agreement among them.
"""

import numpy as np

from noisyactive.active._annotators import (
    answered_by,
    consensus_fit,
    latest_answers,
    open_round_number,
    several,
)
from noisyactive.review._session import NotOpenError, label_text

__all__ = [
    "answer_as",
    "answered_for",
    "earlier_answers",
    "pending_for",
    "wants_reviewer",
]


def wants_reviewer(session):
    """Whether the page asks who is reviewing."""
    with session._use():
        return bool(several(session.cleaner, session.cleaner._state))


def pending_for(session, name, *, adjudicate=False):
    """:meth:`ReviewSession.pending` less what ``name`` answered, ever, with
    the given label as ``current_label`` (the working label may be another
    reader's answer); in adjudication mode each row has ``earlier``
    (:func:`earlier_answers`)."""
    rows = session.pending()
    with session._use():
        s = session.cleaner._state
        done = answered_by(s, name)
        given = [label_text(c) for c in session.cleaner.classes_[s.y_noisy]]
    rows = [r for r in rows if not done[r["index"]]]
    for r in rows:
        r["current_label"] = given[r["index"]]
    if adjudicate:
        earlier = earlier_answers(session, [r["index"] for r in rows], name)
        for r in rows:
            r["earlier"] = earlier[r["index"]]
    return rows


def earlier_answers(session, indices, name=None):
    """What an adjudicator sees of each sample: ``{index: {"answers":
    [(annotator, answer text), ...], "agreement": float or None,
    "consensus": text}}`` -- every other annotator's latest answer (``""``
    for "not sure"), in the order they first answered, the share of the
    answers that agree with the consensus and the consensus itself (``""``
    while open: a tie, or no answer)."""
    indices = [int(i) for i in indices]
    with session._use():
        s = session.cleaner._state
        classes = session.cleaner.classes_
        fit = consensus_fit(s) if indices else None
        latest = {}
        wanted = set(indices)
        for i, a, lab in zip(
            s.answers["index"], s.answers["annotator"], s.answers["label"]
        ):
            if i in wanted and s.annotators[a] != name:
                latest.setdefault(i, {})[s.annotators[a]] = lab  # later rows win
    out = {}
    for i in indices:
        answers = [
            (who, label_text(classes[lab]) if lab >= 0 else "")
            for who, lab in latest.get(i, {}).items()
        ]
        share, top = fit["agreement"][i], fit["consensus"][i]
        out[i] = {
            "answers": answers,
            "agreement": None if np.isnan(share) else float(share),
            "consensus": label_text(classes[top]) if top >= 0 else "",
        }
    return out


def answered_for(session, name):
    """The samples ``name`` answered in the open round, with their answer."""
    with session._use():
        s = session.cleaner._state
        classes = session.cleaner.classes_
        mine = answered_by(s, name, round_=open_round_number(s))
        latest = latest_answers(s, name)
        given = [label_text(c) for c in classes[s.y_noisy]]
    rows = [r for r in session.answered() if mine[r["index"]]]
    for r in rows:
        code = latest[r["index"]]
        r["answer"] = label_text(classes[code]) if code >= 0 else ""
        r["before"] = given[r["index"]]  # not another reader's answer
    return rows


def answer_as(session, index, label, name):
    """Record ``name``'s answer for a sample of the open round they have not
    answered (or change theirs, journaled as a correction)."""
    index, value = int(index), session.parse_label(label)
    with session._use():
        s = session.cleaner._state
        mine = answered_by(s, name, round_=open_round_number(s))[index]
        open_ = index in {int(i) for i in s.pending()}
        if not mine and (not open_ or answered_by(s, name)[index]):
            raise NotOpenError(
                f"Sample {index} is not an open question of round "
                f"{int(s.n_rounds) + 1} for {name!r}; nothing was recorded."
            )
        session.cleaner.teach(
            session._x(),
            np.asarray([index], dtype=np.intp),
            [value],
            finish=False,
            amend=bool(mine),
            annotator=name,
        )
