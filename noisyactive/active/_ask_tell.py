"""Ask/tell: relabeling rounds driven from outside Python.

An expert who annotates in another tool over days cannot be a Python
callable. After ``fit`` (with ``oracle=None``, or once its rounds are done),
:meth:`~noisyactive.ActiveLabelCleaner.query` hands out the next samples
(optionally as a CSV for a spreadsheet),
:meth:`~noisyactive.ActiveLabelCleaner.teach` takes answers (all of a round,
or a few at a time) and :meth:`~noisyactive.ActiveLabelCleaner.export_labels`
writes the result: functions of the cleaner (the class names them as its
methods) over its :class:`~noisyactive.active._campaign.Campaign`. With
``checkpoint`` set every answer is journaled before ``teach`` returns, and
:func:`load_cleaner` continues the campaign in a later session.
"""

import os
import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from noisyactive.active._amend import amend_answers
from noisyactive.active._annotators import (
    DEFAULT_ANNOTATOR,
    answered_by,
    answers_per_sample,
    plan_batch,
    several,
)
from noisyactive.active._answers_csv import read_answers_csv, read_csv_with_annotators
from noisyactive.active._checks import (
    check_validation,
    training_data,
)
from noisyactive.active._export import write_export
from noisyactive.active._models import model_proba
from noisyactive.active._open import write_csv
from noisyactive.active._oracle import _listed, validate_oracle_labels
from noisyactive.active._ranking import next_batch
from noisyactive.active._state import resolve_batch_size
from noisyactive.query._base import check_n
from noisyactive.utils import check_indices

__all__ = [
    "QUERY_COLUMNS",
    "export_labels",
    "pending_table",
    "query",
    "read_answers_csv",
    "teach",
    "training_data",
]

QUERY_COLUMNS = (
    "index",
    "path",
    "current_label",
    "suggested_label",
    "confidence",
    "label",
    "allowed_labels",
)


# -- the methods of ActiveLabelCleaner ------------------------------------------


def query(cleaner, X=None, n=None, *, csv_path=None, paths=None):
    """Return the next samples to annotate (the pending ones, if any).

    While samples of the current batch are unanswered, the same ones are
    returned again, so calling ``query`` twice never hands out new work
    by accident. A batch that is fully answered but not applied yet
    (``teach(..., finish=False)``) is applied first (refit), then the
    next batch is ranked.

    Parameters
    ----------
    X : array-like, default=None
        The training data ``fit`` was called with; may be None when it
        was file paths.
    n : int, default=None
        Number of samples; default ``batch_size``. Clamped to the budget
        left (``budget_total_ - budget_used_``; raise ``n_rounds`` with
        ``set_params`` to extend a campaign) and to the samples left. A
        different ``n`` re-ranks the unanswered part of the batch.
    csv_path : str or path-like, default=None
        Also write the questions as a CSV with the columns
        ``index,path,current_label,suggested_label,confidence,label,
        allowed_labels`` (``label`` empty, for the expert).
    paths : array-like of shape (n_samples,), default=None
        File path of every training sample for the CSV's ``path``
        column, when ``X`` holds arrays (file inputs give their own).

    Returns
    -------
    indices : ndarray of int
        The unanswered pending indices, best first.
    """
    check_is_fitted(cleaner)
    return _query(cleaner.campaign_, X, n, csv_path=csv_path, paths=paths)


def pending_table(cleaner, X=None):
    """The unanswered pending samples as rows for a person, in query order.

    Returns
    -------
    rows : list of dict
        ``{"index", "path", "current_label", "suggested_label",
        "confidence"}``; ``path`` is None for array inputs, the
        suggestion and confidence are None without a classifier (or
        without ``X`` for array inputs).
    """
    check_is_fitted(cleaner)
    return _pending_table(cleaner.campaign_, X)


