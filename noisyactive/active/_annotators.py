"""Answers with their annotator: the answer table of a campaign's state.

Every answer is a row ``(index, annotator, label, round, seq)`` of
``CampaignState.answers`` (``annotator`` a position in
``CampaignState.annotators``, the names; ``label`` -1 an abstention; ``seq``
the journal entry that brought it). A single expert is the annotator
``"expert"``. With a consensus rule (``CampaignState.consensus``:
``"majority"``, ``"dawid_skene"`` or ``"crowdlab"``, the classifier's
probabilities as one more voter, :mod:`~noisyactive.active._consensus`)
the label of every answered sample is its consensus, a tie leaves it open
(not relabeled); without one the latest answer is the truth, as always.
"""

import numpy as np

from noisyactive.active._consensus import (
    agreement,
    annotator_accuracy,
    consensus_of,
    crowdlab,
    dawid_skene,
    majority,
    vote_counts,
)

__all__ = [
    "ANSWER_FIELDS",
    "CONSENSUS_RULES",
    "DEFAULT_ANNOTATOR",
    "add_answers",
    "answered_by",
    "apply_consensus",
    "consensus_fit",
    "model_votes",
    "pending_mask",
    "record_model_votes",
    "table",
    "upgrade_v2",
]

DEFAULT_ANNOTATOR = "expert"
ANSWER_FIELDS = ("index", "annotator", "label", "round", "seq")
CONSENSUS_RULES = ("majority", "dawid_skene", "crowdlab")
_MIN_CONFUSION_EVIDENCE = 5.0  # answers behind a confusion row to report it


def table(state):
    """The answer table as int arrays (one per :data:`ANSWER_FIELDS`)."""
    return {f: np.asarray(state.answers[f], dtype=np.intp) for f in ANSWER_FIELDS}


