"""The one place where the review tools touch an :class:`ActiveLabelCleaner`.

The web page, the command line and the Label Studio bridge go through
:class:`ReviewSession`, so a change of the cleaner's ask/tell API is absorbed
here. A session owns one cleaner loaded from its checkpoint folder; every
answer is handed to ``teach(..., finish=False)``, which journals it in the
checkpoint before it returns, so a stopped server or a closed browser loses
nothing.
"""

import contextlib
import os
import threading

import numpy as np

__all__ = ["NotOpenError", "ReviewSession", "label_text"]


class NotOpenError(ValueError):
    """The sample is not an open question of the current round (or, for an
    image, neither open nor answered): nothing was recorded or shown."""


def label_text(value):
    """The label as the expert sees it (``""`` for None/NaN)."""
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


class ReviewSession:
    """An expert's view of an ask/tell campaign stored in ``checkpoint``.

    Parameters
    ----------
    checkpoint : str or path-like
        The cleaner's checkpoint folder.
    X : array-like, default=None
        The training data, needed only when the campaign was fitted on arrays
        (for path inputs the checkpoint knows the paths).
    cleaner : ActiveLabelCleaner, default=None
        An already loaded cleaner (for the Python entry point); default: read
        from ``checkpoint``, its estimators built when first needed.
    trusted : tuple of str, default=()
        Modules (besides noisyactive's, scikit-learn's, torch's) whose
        classes the checkpoint may name, trusted at every (re)load: the
        campaign's own estimator or network module, for example.
    """

    def __init__(self, checkpoint, X=None, *, cleaner=None, trusted=()):
        self.checkpoint = os.fspath(checkpoint)
        self.X = X
        self.trusted = tuple(trusted)
        self.cleaner = self._load() if cleaner is None else cleaner
        self._lock = threading.RLock()
        self._reloadable = cleaner is None
        self.end_message = None
        self._seen = self._stamp()
        paths = getattr(self.cleaner, "input_paths_", None)
        self.paths = None if paths is None else np.asarray(paths, dtype=object)
        if self.paths is None and X is None:
            raise ValueError(
                f"The campaign in {self.checkpoint!r} was fitted on arrays, not on "
                "file paths, so the review needs the training data: pass X "
                "(noisyactive.review.serve(checkpoint, X=X))."
            )
        by_text = {}
        for value in self.cleaner.classes_:
            by_text.setdefault(label_text(value), value)
        self._by_text = by_text

    # -- what the expert sees ------------------------------------------------
    @property
    def classes(self):
        """Class names as text, in the cleaner's order."""
        return [label_text(c) for c in self.cleaner.classes_]

    def pending(self):
        """Unanswered samples of the current batch, in query order.

        Returns
        -------
        rows : list of dict
            ``index``, ``path`` (or None), ``current_label``,
            ``suggested_label`` (text) and ``confidence`` (float or None).
        """
        with self._use():
            rows = self.cleaner.pending_table(self._x())
        out = []
        for row in rows:
            confidence = row.get("confidence")
            out.append(
                {
                    "index": int(row["index"]),
                    "path": row.get("path"),
                    "name": os.path.basename(row.get("path") or ""),
                    "current_label": label_text(row.get("current_label")),
                    "suggested_label": label_text(row.get("suggested_label")),
                    "confidence": None
                    if confidence is None or np.isnan(confidence)
                    else float(confidence),
                }
            )
        return out

    def progress(self):
        """Counts for the progress line: batch size, answered, budget."""
        with self._use():
            c = self.cleaner
            open_ = len(np.asarray(c.pending_indices_))
            answered = self._answered_in_round()
            total = int(c.budget_total_)
            used = int(c.budget_used_)
            return {
                "batch": open_ + answered,
                "answered": answered,
                "open": open_,
                "round": int(c.n_rounds_) + 1,
                "budget_total": total,
                "budget_used": used,
                "budget_left": max(total - used, 0),
            }

    @property
    def n_samples(self):
        """Number of training samples."""
        return len(self.paths) if self.paths is not None else len(self.X)

    def image_source(self, index):
        """``("path", file)`` for path inputs, else ``("array", ndarray)``."""
        index = int(index)
        if not 0 <= index < self.n_samples:
            raise KeyError(index)
        if self.paths is not None:
            return "path", os.fspath(self.paths[index])
        return "array", np.asarray(self.X[index])

    def open_indices(self):
        """The unanswered samples of the current round, as a set of int."""
        with self._use():
            return {int(i) for i in np.asarray(self.cleaner.pending_indices_)}

    def shown_indices(self):
        """Samples whose image the expert may see: the open questions and
        every sample answered (or abstained on) in this or an earlier round."""
        with self._use():
            s = self.cleaner._state
            shown = {int(i) for i in np.asarray(self.cleaner.pending_indices_)}
            shown.update(int(i) for i in s.open_round)
            shown.update(int(i) for i in np.flatnonzero(s.relabeled))
            shown.update(int(i) for i in np.flatnonzero(s.abstained))
            return shown

    def shown_image(self, index):
        """:meth:`image_source` of a sample in :meth:`shown_indices`.

        Raises
        ------
        KeyError
            No sample ``index``.
        NotOpenError
            The sample is neither open nor answered.
        """
        kind, source = self.image_source(index)
        if int(index) not in self.shown_indices():
            raise NotOpenError(
                f"Sample {int(index)} is neither an open question nor an answered "
                "one; its image is not shown."
            )
        return kind, source

    # -- what the expert does -----------------------------------------------
    def parse_label(self, text):
        """The class value for an answer's text; ``""``/None abstains."""
        if text is None or text == "":
            return None
        try:
            return self._by_text[str(text)]
        except KeyError:
            raise ValueError(
                f"{text!r} is not a class of this campaign; the classes are "
                f"{self.classes}."
            ) from None

    def answer(self, indices, labels, *, finish=False, amend=False):
        """Record answers now (journaled in the checkpoint).

        ``labels`` are texts as shown (``""`` abstains). With ``finish=True``
        the round is applied (classifier refit) once nothing is left open;
        ``amend=True`` accepts changed answers of answered samples (see
        ``ActiveLabelCleaner.teach``).
        """
        values = [self.parse_label(t) for t in labels]
        with self._use():
            self.cleaner.teach(
                self._x(),
                np.asarray(indices, dtype=np.intp),
                values,
                finish=finish,
                amend=amend,
            )

    def answer_open(self, index, label):
        """Record one answer for a question of the current round: an open
        one, or one answered already in this round (the answer is changed:
        journaled as a correction, see ``teach(..., amend=True)``).

        The check and the write happen under the session's lock, so two
        requests cannot both answer one question.

        Raises
        ------
        NotOpenError
            ``index`` is not a question of the current round (never asked,
            or asked in an earlier round); nothing is recorded.
        ValueError
            ``label`` is not a class of the campaign.
        """
        index = int(index)
        value = self.parse_label(label)
        with self._use():
            s = self.cleaner._state
            if index not in self.open_indices() and index not in s.open_round:
                raise NotOpenError(
                    f"Sample {index} is not an open question of round "
                    f"{int(self.cleaner.n_rounds_) + 1}; nothing was recorded."
                )
            if value is None and s.abstained[index] and not s.relabeled[index]:
                return  # "not sure" again: nothing changes
            self.cleaner.teach(
                self._x(),
                np.asarray([index], dtype=np.intp),
                [value],
                finish=False,
                amend=True,
            )

    def answered(self):
        """The samples answered (or abstained on) in the current round, last
        answered first: ``index``, ``path``, ``name``, ``answer`` (text,
        ``""`` for "not sure") and ``before`` (the label before the answer)."""
        with self._use():
            s = self.cleaner._state
            classes = self.cleaner.classes_
            order = list(dict.fromkeys(reversed([int(i) for i in s.open_round])))
            old = dict(zip(s.log["index"], s.log["old"]))
            rows = []
            for i in order:
                path = None if self.paths is None else os.fspath(self.paths[i])
                answer = label_text(classes[s.labels[i]]) if s.relabeled[i] else ""
                rows.append(
                    {
                        "index": i,
                        "path": path,
                        "name": os.path.basename(path or ""),
                        "answer": answer,
                        "before": label_text(classes[old.get(i, s.labels[i])]),
                    }
                )
            return rows

    def open_round(self):
        """The open questions, handing out the next round first when none is
        open (applying an answered batch, as ``query`` does).

        Raises
        ------
        ValueError
            The campaign is over (budget spent, nothing left to ask).
        """
        with self._use():
            return self.cleaner.query(self._x())

    def next_round(self):
        """Apply the answered batch (refit) and rank the next one.

        Returns
        -------
        indices : ndarray of int
            The new pending samples.
        """
        with self._use():
            try:
                indices = self.cleaner.query(self._x())
            except ValueError as exc:
                # query applies the answered batch before it finds the budget
                # spent or nothing left to ask: the campaign's end, not an error
                if self._answered_in_round() or len(self.cleaner.pending_indices_):
                    raise
                self.end_message = str(exc)
                return np.zeros(0, dtype=np.intp)
            self.end_message = None
            return indices

    @property
    def campaign_id(self):
        """A short digest of the campaign (its data, labels and seed): the
        Label Studio tasks carry it so that answers reach only their campaign."""
        import hashlib

        with self._use():
            s = self.cleaner._state
            fp = s.fingerprint
            text = f"{fp.get('x')}|{fp.get('y')}|{s.seed}"
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def applied_labels(self, indices):
        """The applied answer of each index: the label text where an expert
        relabeled it, ``""`` where they abstained, None where none exists."""
        with self._use():
            s = self.cleaner._state
            classes = self.cleaner.classes_
            out = []
            for i in (int(i) for i in indices):
                if s.relabeled[i]:
                    out.append(label_text(classes[s.labels[i]]))
                else:
                    out.append("" if s.abstained[i] else None)
            return out

    # -- the spreadsheet path ------------------------------------------------
    def write_questions_csv(self, path):
        """Write the open questions (and the allowed labels) as CSV for the
        expert; applies an answered batch first (see ``query``).

        Returns
        -------
        indices : ndarray of int
        """
        with self._use():
            return self.cleaner.query(self._x(), csv_path=path)

    def teach_csv(self, path, *, amend=False):
        """Teach a filled-in questions CSV (blank ``label`` abstains);
        ``amend=True`` accepts changed answers of answered samples."""
        with self._use():
            self.cleaner.teach_from_csv(path, X=self._x(), amend=amend)

    def export_labels(self, path):
        """One row per training sample: given and final label, source, the
        final model's label quality and suggestion, ``is_label_issue``."""
        with self._use():
            self.cleaner.export_labels(path, X=self._x())

    def finished(self):
        """Why no further round can be handed out (None while one can)."""
        p = self.progress()
        if p["batch"]:  # questions open, or answers not applied yet
            return None
        if p["budget_left"] <= 0:
            return f"The budget of {p['budget_total']} labels is spent."
        return self.end_message

    def _x(self):
        return self.X

    def _answered_in_round(self):
        # Answers given in the round that is not applied yet. The cleaner
        # publishes only the unanswered part (pending_indices_); the answered
        # part lives in its campaign state.
        return len(set(self.cleaner._state.open_round))

    def _stamp(self):
        """Newest modification time of the checkpoint's files."""
        try:
            with os.scandir(self.checkpoint) as entries:
                return max((e.stat().st_mtime_ns for e in entries), default=0)
        except FileNotFoundError:
            return 0

    def _load(self):
        from noisyactive.active import ActiveLabelCleaner

        return ActiveLabelCleaner.from_checkpoint(  # torch: only when refitting
            self.checkpoint, trusted=self.trusted, lazy=True
        )

    def _refresh(self):
        """Reload the cleaner when another process (``noisyactive teach``, a
        Label Studio import) changed the checkpoint since our last look."""
        stamp = self._stamp()
        if stamp != self._seen:
            self.cleaner = self._load()
            self._seen = self._stamp()

    @contextlib.contextmanager
    def _use(self):
        with self._lock:
            if self._reloadable:
                self._refresh()
            try:
                yield
            finally:
                self._seen = self._stamp()
