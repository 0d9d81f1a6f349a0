"""The steps of a campaign that ``ActiveLabelCleaner.fit`` strings together.

Each step reads and writes the one :class:`~noisyactive.active._state.CampaignState`
in ``self._state`` and, with a checkpoint, keeps the folder consistent:
answers are journaled (fsynced) before they are applied, the state is the
commit point, a classifier file is removed only after a state naming its
successor is in place.
"""

import contextlib
import copy
import os
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.utils import check_random_state

from noisyactive.active._files import (
    JOURNAL_FILE,
    CheckpointChangedError,
    append_journal,
    disk_mark,
    read_journal,
    remove_stale,
    remove_temporaries,
)
from noisyactive.active._lock import CheckpointLock
from noisyactive.active._spec import load_model, params_to_json, save_model, user_types
from noisyactive.active._state import CampaignState, derived_seed, resolve_batch_size
from noisyactive.active._training import (
    fit_maybe_with_validation,
    macro_f1,
    phase1_rates,
    seed_if_unset,
    torch_seeded,
)

__all__ = ["CampaignMixin"]


class CampaignMixin:
    """Campaign steps of :class:`ActiveLabelCleaner` (private methods)."""

    # -- locking and files ------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, rereads=False):
        """Hold the folder's lock; at this cleaner's outermost level, refuse
        to go on when another session changed the folder since this cleaner
        last read or wrote it (``rereads``: the caller reads it afresh)."""
        if self.checkpoint is None:
            yield
            return
        lock = CheckpointLock(self.checkpoint)
        first = not lock.held()
        outer = not getattr(self, "_lock_depth", 0)
        with lock:
            if outer and not rereads:
                self._check_disk_unchanged()
            if first:  # what a killed process left behind
                remove_temporaries(self.checkpoint)
                read_journal(self.checkpoint, repair=True)
            self._lock_depth = getattr(self, "_lock_depth", 0) + 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                if outer:  # what this cleaner leaves on disk is what it knows
                    read_journal(self.checkpoint, repair=True)
                    self._disk_seen = disk_mark(self.checkpoint)

    def _check_disk_unchanged(self):
        seen = getattr(self, "_disk_seen", None)
        if seen is not None and disk_mark(self.checkpoint) != seen:
            raise CheckpointChangedError(
                f"The checkpoint {os.fspath(self.checkpoint)!r} was changed by "
                "another session since this cleaner was loaded; reload it with "
                "load_cleaner (its answers are kept there). Nothing was written."
            )

    def _trusted(self):
        objects = (self.estimator, self.classifier, self.query_strategy)
        return tuple(self._load_trusted) + tuple(user_types(*objects))

    def _save(self):
        if self.checkpoint is None:
            return
        extra = {
            "params": params_to_json(self),
            "input_is_paths": bool(self._input_is_paths),
            "n_features_in": getattr(self, "n_features_in_", None),
        }
        self._state.to_files(self.checkpoint, extra)

    def _save_classifier(self):
        if self.checkpoint is None or self.classifier_ is None:
            return
        stem = f"classifier-{self._state.classifier_version:05d}"
        current = self._state.model_files.get("classifier")
        if current is not None and current[0].startswith(stem + "."):
            return  # unchanged (a refit was skipped); never rewrite a named file
        saved = save_model(self.checkpoint, stem, self.classifier_)
        self._state.model_files["classifier"] = list(saved)
        self._save()
        remove_stale(self.checkpoint, "classifier-", keep=saved[0])

    def _intact_note(self):
        s = self._state
        return (
            f" The state file is intact: {s.n_rounds} rounds and {s.budget_used} "
            f"labels; export them with load_cleaner({os.fspath(self.checkpoint)!r}, "
            "labels_only=True).export_labels(path)."
        )

    def _restore_models(self, trusted):
        self.estimator_ = self._make_estimator()
        self.classifier_ = None
        entry = self._state.model_files.get("classifier")
        if entry is not None:
            self.classifier_ = load_model(
                self.checkpoint,
                *entry,
                self._classifier_template(),
                trusted=trusted,
                what=self._intact_note(),
            )

    # -- building -----------------------------------------------------------------

    def _make_estimator(self):
        if self.estimator is None:
            from noisyactive.filtering import NoisyLabelFilter

            estimator = NoisyLabelFilter()
        else:
            estimator = clone(self.estimator)
        return seed_if_unset(estimator, derived_seed(self._state.seed, 0, 1))

    def _classifier_template(self):
        if self.classifier is not None:
            template = clone(self.classifier)
        elif hasattr(self.estimator_, "_make_classifier"):
            template = self.estimator_._make_classifier()
        else:
            from noisyactive.classifiers import NetClassifier

            template = NetClassifier()
        return seed_if_unset(template, derived_seed(self._state.seed, 0, 2))

    def _phase1_mask(self, n_samples):
        mask = getattr(self.estimator_, "clean_mask_", None)
        if mask is None:
            raise ValueError(
                f"start='filter' needs a phase-1 estimator that sets clean_mask_ "
                f"in fit (such as NoisyLabelFilter); "
                f"{type(self.estimator_).__name__} does not. Use start='noisy' "
                "(train on all noisy labels first) or start='none' (start from "
                "nothing)."
            )
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (n_samples,):
            raise ValueError(
                f"The phase-1 estimator's clean_mask_ must be a boolean array of "
                f"shape ({n_samples},); got {mask.dtype} of shape {mask.shape}."
            )
        return mask.copy()

    def _train_classifier(self, X, train_mask, validation, *, scratch):
        """Fit or fine-tune the classifier on ``train_mask``; False if unable."""
        s = self._state
        idx = np.flatnonzero(train_mask)
        y_train = self.classes_[s.labels[idx]]
        present = np.unique(y_train)
        clf = self.classifier_
        seed = derived_seed(s.seed, s.classifier_version, 3)
        if idx.size == 0:
            return False
        if (
            not scratch
            and clf is not None
            and hasattr(clf, "partial_fit")
            and np.isin(present, clf.classes_).all()
        ):
            best = -np.inf
            with torch_seeded(seed):
                for _ in range(self.refit_epochs):
                    clf.partial_fit(X[idx], y_train)
                    if validation is not None:  # keep the best-validation epoch
                        score = macro_f1(clf, validation)
                        if score > best:
                            best, kept = score, copy.deepcopy(clf)
            if validation is not None:
                self.classifier_ = kept
        elif present.size < 2:
            return False  # a classifier cannot be fit on one class; keep the old
        else:
            clf = self._classifier_template()
            with torch_seeded(seed):
                fit_maybe_with_validation(clf, X[idx], y_train, validation)
            self.classifier_ = clf
        s.classifier_version += 1
        return True

    def _training_mask(self):
        # CE + AL (start="noisy") trains on every sample with its current label
        # (noisy, or the oracle's answer) in every round, as the paper's
        # baseline; training on the relabeled few alone forgets the noisy
        # training and falls to a net fit on one batch of answers.
        if self.start == "noisy":
            return np.ones_like(self._state.clean)
        return self._state.clean

    # -- the campaign's public face -------------------------------------------------

    def _publish(self):
        s = self._state
        self.labels_ = self.classes_[s.labels]
        self.initial_clean_mask_ = s.initial_clean
        self.clean_mask_ = s.clean
        self.relabeled_mask_ = s.relabeled
        self.abstained_mask_ = s.abstained
        self.queried_indices_ = s.queried
        self.pending_indices_ = s.pending()
        self.history_ = s.history
        self.relabel_log_ = s.relabel_log()
        self.budget_used_ = s.budget_used
        self.budget_total_ = (
            resolve_batch_size(self.batch_size, s.labels.shape[0]) * self.n_rounds
        )
        self.n_rounds_ = s.n_rounds
        self.input_paths_ = s.input_paths
        self.termination_condition_ = s.termination

    def _report(self, entry, validation):
        """Validation score of the current classifier, then ``on_round_end``."""
        if validation is not None and self.classifier_ is not None:
            pred = self.classifier_.predict(validation[0])
            entry["val_macro_f1"] = float(
                f1_score(validation[1], pred, average="macro", zero_division=0)
            )
        self._save()
        if self.on_round_end is not None:
            self.on_round_end(self, entry)

    # -- the steps ---------------------------------------------------------------------

    def _start_campaign(self, X, y_enc, fingerprint, validation):
        rs = self.random_state
        seed = (
            int(rs)
            if isinstance(rs, Integral)
            else int(check_random_state(rs).randint(2**31 - 1))
        )
        n = y_enc.shape[0]
        self._state = CampaignState(
            seed=seed,
            fingerprint=fingerprint,
            classes=self.classes_,
            y_noisy=y_enc,
            initial_clean=np.zeros(n, dtype=bool),
            input_paths=X if self._input_is_paths else None,
        )
        journal = os.path.join(os.fspath(self.checkpoint or ""), JOURNAL_FILE)
        if self.checkpoint is not None and os.path.exists(journal):
            # Answers of an earlier campaign whose state was deleted: kept
            # aside (never deleted), not replayed into this one.
            os.replace(journal, journal + f".orphaned-{os.getpid()}")
        self.estimator_ = self._make_estimator()
        if self.start == "filter":
            noisy = self.classes_[y_enc]
            fit_maybe_with_validation(self.estimator_, X, noisy, validation)
            mask = self._phase1_mask(n)
            self._state.initial_clean, self._state.clean = mask, mask.copy()
            self._state.phase1_rates = phase1_rates(self.estimator_, self.classes_)
        self.classifier_ = None
        self._train_classifier(X, self._training_mask(), validation, scratch=True)
        entry = {
            "round": 0,
            "n_queried": 0,
            "n_returned": 0,
            "n_abstained": 0,
            "n_changed": 0,
            "n_audited": 0,
            "budget_used": 0,
            "n_clean": int(self._state.clean.sum()),
            "source": self.start,
            "val_macro_f1": None,
            **self._state.noise_estimate(),
        }
        self._state.history.append(entry)
        self._publish()
        self._save_classifier()
        self._report(entry, validation)

    def _resume(self, state, X, validation, *, close=True):
        """Continue from a checkpoint: replay journaled answers, finish the
        round they complete (``close``), redo an interrupted refit."""
        self._state = state
        self._restore_models(self._trusted())
        if self.checkpoint is not None:
            for entry in read_journal(self.checkpoint):
                if entry["campaign"] == state.fingerprint["x"] + str(state.seed) and (
                    entry["seq"] > state.journal_seq
                ):
                    scores = [np.nan if v is None else v for v in entry["scores"]]
                    state.apply_answers(entry["indices"], entry["labels"], scores)
                    state.journal_seq = entry["seq"]
                    self._last_source = entry["source"]
        self._publish()
        if close and state.open_round and state.pending().size == 0:
            state.close_round(getattr(self, "_last_source", "oracle"))
            self._publish()
            self._save()
        X = state.input_paths if X is None else X
        if state.needs_refit and X is not None:
            self._finish_round(X, validation)

    def _record(self, indices, encoded, scores, source):
        """Journal the answers (durably) and apply them to the state."""
        s = self._state
        if self.checkpoint is not None:
            append_journal(
                self.checkpoint,
                {
                    "campaign": s.fingerprint["x"] + str(s.seed),
                    "seq": s.journal_seq + 1,
                    "round": s.n_rounds + 1,
                    "source": source,
                    "indices": np.asarray(indices).tolist(),
                    "labels": np.asarray(encoded).tolist(),
                    "scores": [None if v != v else float(v) for v in scores],
                },
            )
        s.apply_answers(indices, encoded, scores)
        s.journal_seq += 1
        self._publish()
        self._save()

    def _close_round(self, X, validation, source):
        self._state.close_round(source)
        self._publish()
        self._save()  # answers are safe even if the refit is interrupted
        self._finish_round(X, validation)

    def _finish_round(self, X, validation):
        s = self._state
        if s.needs_refit:
            scratch = self.refit == "scratch"
            self._train_classifier(
                X, self._training_mask(), validation, scratch=scratch
            )
            s.needs_refit = False
            self._save_classifier()
        self._publish()
        self._report(s.history[-1], validation)
        if self.verbose:
            entry = s.history[-1]
            line = (
                f"[ActiveLabelCleaner] round {entry['round']}/{self.n_rounds}: "
                f"asked {entry['n_queried']}, answered {entry['n_returned']}, "
                f"changed {entry['n_changed']}, budget {entry['budget_used']}/"
                f"{self.budget_total_}"
            )
            if entry.get("val_macro_f1") is not None:
                line += f", val macro-F1 {entry['val_macro_f1']:.4f}"
            print(line)

    def _keep_note(self, exc, round_, kept=0, completed=None):
        completed = self.budget_used_ if completed is None else completed
        note = (
            f"ActiveLabelCleaner: round {round_} did not complete; the "
            f"{self.n_rounds_} completed rounds ({completed} labels) "
        )
        if kept:
            note += f"and the {kept} valid answers of round {round_} "
        note += "are kept in the estimator's labels_"
        if self.checkpoint is not None:
            note += f" and in the checkpoint {os.fspath(self.checkpoint)!r} "
            note += f"(answers journaled in {JOURNAL_FILE}); fit again with the "
            note += "same checkpoint to resume."
        if hasattr(exc, "add_note"):
            exc.add_note(note)