def teach(
    cleaner,
    X,
    indices,
    labels,
    *,
    finish=True,
    X_val=None,
    y_val=None,
    amend=False,
    annotator=DEFAULT_ANNOTATOR,
):
    """Record an expert's answers; apply the round once it is answered.

    Parameters
    ----------
    X : array-like or None
        The training data ``fit`` was called with (None for file paths).
    indices : array-like of int
        Samples the labels belong to: pending ones, any other sample not
        relabeled yet (kept samples under audit included), or earlier
        abstentions.
    labels : array-like
        One class value per index; ``None``/``""``/NaN abstains (the
        sample is not counted, not relabeled and not asked again).
    finish : bool, default=True
        Apply the round (refit the classifier) as soon as no pending
        sample is unanswered. False only records (and journals) the
        answers; a later ``teach`` or ``query`` applies them.
    X_val, y_val : array-like, default=None
        Validation data for ``val_macro_f1`` in ``history_``.
    amend : bool, default=False
        Accept a changed answer for a sample answered already (in this round
        or an earlier one): journaled as a correction naming the answer it
        replaces, not counted against the budget; an unchanged answer is
        skipped. A correction of a round the classifier was retrained on
        refits it. Without ``amend`` such a sample is refused.
    annotator : str, default="expert"
        Who answered. With several annotators a sample is refused (or
        amended) only when this annotator answered it already.

    Returns
    -------
    self : ActiveLabelCleaner
    """
    check_is_fitted(cleaner)
    campaign = cleaner.campaign_
    X = training_data(campaign, X)
    paths = campaign.state.input_is_paths
    validation = check_validation(cleaner, X_val, y_val, input_is_paths=paths)
    _teach(
        campaign,
        X,
        indices,
        labels,
        finish=finish,
        validation=validation,
        amend=amend,
        annotator=annotator,
    )
    return cleaner


def teach_from_csv(cleaner, path, X=None, *, finish=True, amend=False):
    """Teach the answers in a CSV written by ``query(csv_path=...)``.

    Rows need ``index`` and ``label``; an empty ``label`` abstains. A
    label that is not a class is refused, naming the row (as a
    spreadsheet numbers it, the header being row 1). ``amend=True``
    accepts corrected answers for samples answered already (see ``teach``).
    An optional ``annotator`` column says who answered each row.
    """
    check_is_fitted(cleaner)
    indices, labels, who = read_csv_with_annotators(path, cleaner.classes_)
    if who is None:
        return cleaner.teach(X, indices, labels, finish=finish, amend=amend)
    names = list(dict.fromkeys(who))
    for k, name in enumerate(names):
        rows = [r for r, a in enumerate(who) if a == name]
        cleaner.teach(
            X,
            indices[rows],
            [labels[r] for r in rows],
            finish=finish and k == len(names) - 1,
            amend=amend,
            annotator=name,
        )
    return cleaner


def export_labels(cleaner, path, X=None):
    """Write one CSV row per training sample: the given and final label, who
    decided it, the final model's label-quality score and suggestion, and
    whether the row is still a suspected label issue.

    See :func:`noisyactive.active._export.export_rows` for the columns.
    ``X`` (the training data) is needed for the model's columns when the
    cleaner was fitted on arrays; without it they are left empty.
    """
    check_is_fitted(cleaner)
    write_export(cleaner.campaign_, path, X)


# -- ask ------------------------------------------------------------------------


def _query(campaign, X, n, *, csv_path=None, paths=None):
    if n is not None:
        n = check_n(n, minimum=1)
    X = training_data(campaign, X)
    with campaign.locked():
        campaign.close_if_answered(X, None)
        pending = campaign.state.pending()
        if not pending.size or (n is not None and n != pending.size):
            pending = _rank_batch(campaign, X, n)
        if csv_path is not None:
            _write_query_csv(campaign, csv_path, X, pending, paths)
    return pending.copy()