def annotator_code(state, name):
    """The position of ``name`` in ``state.annotators`` (added when new)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"An annotator is named by a non-empty string; got {name!r}.")
    if name not in state.annotators:
        state.annotators.append(name)
    return state.annotators.index(name)


def add_answers(state, indices, encoded, annotator, round_, seq):
    """Append one row per answer (abstentions too, label -1)."""
    code = annotator_code(state, annotator)
    indices = np.asarray(indices, dtype=np.intp).tolist()
    rows = {
        "index": indices,
        "annotator": [code] * len(indices),
        "label": np.asarray(encoded, dtype=np.intp).tolist(),
        "round": [int(round_)] * len(indices),
        "seq": [int(seq)] * len(indices),
    }
    for name in ANSWER_FIELDS:
        state.answers[name].extend(rows[name])


def answered_by(state, name, *, round_=None):
    """Mask of the samples ``name`` answered (or abstained on), in
    ``round_`` only when given."""
    t, out = table(state), np.zeros(state.labels.shape[0], dtype=bool)
    if name not in state.annotators:
        return out
    rows = t["annotator"] == state.annotators.index(name)
    if round_ is not None:
        rows &= t["round"] == round_
    out[t["index"][rows]] = True
    return out


def answer_counts(state, *, round_=None, valid=False):
    """Answers per sample (in ``round_`` only; labels only with ``valid``)."""
    t = table(state)
    rows = np.ones(t["index"].size, dtype=bool)
    if round_ is not None:
        rows &= t["round"] == round_
    if valid:
        rows &= t["label"] >= 0
    return np.bincount(t["index"][rows], minlength=state.labels.shape[0])


def open_round_number(state):
    return 0 if state.audit_open else state.n_rounds + 1


def pending_mask(state):
    """Which batch samples still want answers this round: fewer answers (or
    abstentions) in this round than ``batch_wanted`` says."""
    got = answer_counts(state, round_=open_round_number(state))[state.batch]
    return got < state.batch_wanted


def consensus_fit(state, rule=None):
    """``{"posterior", "consensus", "agreement", "accuracy", "confusion"}``
    of the answers under ``rule`` (the state's rule by default). Without a
    rule the consensus is each answered sample's current label."""
    rule = state.consensus if rule is None else rule
    t = table(state)
    n, k, m = state.labels.shape[0], state.classes.shape[0], len(state.annotators)
    idx, ann, lab = t["index"], t["annotator"], t["label"]
    answered = answer_counts(state, valid=True) > 0
    posterior = None
    if rule == "dawid_skene":
        posterior, _, _ = dawid_skene(idx, ann, lab, n, m, k)
        consensus = consensus_of(posterior)
    elif rule == "crowdlab":
        posterior, _, _ = crowdlab(idx, ann, lab, n, m, k, model_votes(state))
        consensus = consensus_of(posterior)
    elif rule == "majority":
        consensus = majority(vote_counts(idx, lab, n, k))
    else:
        consensus = np.where(answered, state.labels, -1)
    # Dawid-Skene's posterior is a model of the answers, so an annotator's
    # accuracy is its expected share of right answers; CROWDLAB's averages in
    # the classifier's spread, so there it is the share agreeing with the
    # consensus, as for the other rules.
    expected = posterior if rule == "dawid_skene" else None
    soft = expected
    if soft is None:
        soft = np.zeros((n, k))
        rows = np.flatnonzero(consensus >= 0)
        soft[rows, consensus[rows]] = 1.0
    soft = np.nan_to_num(soft)
    counts = np.zeros((m, k, k))
    ok = lab >= 0
    np.add.at(counts, (ann[ok], slice(None), lab[ok]), soft[idx[ok]])
    evidence = counts.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / np.maximum(evidence, 1)
        confusion = np.where(evidence >= _MIN_CONFUSION_EVIDENCE, share, np.nan)
    return {
        "posterior": posterior,
        "consensus": consensus,
        "agreement": agreement(idx, lab, consensus),
        "accuracy": annotator_accuracy(idx, ann, lab, m, consensus, expected),
        "confusion": confusion,
    }


def model_votes(state):
    """The classifier's recorded probabilities, ``(n_samples, n_classes)``
    with NaN rows where it has not voted."""
    shape = (state.labels.shape[0], state.classes.shape[0])
    if state.model_votes.shape != shape:
        state.model_votes = np.full(shape, np.nan)
    return state.model_votes


def record_model_votes(state, indices, proba):
    """Keep the classifier's probabilities for the samples it has neither
    voted on nor seen an answer for: its vote is the one from before the
    sample's first answer, so never trained on an answer it is compared
    with (a sample answered without a vote, e.g. in the audit, gets none)."""
    votes, indices = model_votes(state), np.asarray(indices, dtype=np.intp)
    new = np.isnan(votes[indices]).any(axis=1)
    new &= answer_counts(state)[indices] == 0
    votes[indices[new]] = np.asarray(proba, dtype=float)[new]


def apply_consensus(state):
    """Set the label of every answered sample to its consensus (a tie: its
    noisy label, not relabeled). Nothing without a rule."""
    if state.consensus is None:
        return
    consensus = consensus_fit(state)["consensus"]
    answered = answer_counts(state, valid=True) > 0
    settled = answered & (consensus >= 0)
    tied = answered & (consensus < 0)
    state.labels[settled] = consensus[settled]
    state.labels[tied] = state.y_noisy[tied]
    state.relabeled[answered] = settled[answered]
    state.clean[answered] = settled[answered] | state.initial_clean[answered]
    state.abstained[answered] = False


def annotator_fields(state):
    """The ``history_`` fields of a campaign with several annotators."""
    fit = consensus_fit(state)
    t = table(state)
    valid = t["label"] >= 0
    per = np.bincount(t["annotator"][valid], minlength=len(state.annotators))
    agree = fit["agreement"]
    return {
        "n_answers": int(valid.sum()),
        "answers_by_annotator": dict(zip(state.annotators, per.tolist())),
        "mean_agreement": None if np.isnan(agree).all() else float(np.nanmean(agree)),
        "annotator_accuracy": accuracy_dict(state, fit),
    }


def accuracy_dict(state, fit):
    return {
        name: None if np.isnan(a) else float(a)
        for name, a in zip(state.annotators, fit["accuracy"])
    }


def latest_answers(state, name):
    """Each sample's latest answer by ``name`` (-1: none or an abstention)."""
    t, out = table(state), np.full(state.labels.shape[0], -1, dtype=np.intp)
    if name in state.annotators:
        rows = t["annotator"] == state.annotators.index(name)
        out[t["index"][rows]] = t["label"][rows]  # later rows win
    return out


def amend_table(state, index, new, annotator, *, budget=True):
    """Change ``annotator``'s latest answer for ``index`` to ``new``;
    returns whether such an answer existed (budget: an answer turned into an
    abstention is given back, and the reverse taken)."""
    if annotator not in state.annotators:
        return False
    code, answers = state.annotators.index(annotator), state.answers
    rows = [
        r
        for r, (i, a) in enumerate(zip(answers["index"], answers["annotator"]))
        if i == index and a == code
    ]
    if not rows:
        return False
    old = answers["label"][rows[-1]]
    answers["label"][rows[-1]] = int(new)
    if budget:
        state.budget_used += int(new >= 0) - int(old >= 0)
    return True


def upgrade_v2(state):
    """A state read from a format-2 checkpoint (no answer table): one row per
    answer of the relabel log, by the single expert."""
    log = state.log
    if log["index"]:
        state.annotators = [DEFAULT_ANNOTATOR]
    state.answers = {
        "index": list(log["index"]),
        "annotator": [0] * len(log["index"]),
        "label": list(log["new"]),
        "round": list(log["round"]),
        "seq": [0] * len(log["index"]),
    }
    return state


FITTED = {
    "agreement_": lambda c: consensus_fit(c.state)["agreement"],
    "annotator_accuracy_": lambda c: accuracy_dict(c.state, consensus_fit(c.state)),
    "annotator_confusion_": lambda c: dict(
        zip(c.state.annotators, consensus_fit(c.state)["confusion"])
    ),
    "annotators_": lambda c: list(c.state.annotators),
    "answers_": lambda c: answers_frame(c.state),
}


def answers_frame(state):
    """The answer table as a structured array with annotator names and class
    values (``label`` of an abstention: the empty string / -1 as ``label_code``)."""
    t = table(state)
    names = np.asarray(state.annotators + [""], dtype=object)
    out = np.empty(
        t["index"].size,
        dtype=[
            ("index", np.int64),
            ("annotator", object),
            ("label_code", np.int64),
            ("round", np.int64),
            ("seq", np.int64),
        ],
    )
    out["index"], out["label_code"] = t["index"], t["label"]
    out["annotator"] = names[t["annotator"]] if t["index"].size else []
    out["round"], out["seq"] = t["round"], t["seq"]
    return out


# -- the cleaner's settings ----------------------------------------------------


def oracle_names(oracle):
    """The annotators of a dict oracle (``{"name": callable}``), else None."""
    return list(oracle) if isinstance(oracle, dict) else None


def several(cleaner, state):
    """Whether the campaign weighs several answers per sample (a dict oracle,
    a consensus rule, an answer setting, or more than one annotator so far)."""
    return (
        isinstance(cleaner.oracle, dict)
        or getattr(cleaner, "consensus", None) is not None
        or getattr(cleaner, "max_answers_per_sample", None) is not None
        or getattr(cleaner, "answers_per_query", None) is not None
        or state.several_annotators()
    )


def answer_cap(cleaner):
    """Answers a sample may get in all (None: no cap but one per annotator)."""
    names = oracle_names(cleaner.oracle)
    cap = getattr(cleaner, "max_answers_per_sample", None)
    if names:
        return len(names) if cap is None else min(cap, len(names))
    return cap


def answers_per_sample(cleaner, state):
    """Answers asked per queried sample: every annotator of a dict oracle by
    default (``answers_per_query`` sets it), up to the cap; 1 for a single
    expert."""
    if not several(cleaner, state):
        return 1
    names, cap = oracle_names(cleaner.oracle), answer_cap(cleaner)
    per = getattr(cleaner, "answers_per_query", None)
    if per is None:
        per = len(names) if names else (cap or 1)
    return max(1, min(per, cap or per))


def askable(state, cleaner, *, second_opinion=False):
    """Samples a strategy may rank with several annotators: not relabeled
    (or, for a second-opinion strategy, relabeled too), never abstained on,
    with fewer answers than the cap."""
    counts = answer_counts(state)
    cap = answer_cap(cleaner)
    under = counts < cap if cap else np.ones(counts.size, dtype=bool)
    pool = ~state.clean | (state.relabeled if second_opinion else False)
    return np.flatnonzero(pool & ~state.abstained & under)


def plan_batch(state, cleaner, indices, scores, done=()):
    """Make ``indices`` the batch, each wanting its share of answers this
    round (``done``: samples answered this round already, wanting no more)."""
    done = np.asarray(done, dtype=np.intp)
    indices = np.asarray(indices, dtype=np.intp)
    per, cap = answers_per_sample(cleaner, state), answer_cap(cleaner)
    counts = answer_counts(state)
    wanted = np.full(indices.size, per, dtype=np.int64)
    if cap:
        wanted = np.minimum(wanted, cap - counts[indices])
    now = answer_counts(state, round_=open_round_number(state))[done]
    state.batch = np.concatenate([done, indices])
    state.batch_scores = np.concatenate([np.full(done.size, np.nan), scores])
    state.batch_wanted = np.concatenate([now, np.maximum(wanted, 0)]).astype(np.int64)
