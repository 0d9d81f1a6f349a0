"""The relabeling campaign behind :class:`ActiveLabelCleaner`.

Phase 1, the initial classifier, the rounds (rank, ask, apply, refit) and the
bookkeeping that makes every round recoverable from a checkpoint. The
estimator's public surface (parameters, ``fit``, ``predict``...) lives in
:mod:`noisyactive.active._cleaner`.
"""

import copy
import inspect
import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.utils import check_random_state

from noisyactive.active._oracle import validate_oracle_labels
from noisyactive.active._persist import save_campaign
from noisyactive.active._rounds import (
    FullClassView,
    check_ranking,
    format_round,
    random_ranking,
    relabel_log_array,
    resolve_batch_size,
    round_seed,
)

__all__ = ["CampaignMixin"]


def _derived_seed(seed, *keys):
    return int(np.random.default_rng([int(seed), *keys]).integers(2**31 - 1))


def _seed_if_unset(estimator, seed):
    # A sub-estimator left at random_state=None would make two runs (or a run
    # and its resumption) differ; the cleaner's seed decides instead.
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=seed)
    return estimator


def _fit_maybe_with_validation(estimator, X, y, validation):
    accepts = "X_val" in inspect.signature(estimator.fit).parameters
    if validation is not None and accepts:
        return estimator.fit(X, y, X_val=validation[0], y_val=validation[1])
    return estimator.fit(X, y)


def _macro_f1(classifier, validation):
    pred = classifier.predict(validation[0])
    return float(f1_score(validation[1], pred, average="macro", zero_division=0))


