"""A round asked of several annotators (a dict oracle, ``{"name": callable}``).

The round's batch is planned once (:func:`plan_batch`: each sample wants
``answers_per_query`` answers, every annotator by default); then every
annotator is asked, one call each, about the samples planned for them that
they have not answered. The plan is in the state, each annotator's answers
are journaled before they are used, so a campaign killed between two
annotators resumes by asking only those who have not answered. The audit
(round 0) is planned the same way when it is drawn
(:func:`~noisyactive.active._audit.start_audit`) and asked by
:func:`ask_audit`; its consensus labels are what it counts.
"""

import numpy as np

from noisyactive.active._annotators import (
    answered_by,
    answers_per_sample,
    open_round_number,
    oracle_names,
    plan_batch,
)
from noisyactive.active._ranking import next_batch
from noisyactive.active._state import derived_seed

__all__ = ["ask_audit", "ask_round", "check_annotators", "planned_for"]


def check_annotators(cleaner):
    """A dict oracle: non-empty names, each a callable."""
    oracle = cleaner.oracle
    if not isinstance(oracle, dict):
        return
    if not oracle or not all(isinstance(k, str) and k.strip() for k in oracle):
        raise ValueError(
            "oracle as a dict maps annotator names (non-empty strings) to "
            f"callables; got the names {list(oracle)!r}."
        )
    bad = [k for k, v in oracle.items() if not callable(v)]
    if bad:
        raise TypeError(f"oracle[{bad[0]!r}] is not callable.")


def planned_for(state, name, names):
    """The batch samples still to ask ``name`` this round: those for whom
    ``name`` is among the first annotators (in a seeded order per sample when
    not every annotator is wanted) who had not answered before this round."""
    round_ = open_round_number(state)
    now = {a: answered_by(state, a, round_=round_) for a in names}
    ever = {a: answered_by(state, a) for a in names}
    out = []
    for i, want in zip(state.batch.tolist(), state.batch_wanted.tolist()):
        if now[name][i] or not want:
            continue
        order = list(names)
        if want < len(names):
            rng = np.random.default_rng(derived_seed(state.seed, round_, i))
            order = [names[j] for j in rng.permutation(len(names))]
        # Who answered before this round is not asked again.
        fresh = [a for a in order if now[a][i] or not ever[a][i]]
        if name in fresh[:want]:
            out.append(i)
    return np.asarray(out, dtype=np.intp)


def ask_round(campaign, X, k, sample_ids):
    """Plan (or continue) the open round and ask every annotator their part;
    False when nothing is left to ask."""
    s, cleaner = campaign.state, campaign.cleaner
    if not (s.batch_wanted.size and s.pending().size):
        per = answers_per_sample(cleaner, s)
        n = min(k, campaign.budget_left() // per)
        if n <= 0:
            return False
        indices, scores = next_batch(campaign, X, n)
        if indices.size == 0:
            return False
        plan_batch(s, cleaner, indices, scores)
        campaign.save()
    _ask_planned(campaign, X, sample_ids)
    return True


def ask_audit(campaign, X, sample_ids):
    """Ask the open audit's unanswered samples of the oracle; of a dict
    oracle's annotators as planned when it was drawn, as in a round."""
    oracle = campaign.cleaner.oracle
    if isinstance(oracle, dict):
        _ask_planned(campaign, X, sample_ids)
        return
    indices, scores = next_batch(campaign, X, 0)
    ids = indices if sample_ids is None else sample_ids[indices]
    campaign.ask(oracle, ids, X[indices], indices, scores)


def _ask_planned(campaign, X, sample_ids):
    """Ask every annotator of a dict oracle their part of the planned batch."""
    s, cleaner = campaign.state, campaign.cleaner
    names = oracle_names(cleaner.oracle)
    pos = {i: p for p, i in enumerate(s.batch.tolist())}
    for name in names:
        todo = planned_for(s, name, names)
        if todo.size:
            ids = todo if sample_ids is None else sample_ids[todo]
            scores = s.batch_scores[[pos[i] for i in todo.tolist()]]
            campaign.ask(cleaner.oracle[name], ids, X[todo], todo, scores, name)
