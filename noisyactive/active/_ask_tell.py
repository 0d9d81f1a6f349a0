"""Ask/tell: relabeling rounds driven from outside Python.

An expert who annotates in another tool over days cannot be a Python
callable. After ``fit`` (with ``oracle=None``, or once its rounds are done),
:meth:`~AskTellMixin.query` hands out the next samples to annotate (optionally
as a CSV of file paths) and :meth:`~AskTellMixin.teach` takes the answers,
applies them as one round and refits. With ``checkpoint`` set every step is
saved, and :func:`~noisyactive.active.load_cleaner` continues the campaign in
a later session.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from noisyactive.active._checkpoint import data_fingerprint
from noisyactive.active._oracle import _listed, validate_oracle_labels
from noisyactive.active._rounds import resolve_batch_size, write_query_csv

__all__ = ["AskTellMixin"]


class AskTellMixin:
    """``query``/``teach`` methods of :class:`ActiveLabelCleaner`."""

    def _check_same_data(self, X):
        check_is_fitted(self)
        X = self._check_data(X, reset=False)
        fingerprint = data_fingerprint(X, self.classes_, self._y_noisy)
        if fingerprint["x"] != self._fingerprint["x"]:
            raise ValueError(
                "X is not the data this cleaner was fitted on (fitted on shape "
                f"{tuple(self._fingerprint['x_shape'])}, dtype "
                f"{self._fingerprint['x_dtype']}; got shape {tuple(X.shape)}, dtype "
                f"{X.dtype}, or the same shape with other values). query and teach "
                "need the training data, in the same order."
            )
        return X

    def query(self, X, n=None, *, csv_path=None, paths=None):
        """Return the next samples to annotate and keep them as pending.

        While earlier queries are pending (not yet taught), the same indices
        are returned again, so calling ``query`` twice never hands out new
        work by accident.

        Parameters
        ----------
        X : array-like
            The training data ``fit`` was called with.
        n : int, default=None
            Number of samples; default ``batch_size``. Clamped to the budget
            left (``batch_size * n_rounds - budget_used_``; raise
            ``n_rounds`` with ``set_params`` to extend a campaign) and to the
            samples left.
        csv_path : str or path-like, default=None
            Also write the questions to this CSV: columns ``index,path`` when
            ``X`` holds file paths or ``paths`` is given, else ``index``.
        paths : array-like of shape (n_samples,), default=None
            File path of every training sample, for the CSV.

        Returns
        -------
        indices : ndarray of int
            Indices into ``X``, best first.

        Raises
        ------
        ValueError
            If ``X`` is not the fitted data, the budget is spent or no sample
            is left to relabel.
        """
        X = self._check_same_data(X)
        if n is not None and (
            not isinstance(n, Integral) or isinstance(n, bool) or n < 1
        ):
            raise ValueError(f"n must be a positive integer or None; got {n!r}.")
        pending = self.pending_indices_
        if not pending.size or (n is not None and n != pending.size):
            k = resolve_batch_size(self.batch_size, X.shape[0])
            left = k * self.n_rounds - self.budget_used_
            if left <= 0:
                raise ValueError(
                    f"The budget of batch_size * n_rounds = {k * self.n_rounds} "
                    f"labels is spent ({self.budget_used_} used). To continue, "
                    "raise it, e.g. cleaner.set_params(n_rounds=...)."
                )
            want = k if n is None else n
            if want > left:
                warnings.warn(
                    f"Asked for {want} samples but only {left} labels of the "
                    f"budget are left; querying {left}.",
                    UserWarning,
                    stacklevel=2,
                )
            candidates = self._candidates()
            if candidates.size == 0:
                raise ValueError(
                    "No sample is left to relabel: every sample is in the clean "
                    "part or was abstained on."
                )
            size = min(want, left, candidates.size)
            pending, scores = self._rank(X, candidates, size, self.n_rounds_ + 1)
            self.pending_indices_, self._pending_scores = pending, scores
            self._save()
        if csv_path is not None:
            if paths is None and self._input_is_paths:
                paths = X
            if paths is not None and len(paths) != X.shape[0]:
                raise ValueError(
                    f"paths has {len(paths)} entries; expected one per sample "
                    f"({X.shape[0]})."
                )
            write_query_csv(csv_path, pending, paths)
        return pending.copy()

    def teach(self, X, indices, labels, *, X_val=None, y_val=None):
        """Apply an expert's labels as one round and refit the classifier.

        Parameters
        ----------
        X : array-like
            The training data ``fit`` was called with.
        indices : array-like of int
            Samples the labels belong to (usually what :meth:`query`
            returned; any sample outside the clean part is accepted).
        labels : array-like
            One class value per index; ``None``/NaN abstains (the sample is
            not counted, not relabeled and not asked again).
        X_val, y_val : array-like, default=None
            Validation data for ``val_macro_f1`` in ``history_``.

        Returns
        -------
        self : ActiveLabelCleaner
        """
        X = self._check_same_data(X)
        validation = self._check_validation(X_val, y_val)
        raw = np.asarray(indices)
        if raw.ndim != 1 or (raw.size and raw.dtype.kind not in "iu"):
            raise ValueError(
                f"indices must be a 1-D array of integers; got {raw.dtype} of "
                f"shape {raw.shape}."
            )
        idx = raw.astype(np.intp)
        n = X.shape[0]
        if idx.size == 0:
            raise ValueError("indices is empty; nothing to teach.")
        outside = (idx < 0) | (idx >= n)
        if outside.any():
            raise ValueError(
                f"indices {_listed(idx[outside].tolist())} are out of range for "
                f"{n} samples."
            )
        if np.unique(idx).size != idx.size:
            raise ValueError("indices contains repeated samples.")
        clean = self.clean_mask_[idx]
        if clean.any():
            raise ValueError(
                f"Samples {_listed(idx[clean].tolist())} are already in the clean "
                "part (kept by phase 1 or relabeled earlier); teach only takes "
                "samples that are still noisy."
            )
        round_ = self.n_rounds_ + 1
        encoded, answered = validate_oracle_labels(
            labels, self.classes_, n_expected=idx.size, round_=round_, indices=idx
        )
        scores = np.full(idx.size, np.nan)
        position = {int(i): p for p, i in enumerate(self.pending_indices_.tolist())}
        for k, i in enumerate(idx.tolist()):
            if i in position:
                scores[k] = self._pending_scores[position[i]]
        self._apply_answers(round_, idx, scores, encoded, answered, "teach")
        self._finish_round(X, validation)
        return self