class CampaignMixin:
    """Campaign mechanics of :class:`ActiveLabelCleaner` (private methods)."""

    def _make_estimator(self):
        if self.estimator is None:
            from noisyactive.filtering import NoisyLabelFilter

            estimator = NoisyLabelFilter()
        else:
            estimator = clone(self.estimator)
        return _seed_if_unset(estimator, _derived_seed(self._seed, 0, 1))

    def _classifier_template(self):
        if self.classifier is not None:
            template = clone(self.classifier)
        elif hasattr(self.estimator_, "_make_classifier"):
            template = self.estimator_._make_classifier()
        else:
            from noisyactive.classifiers import NetClassifier

            template = NetClassifier()
        return _seed_if_unset(template, _derived_seed(self._seed, 0, 2))

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
        idx = np.flatnonzero(train_mask)
        if idx.size == 0:
            return False
        y_train = self.classes_[self._labels[idx]]
        X_train = X[idx]
        present = np.unique(y_train)
        clf = self.classifier_
        if (
            not scratch
            and clf is not None
            and hasattr(clf, "partial_fit")
            and np.isin(present, clf.classes_).all()
        ):
            best = -np.inf
            for _ in range(self.refit_epochs):
                clf.partial_fit(X_train, y_train)
                if validation is not None:  # keep the best-validation epoch
                    score = _macro_f1(clf, validation)
                    if score > best:
                        best, kept = score, copy.deepcopy(clf)
            if validation is not None:
                self.classifier_ = kept
        elif present.size < 2:
            return False  # a classifier cannot be fit on one class; keep the old
        else:
            clf = self._classifier_template()
            _fit_maybe_with_validation(clf, X_train, y_train, validation)
            self.classifier_ = clf
        self._classifier_version += 1
        return True

    def _training_mask(self):
        # CE + AL (start="noisy") trains on every sample with its current label
        # (noisy, or the oracle's answer) in every round, as the paper's
        # baseline; training on the relabeled few alone forgets the noisy
        # training and falls to a net fit on one batch of answers.
        if self.start == "noisy":
            return np.ones_like(self.clean_mask_)
        return self.clean_mask_

    def _candidates(self):
        return np.flatnonzero(~self.clean_mask_ & ~self.abstained_mask_)

    def _rank(self, X, candidates, n, round_):
        seed = round_seed(self._seed, round_)
        if self.classifier_ is None:  # nothing trained yet: ask at random
            return random_ranking(candidates, n, seed)
        from noisyactive.query import get_query_strategy

        strategy = get_query_strategy(self.query_strategy)
        model = self.classifier_
        if not np.array_equal(model.classes_, self.classes_):
            model = FullClassView(model, self.classes_)
        indices, scores = strategy.rank(
            model,
            X,
            candidates,
            n,
            labels=self.labels_,
            labeled_mask=self.clean_mask_,
            random_state=seed,
        )
        return check_ranking(indices, scores, candidates, n, round_)

    def _publish(self):
        self.labels_ = self.classes_[self._labels]
        self.relabel_log_ = relabel_log_array(self._log, self.classes_)

    def _save(self, *, save_estimator=False):
        if self.checkpoint is not None:
            save_campaign(self, self.checkpoint, save_estimator=save_estimator)

    # -- the campaign ------------------------------------------------------------

    def _start_campaign(self, X, y_enc, fingerprint, validation):
        rs = self.random_state
        self._seed = (
            int(rs)
            if isinstance(rs, Integral)
            else int(check_random_state(rs).randint(2**31 - 1))
        )
        self._fingerprint = fingerprint
        self._y_noisy = y_enc.astype(np.intp)
        self._labels = self._y_noisy.copy()
        n = y_enc.shape[0]
        self.estimator_ = self._make_estimator()
        self.initial_clean_mask_ = np.zeros(n, dtype=bool)
        if self.start == "filter":
            noisy = self.classes_[self._y_noisy]
            _fit_maybe_with_validation(self.estimator_, X, noisy, validation)
            self.initial_clean_mask_ = self._phase1_mask(n)
        self.clean_mask_ = self.initial_clean_mask_.copy()
        self.relabeled_mask_ = np.zeros(n, dtype=bool)
        self.abstained_mask_ = np.zeros(n, dtype=bool)
        self.queried_indices_, self.history_ = [], []
        self._log = {f: [] for f in ("round", "index", "old", "new", "score")}
        self.budget_used_, self.n_rounds_ = 0, 0
        self.termination_condition_ = None
        self.pending_indices_ = np.zeros(0, dtype=np.intp)
        self._pending_scores = np.zeros(0)
        self.classifier_, self._classifier_file, self._estimator_file = None, None, None
        self._classifier_version, self._classifier_saved = 0, -1
        self._needs_refit = False
        self._train_classifier(X, self._training_mask(), validation, scratch=True)
        self._publish()
        self._save(save_estimator=True)

    def _apply_answers(self, round_, indices, scores, encoded, answered, source):
        got, new = indices[answered], encoded[answered]
        old = self._labels[got].copy()
        self._labels[got] = new
        self.clean_mask_[got] = True
        self.relabeled_mask_[got] = True
        self.abstained_mask_[got] = False  # teach may answer an earlier abstention
        self.abstained_mask_[indices[~answered]] = True
        self.budget_used_ += int(got.size)
        self.n_rounds_ = round_
        self.queried_indices_.append(indices.copy())
        for field, values in zip(
            ("round", "index", "old", "new", "score"),
            (np.full(got.size, round_), got, old, new, scores[answered]),
        ):
            self._log[field].extend(values.tolist())
        self.history_.append(
            {
                "round": int(round_),
                "n_queried": int(indices.size),
                "n_returned": int(got.size),
                "n_abstained": int(indices.size - got.size),
                "n_changed": int((old != new).sum()),
                "budget_used": int(self.budget_used_),
                "n_clean": int(self.clean_mask_.sum()),
                "source": source,
                "val_macro_f1": None,
            }
        )
        keep = ~np.isin(self.pending_indices_, indices)
        self.pending_indices_ = self.pending_indices_[keep]
        self._pending_scores = self._pending_scores[keep]
        self._needs_refit = bool(got.size)
        self._publish()
        # Saved before the refit: the expert's answers are safe even if the
        # refit is interrupted; a resumed fit redoes the refit first.
        self._save()

    def _finish_round(self, X, validation):
        if self._needs_refit:
            self._train_classifier(
                X, self._training_mask(), validation, scratch=self.refit == "scratch"
            )
            self._needs_refit = False
        entry = self.history_[-1]
        if validation is not None and self.classifier_ is not None:
            pred = self.classifier_.predict(validation[0])
            entry["val_macro_f1"] = float(
                f1_score(validation[1], pred, average="macro", zero_division=0)
            )
        self._save()
        if self.verbose:
            k = resolve_batch_size(self.batch_size, self._labels.shape[0])
            print(format_round(entry, k * self.n_rounds, self.n_rounds))

    def _keep_note(self, exc, round_):
        note = (
            f"ActiveLabelCleaner: round {round_} did not complete; the "
            f"{self.n_rounds_} completed rounds ({self.budget_used_} labels) are "
            "kept in the estimator's labels_"
        )
        if self.checkpoint is not None:
            note += f" and in the checkpoint {os.fspath(self.checkpoint)!r}; fit "
            note += "again with the same checkpoint to resume."
        if hasattr(exc, "add_note"):
            exc.add_note(note)

    def _run_rounds(self, X, sample_ids, validation):
        if self.oracle is None:
            if self.termination_condition_ is None:
                self.termination_condition_ = "no_oracle"
            return
        k = resolve_batch_size(self.batch_size, X.shape[0])
        total = k * self.n_rounds
        pool = self._candidates().size
        if self.n_rounds_ < self.n_rounds and total - self.budget_used_ > pool:
            warnings.warn(
                f"The budget batch_size * n_rounds = {k} * {self.n_rounds} leaves "
                f"{total - self.budget_used_} labels to ask but only {pool} samples "
                f"can be relabeled; the budget is clamped to {pool} and the "
                "campaign stops when none are left.",
                UserWarning,
                stacklevel=4,
            )
        condition = "n_rounds"
        while self.n_rounds_ < self.n_rounds:
            round_ = self.n_rounds_ + 1
            candidates = self._candidates()
            left = total - self.budget_used_
            if left <= 0 or candidates.size == 0:
                condition = "budget_exhausted" if left <= 0 else "no_candidates"
                break
            indices, scores = self._rank(
                X, candidates, min(k, left, candidates.size), round_
            )
            ids = indices if sample_ids is None else sample_ids[indices]
            try:
                answers = self.oracle(ids, X[indices])
                encoded, answered = validate_oracle_labels(
                    answers,
                    self.classes_,
                    n_expected=indices.size,
                    round_=round_,
                    indices=indices,
                )
            except BaseException as exc:  # KeyboardInterrupt too: note, re-raise
                self._keep_note(exc, round_)
                raise
            self._apply_answers(round_, indices, scores, encoded, answered, "oracle")
            self._finish_round(X, validation)
        self.termination_condition_ = condition
        self._save()
