"""One relabeling campaign: :class:`Campaign`, what ``ActiveLabelCleaner`` runs.

A campaign owns the :class:`~noisyactive.active._state.CampaignState`, the
phase-1 estimator and the classifier, the budget, the history entries and the
checkpoint folder with its lock. With a checkpoint it keeps the folder
consistent: answers are journaled (fsynced) before they are applied, the
state is the commit point, a classifier file is removed only after a state
naming its successor is in place, and a round is *reported* (validation
score, ``on_round_end``) once, even when a process died before its report.
"""

import contextlib
import os
import time
import uuid
import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from noisyactive.active._amend import apply_amendment
from noisyactive.active._annotators import (
    DEFAULT_ANNOTATOR,
    answers_per_sample,
    apply_consensus,
)
from noisyactive.active._annotators import FITTED as ANNOTATOR_FITTED
from noisyactive.active._audit import AUDIT_FITTED, refit_filter, start_audit
from noisyactive.active._files import CheckpointChangedError, disk_mark
from noisyactive.active._journal import (
    JOURNAL_FILE,
    answer_entry,
    append_journal,
    entries_after,
    read_journal,
)
from noisyactive.active._lock import CheckpointLock
from noisyactive.active._models import Deferred, remember_proba, restore_models
from noisyactive.active._notes import note_failure
from noisyactive.active._open import remove_stale, remove_temporaries
from noisyactive.active._oracle import UnknownLabelError, validate_oracle_labels
from noisyactive.active._report import report_round
from noisyactive.active._spec import params_to_json, save_model
from noisyactive.active._state import CampaignState, resolve_batch_size
from noisyactive.active._training import (
    fit_maybe_with_validation,
    macro_f1,
    make_estimator,
    phase1_mask,
    phase1_rates,
    train_classifier,
)

__all__ = ["Campaign"]

_CLASSIFIER = "classifier-"


