"""Several reviewers on one review page: who is reviewing, what they see.

With several answers per sample (``max_answers_per_sample``, a consensus
rule, or more than one annotator so far) the page asks who is reviewing (a
name the browser remembers) and shows each reviewer only the open samples
they have not answered (independent reads: not the others' answers); every
answer is taught with its annotator.
"""

import numpy as np

from noisyactive.active._annotators import (
    answered_by,
    latest_answers,
    open_round_number,
    several,
)
from noisyactive.review._session import NotOpenError, label_text

__all__ = ["answer_as", "answered_for", "pending_for", "wants_reviewer"]


def wants_reviewer(session):
    """Whether the page asks who is reviewing."""
    with session._use():
        return bool(several(session.cleaner, session.cleaner._state))


def pending_for(session, name):
    """:meth:`ReviewSession.pending` less what ``name`` answered, ever."""
    rows = session.pending()
    with session._use():
        done = answered_by(session.cleaner._state, name)
    return [r for r in rows if not done[r["index"]]]


def answered_for(session, name):
    """The samples ``name`` answered in the open round, with their answer."""
    with session._use():
        s = session.cleaner._state
        classes = session.cleaner.classes_
        mine = answered_by(s, name, round_=open_round_number(s))
        latest = latest_answers(s, name)
    rows = [r for r in session.answered() if mine[r["index"]]]
    for r in rows:
        code = latest[r["index"]]
        r["answer"] = label_text(classes[code]) if code >= 0 else ""
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