def _rank_batch(campaign, X, n):
    s = campaign.state
    left = campaign.budget_left()
    if left <= 0:
        raise ValueError(
            f"The budget of batch_size * n_rounds = {campaign.budget_total()} "
            f"labels is spent ({s.budget_used} used). To continue, raise it, "
            "e.g. cleaner.set_params(n_rounds=...)."
        )
    if n is None:
        n = resolve_batch_size(campaign.cleaner.batch_size, X.shape[0])
    answered = len(s.open_round)
    if n - answered > left:
        warnings.warn(
            f"Asked for {n} samples but only {left} labels of the budget "
            f"are left; querying {left}.",
            UserWarning,
            stacklevel=4,
        )
    per = answers_per_sample(campaign.cleaner, s)
    indices, scores = next_batch(campaign, X, min(n - answered, left // per))
    if indices.size == 0:
        raise ValueError(
            "No sample is left to relabel: every sample is in the clean part "
            "or was abstained on."
        )
    done = np.asarray(list(dict.fromkeys(s.open_round)), dtype=np.intp)
    if several(campaign.cleaner, s):
        plan_batch(s, campaign.cleaner, indices, scores, done=done)
    else:
        s.batch = np.concatenate([done, indices])
        s.batch_scores = np.concatenate([np.full(done.size, np.nan), scores])
    campaign.save()
    return s.pending()


def _pending_table(campaign, X=None):
    s = campaign.state
    pending, paths = s.pending(), s.input_paths
    suggested = [None] * pending.size
    confidence = [None] * pending.size
    proba = model_proba(campaign, X, pending) if pending.size else None
    if proba is not None:
        suggested = s.classes[proba.argmax(1)].tolist()
        confidence = proba.max(1).astype(float).tolist()
    current = s.classes[s.labels[pending]].tolist()
    return [
        {
            "index": int(i),
            "path": None if paths is None else str(paths[i]),
            "current_label": current[k],
            "suggested_label": suggested[k],
            "confidence": confidence[k],
        }
        for k, i in enumerate(pending.tolist())
    ]


def _write_query_csv(campaign, path, X, pending, paths=None):
    s = campaign.state
    allowed = " | ".join(str(c) for c in s.classes.tolist())
    table = _pending_table(campaign, X if not s.input_is_paths else None)
    if paths is not None and len(paths) != X.shape[0]:
        raise ValueError(
            f"paths has {len(paths)} entries; expected one per sample ({X.shape[0]})."
        )
    rows = [
        [
            r["index"],
            os.fspath(paths[r["index"]]) if paths is not None else r["path"] or "",
            r["current_label"],
            "" if r["suggested_label"] is None else r["suggested_label"],
            "" if r["confidence"] is None else f"{r['confidence']:.4f}",
            "",
            allowed,
        ]
        for r in table
    ]
    write_csv(path, QUERY_COLUMNS, rows)


# -- tell -----------------------------------------------------------------------


def _teach(
    campaign,
    X,
    indices,
    labels,
    *,
    finish=True,
    validation=None,
    amend=False,
    annotator=DEFAULT_ANNOTATOR,
):
    # Checked under the lock, against the state the answers are added to.
    with campaign.locked():
        campaign.finish(X, validation)  # a refit or report left by a stopped session
        s = campaign.state
        multi = annotator != DEFAULT_ANNOTATOR or several(campaign.cleaner, s)
        who = annotator if multi else None
        idx = check_answer_indices(s, indices, amend=amend, annotator=who)
        labels = [None if isinstance(v, str) and not v.strip() else v for v in labels]
        encoded, answered = validate_oracle_labels(
            labels,
            s.classes,
            n_expected=idx.size,
            round_=s.n_rounds + 1,
            indices=idx,
        )
        # corrections (amend=True): not new labels
        fix = answered_by(s, annotator)[idx] if multi else s.relabeled[idx]
        left, n_new = campaign.budget_left(), int(answered[~fix].sum())
        if n_new > left:
            raise ValueError(
                f"{n_new} answers exceed the {left} labels left of "
                f"the budget of {campaign.budget_total()}; nothing was recorded. "
                "Raise n_rounds with set_params to extend the campaign."
            )
        if fix.any():
            amend_answers(campaign, idx[fix], encoded[fix], annotator)
        idx, encoded = idx[~fix], encoded[~fix]
        pos = {int(i): p for p, i in enumerate(s.batch.tolist())}
        scores = np.array([s.batch_scores[pos[i]] if i in pos else np.nan for i in idx])
        if idx.size:
            campaign.record(idx, encoded, scores, "teach", annotator)
        if finish:
            campaign.close_if_answered(X, validation)


def check_answer_indices(state, indices, *, amend=False, annotator=None):
    """Unique indices in range, none relabeled already (answered already by
    ``annotator`` when given) unless ``amend``."""
    # One validator for "unique integer indices in range" (noisyactive.utils).
    idx = check_indices(indices, n_samples=state.labels.shape[0], min_count=1)
    if annotator is not None:
        done = answered_by(state, annotator)[idx]
        if done.any() and not amend:
            raise ValueError(
                f"Samples {_listed(idx[done].tolist())} were answered already by "
                f"{annotator!r}; to change those answers teach them with "
                "amend=True."
            )
        return idx
    done = state.relabeled[idx]
    if done.any() and not amend:
        raise ValueError(
            f"Samples {_listed(idx[done].tolist())} were relabeled already "
            "(an expert answered them, in this round or an earlier one). To "
            "change those answers, teach them with amend=True (on the command line: "
            "noisyactive teach --amend); the journal keeps both answers."
        )
    return idx