class Campaign:
    """The campaign of one :class:`~noisyactive.ActiveLabelCleaner`.

    Parameters
    ----------
    cleaner : ActiveLabelCleaner
        Whose parameters the campaign follows (read when used, so that
        ``set_params(n_rounds=...)`` extends a campaign) and whom
        ``on_round_end`` receives.
    trusted : tuple of str, default=()
        Modules trusted for loading the classifier file (``load_cleaner``).
    disk_seen : tuple, default=None
        :func:`~noisyactive.active._files.disk_mark` of the folder when it
        was read.

    Attributes
    ----------
    state : CampaignState or None
        None until :meth:`start` or :meth:`resume`.
    estimator, classifier : estimator or None
        The phase-1 estimator and the current classifier.
    """

    # The cleaner's fitted attributes, each read from the campaign.
    FITTED = {
        "estimator_": lambda c: c.estimator,
        "classifier_": lambda c: c.classifier,
        "labels_": lambda c: c.state.classes[c.state.labels],
        "initial_clean_mask_": lambda c: c.state.initial_clean,
        "clean_mask_": lambda c: c.state.clean,
        "relabeled_mask_": lambda c: c.state.relabeled,
        "abstained_mask_": lambda c: c.state.abstained,
        "queried_indices_": lambda c: c.state.queried,
        "pending_indices_": lambda c: c.state.pending(),
        "history_": lambda c: c.state.history,
        "relabel_log_": lambda c: c.state.relabel_log(),
        "budget_used_": lambda c: c.state.budget_used,
        "budget_total_": lambda c: c.budget_total(),
        "n_rounds_": lambda c: c.state.n_rounds,
        "input_paths_": lambda c: c.state.input_paths,
        "termination_condition_": lambda c: c.state.termination,
        "_state": lambda c: c.state,  # for noisyactive.review: use campaign_.state
        **AUDIT_FITTED,  # noise_rate_, noise_rate_interval_, audit_indices_, ...
        **ANNOTATOR_FITTED,  # agreement_, annotator_accuracy_, answers_, ...
    }

    # built when first read after a restore (noisyactive.active._models)
    estimator = Deferred()
    classifier = Deferred()

    def __init__(self, cleaner, *, trusted=(), disk_seen=None):
        self.cleaner = cleaner
        self.trusted = tuple(trusted)
        self.disk_seen = disk_seen
        self.lock_depth = 0
        self.state = self.estimator = self.classifier = None

    def __getstate__(self):
        self.estimator, self.classifier  # noqa: B018 - loaders do not pickle
        return vars(self).copy()

    @property
    def folder(self):
        return self.cleaner.checkpoint

    # -- the budget ---------------------------------------------------------------

    def budget_total(self):
        """``batch_size * n_rounds`` labels plus the audit's samples, times
        the answers asked per sample with several annotators."""
        p, n = self.cleaner, self.state.labels.shape[0]
        per = answers_per_sample(p, self.state)
        return (
            resolve_batch_size(p.batch_size, n) * p.n_rounds + self.state.audit.size
        ) * per

    def budget_left(self):
        """Labels of the budget not returned yet (the one place it is computed)."""
        return self.budget_total() - self.state.budget_used

    def warn_if_budget_exceeds_pool(self):
        s = self.state
        pool = s.candidates().size
        if self.cleaner.audit_share > 0:
            pool += s.audit_candidates().size
        if s.audit_open:  # the audit's samples are asked too
            pool += s.pending().size
        left = self.budget_left()
        pool *= answers_per_sample(self.cleaner, s)
        if s.n_rounds < self.cleaner.n_rounds and left > pool:
            warnings.warn(
                f"The budget batch_size * n_rounds = {self.budget_total()} leaves "
                f"{left} labels to ask but only {pool} samples can be relabeled; "
                f"the budget is clamped to {pool} and the campaign stops when "
                "none are left.",
                UserWarning,
                stacklevel=3,
            )

    # -- the folder -----------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, *, rereads=False):
        """Hold the folder's lock; at the outermost level, refuse to go on when
        another session changed the folder since this campaign last read or
        wrote it (``rereads``: the caller reads it afresh)."""
        if self.folder is None:
            yield
            return
        lock = CheckpointLock(self.folder)
        first, outer = not lock.held(), not self.lock_depth
        with lock:
            if outer and not rereads and self.disk_seen is not None:
                if disk_mark(self.folder) != self.disk_seen:
                    raise CheckpointChangedError(
                        f"The checkpoint {os.fspath(self.folder)!r} was changed by "
                        "another session since this cleaner was loaded; reload it "
                        "with load_cleaner (its answers are kept there). Nothing "
                        "was written."
                    )
            if first:  # what a killed process left behind
                remove_temporaries(self.folder)
                read_journal(self.folder, repair=True)
            self.lock_depth += 1
            try:
                yield
            finally:
                self.lock_depth -= 1
                if outer:  # what this campaign leaves on disk is what it knows
                    read_journal(self.folder, repair=True)
                    self.disk_seen = disk_mark(self.folder)

    def save(self):
        if self.folder is not None:
            self.state.to_files(self.folder, {"params": params_to_json(self.cleaner)})

    def save_classifier(self):
        if self.folder is None or self.classifier is None:
            return
        stem = f"{_CLASSIFIER}{self.state.classifier_version:05d}"
        current = self.state.model_files.get("classifier")
        if current is not None and current[0].startswith(stem + "."):
            return  # unchanged (a refit was skipped); never rewrite a named file
        saved = save_model(self.folder, stem, self.classifier)
        self.state.model_files["classifier"] = list(saved)
        self.save()
        remove_stale(self.folder, _CLASSIFIER, keep=saved[0])

    def intact_note(self):
        s = self.state
        return (
            f" The state file is intact: {s.n_rounds} rounds and {s.budget_used} "
            f"labels; export them with load_cleaner({os.fspath(self.folder)!r}, "
            "labels_only=True).export_labels(path)."
        )

    # -- starting and resuming --------------------------------------------------------

    @classmethod
    def load(cls, cleaner, state, *, trusted=(), disk_seen=None, labels_only=False):
        """The campaign of a checkpoint's ``state`` (``load_cleaner``): resumed,
        or only its state (``labels_only``, no classifier)."""
        campaign = cls(cleaner, trusted=trusted, disk_seen=disk_seen)
        with campaign.locked():
            if labels_only:
                campaign.state = state
            else:
                campaign.resume(state, None, None, close=False)
        return campaign

    def start(self, X, y_enc, fingerprint, validation, *, input_is_paths):
        """Phase 1 and the first classifier (round 0)."""
        p = self.cleaner
        rs = p.random_state
        seed = (
            int(rs)
            if isinstance(rs, Integral)
            else int(check_random_state(rs).randint(2**31 - 1))
        )
        n = y_enc.shape[0]
        self.state = s = CampaignState(
            seed=seed,
            fingerprint=fingerprint,
            classes=p.classes_,
            y_noisy=y_enc,
            initial_clean=np.zeros(n, dtype=bool),
            input_is_paths=bool(input_is_paths),
            input_paths=X if input_is_paths else None,
            n_features_in=getattr(p, "n_features_in_", None),
            consensus=getattr(p, "consensus", None),
        )
        journal = os.path.join(os.fspath(self.folder or ""), JOURNAL_FILE)
        if self.folder is not None and os.path.exists(journal):
            # Answers of an earlier campaign whose state was deleted: kept
            # aside (never deleted), not replayed into this one.
            os.replace(
                journal,
                f"{journal}.orphaned-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}",
            )
        self.estimator = make_estimator(p.estimator, seed)
        if p.start == "filter":
            fit_maybe_with_validation(self.estimator, X, s.classes[y_enc], validation)
            s.initial_clean = phase1_mask(self.estimator, n)
            s.clean = s.initial_clean.copy()
            s.phase1_rates = phase1_rates(self.estimator, s.classes)
        if start_audit(self, p.audit_size):  # the classifier follows the audit
            self.save()
            return
        self.classifier = train_classifier(self, X, validation, scratch=True)
        s.add_history_entry(np.zeros(0, np.intp), p.start)
        self.save_classifier()
        remember_proba(self, X)
        self.finish(X, validation)

    def resume(self, state, X, validation, *, close=True):
        """Continue from a checkpoint: replay journaled answers, close the
        round they complete (``close``), remove stale model files, redo an
        interrupted refit and report what was not reported."""
        self.state = state
        if state.consensus != getattr(self.cleaner, "consensus", None):
            state.consensus = self.cleaner.consensus  # the rule now declared
            apply_consensus(state)
        restore_models(self)
        if self.folder is not None:
            replay = entries_after(self.folder, self._journal_id(), state.journal_seq)
            for entry in replay:
                idx, labels = entry["indices"], entry["labels"]
                who = entry.get("annotator", DEFAULT_ANNOTATOR)
                if entry.get("amendment"):  # a corrected answer (_amend.py)
                    apply_amendment(state, idx, labels, annotator=who)
                else:
                    state.apply_answers(
                        idx, labels, entry["scores"], entry["source"], who, entry["seq"]
                    )
                state.journal_seq = entry["seq"]
            # A process killed between writing a model and the state naming
            # it (or before removing the old one) left other model files.
            named = state.model_files.get("classifier", [None])[0]
            remove_stale(self.folder, _CLASSIFIER, keep=named)
        if close and state.open_round and state.pending().size == 0:
            state.close_round()
            self.save()
        self.finish(state.input_paths if X is None else X, validation)

    # -- rounds -----------------------------------------------------------------------

    def _journal_id(self):
        return self.state.fingerprint["x"] + str(self.state.seed)

    def record(self, indices, encoded, scores, source, annotator=DEFAULT_ANNOTATOR):
        """Journal the answers (durably) and apply them to the state."""
        s = self.state
        if self.folder is not None:
            seq, round_ = s.journal_seq + 1, s.n_rounds + 1
            who = {} if annotator == DEFAULT_ANNOTATOR else {"annotator": annotator}
            entry = answer_entry(
                self._journal_id(), seq, round_, source, indices, encoded, scores, **who
            )
            append_journal(self.folder, entry)
        s.apply_answers(indices, encoded, scores, source, annotator)
        s.journal_seq += 1
        self.save()

    def ask(self, oracle, ids, X_subset, indices, scores, annotator=DEFAULT_ANNOTATOR):
        """Ask ``oracle`` about ``indices`` and record its answers. On an
        error the valid answers are kept and the error says what was."""
        round_ = self.state.n_rounds + 1
        try:
            encoded, _ = validate_oracle_labels(
                oracle(ids, X_subset),
                self.state.classes,
                n_expected=indices.size,
                round_=round_,
                indices=indices,
            )
        except UnknownLabelError as exc:
            # One mistyped label must not cost the round's other answers:
            # they are journaled; the round closes with them when fit
            # resumes, and the rest can be asked again later.
            keep, completed = exc.valid, self.state.budget_used
            if keep.any():
                self.record(
                    indices[keep], exc.encoded[keep], scores[keep], "oracle", annotator
                )
            note_failure(self, exc, round_, int(keep.sum()), completed)
            raise
        except BaseException as exc:  # KeyboardInterrupt too: note, re-raise
            note_failure(self, exc, round_)
            raise
        self.record(indices, encoded, scores, "oracle", annotator)

    def close_round(self, X, validation):
        """Close the answered round, save (the answers are safe even if the
        refit is interrupted), refit and report."""
        self.state.close_round()
        self.save()
        self.finish(X, validation)

    def close_if_answered(self, X, validation):
        self.finish(X, validation)  # a session stopped before a refit or report
        s = self.state
        if s.open_round and s.pending().size == 0:
            self.close_round(X, validation)

    def finish(self, X, validation):
        """Refit when a closed round needs it (and ``X`` is at hand), then
        report every history entry not reported yet."""
        s = self.state
        if s.needs_filter_refit and X is not None:
            refit_filter(self, X, validation)
            self.save()
        if s.needs_refit and X is not None and not s.needs_filter_refit:
            scratch = self.cleaner.refit == "scratch"
            self.classifier = train_classifier(self, X, validation, scratch=scratch)
            s.needs_refit = False
            self.save_classifier()
            remember_proba(self, X)
        if s.needs_refit:
            return  # reported after the refit
        while s.n_reported < len(s.history):
            self._report(s.history[s.n_reported], validation)

    def _report(self, entry, validation):
        report_round(self, entry, validation, score=macro_f1)

    def stop(self, condition):
        self.state.termination = condition
        self.save()
