"""The state of a relabeling campaign, as one dataclass, and its arithmetic.

:class:`CampaignState` holds everything a campaign has learnt (labels, masks,
the relabel log, the batch being asked, budget, seed, data fingerprint,
classifier version) and is the only thing written to and read from a
checkpoint (:meth:`~CampaignState.to_files` / :meth:`~CampaignState.from_files`).
The functions beside it are pure: seeds and batch sizes (the noise estimate
is :func:`~noisyactive.active.refine_noise_rates`).
"""

import math
import numbers
from dataclasses import dataclass, field, fields

import numpy as np

from noisyactive.active._annotators import (
    ANSWER_FIELDS,
    DEFAULT_ANNOTATOR,
    add_answers,
    annotator_fields,
    apply_consensus,
    pending_mask,
    upgrade_v2,
)
from noisyactive.active._audit_state import close_audit, noise_fields
from noisyactive.active._files import (
    CHECKPOINT_VERSION,
    CheckpointCorruptedError,
    read_state,
    write_state,
)
from noisyactive.active._refine import refine_noise_rates

__all__ = [
    "CampaignState",
    "derived_seed",
    "resolve_batch_size",
    "refine_noise_rates",
]

LOG_FIELDS = ("round", "index", "old", "new", "score")
_SEED_HIGH = 2**31 - 1


def derived_seed(seed, *keys):
    """A seed that is a pure function of the campaign seed and ``keys``
    (e.g. the round), so a resumed campaign draws what an uninterrupted one
    draws.

    Examples
    --------
    >>> from noisyactive.active._state import derived_seed
    >>> a, b = derived_seed(0, 3), derived_seed(0, 4)
    >>> a == derived_seed(0, 3), a == b
    (True, False)
    """
    keys = [int(k) for k in keys]
    return int(np.random.default_rng([int(seed), *keys]).integers(_SEED_HIGH))


def resolve_batch_size(batch_size, n_samples):
    """Labels per round: an int as given, a float in (0, 1) as a share of data.

    Examples
    --------
    >>> from noisyactive.active._state import resolve_batch_size
    >>> resolve_batch_size(70, 1000), resolve_batch_size(0.028, 17731)
    (70, 497)
    """
    if isinstance(batch_size, numbers.Integral):
        return int(batch_size)
    return max(1, math.ceil(float(batch_size) * n_samples))


def _intp(values):
    return np.asarray(values, dtype=np.intp)


# How a field that is not a plain array or JSON value is stored (``metadata``
# of the field): "ragged", a list of int arrays (one array and its lengths);
# "columns", a dict of equal-length number lists (one array per key).
_RAGGED, _COLUMNS = "ragged", "columns"
# Fields a format-2 checkpoint lacks (its answers come from the relabel log).
_SINCE_V3 = ("annotators", "answers", "consensus", "batch_wanted")
# Fields a format-3 checkpoint lacks (they keep their default).
_SINCE_V4 = ("model_votes",)
# Fields a folder written before them lacks; their default means "none".
_OPTIONAL = ("proba", "proba_version")


@dataclass
class CampaignState:
    """Everything a campaign has learnt; the checkpoint holds exactly this.

    Labels are encoded as positions in ``classes``. ``batch`` is the round
    being asked; ``open_round`` the samples answered (or abstained on) in it
    so far, in arrival order, ``last_source`` who gave the last answers
    (``"oracle"`` or ``"teach"``). ``journal_seq`` counts the journaled
    answer batches already in this state; ``n_reported`` the ``history``
    entries whose report (validation score, ``on_round_end``) is done.
    Every field is saved (:meth:`to_files`): a new one needs no other change.
    """

    seed: int
    fingerprint: dict
    classes: np.ndarray
    y_noisy: np.ndarray
    initial_clean: np.ndarray
    labels: np.ndarray = None
    clean: np.ndarray = None
    relabeled: np.ndarray = None
    abstained: np.ndarray = None
    answer_round: np.ndarray = None
    queried: list = field(default_factory=list, metadata={"store": _RAGGED})
    log: dict = field(
        default_factory=lambda: {f: [] for f in LOG_FIELDS},
        metadata={"store": _COLUMNS},
    )
    batch: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    batch_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    open_round: list = field(default_factory=list)
    last_source: str = "oracle"
    n_rounds: int = 0
    budget_used: int = 0
    history: list = field(default_factory=list)
    n_reported: int = 0
    termination: str = None
    needs_refit: bool = False
    classifier_version: int = 0
    model_files: dict = field(default_factory=dict)
    journal_seq: int = 0
    phase1_rates: list = None
    input_is_paths: bool = False
    input_paths: np.ndarray = None
    n_features_in: int = None
    # The audit (noisyactive.active._audit): drawn samples, their inclusion
    # weights, whether it is being asked, the estimates and phase 1's refit.
    audit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    audit_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    audit_open: bool = False
    audit_refit: object = False
    needs_filter_refit: bool = False
    refit_forget_rate: float = None
    noise_prior: dict = None
    noise_posterior: dict = None
    noise_report: str = None
    # Several annotators (noisyactive.active._annotators): their names, every
    # answer (one row each), the consensus rule, the answers each sample of
    # the batch wants this round (empty: one answer, as for a single expert).
    annotators: list = field(default_factory=list)
    answers: dict = field(
        default_factory=lambda: {f: [] for f in ANSWER_FIELDS},
        metadata={"store": _COLUMNS},
    )
    consensus: str = None
    batch_wanted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # consensus="crowdlab": the classifier's probabilities for each sample
    # when it was first asked (a NaN row: none yet); empty for other rules.
    model_votes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    # The current classifier's class probabilities of every sample (columns
    # in ``classes`` order), saved with it: what query, teach and export read
    # without loading the model. ``proba_version``: its classifier_version.
    proba: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    proba_version: int = 0

    def __post_init__(self):
        n = self.y_noisy.shape[0]
        self.y_noisy = _intp(self.y_noisy)
        if self.labels is None:
            self.labels = self.y_noisy.copy()
            self.clean = self.initial_clean.copy()
            self.relabeled = np.zeros(n, dtype=bool)
            self.abstained = np.zeros(n, dtype=bool)
            self.answer_round = np.zeros(n, dtype=np.int64)

    # -- what can be asked --------------------------------------------------------

    def candidates(self):
        """Samples a query strategy may rank: outside the clean part, never
        abstained on."""
        return np.flatnonzero(~self.clean & ~self.abstained)

    def audit_candidates(self):
        """Samples phase 1 kept and nobody has reviewed yet."""
        return np.flatnonzero(self.initial_clean & ~self.relabeled & ~self.abstained)

    def _pending(self):
        if self.batch_wanted.size:  # several answers per sample
            return pending_mask(self)
        return ~np.isin(self.batch, _intp(self.open_round))

    def pending(self):
        """The batch's samples without an answer yet (without all the answers
        they want this round), in query order."""
        return self.batch[self._pending()]

    def pending_scores(self):
        return self.batch_scores[self._pending()]

    def several_annotators(self):
        """Whether answers are weighed (a rule, or more than one annotator)."""
        return self.consensus is not None or len(self.annotators) > 1

    # -- answers and rounds -------------------------------------------------------

    def apply_answers(
        self, indices, encoded, scores, source, annotator=DEFAULT_ANNOTATOR, seq=None
    ):
        """Record answers of the open round (``encoded`` -1 = abstain) given
        by ``annotator`` in journal entry ``seq`` (default: the next one)."""
        indices, encoded = _intp(indices), _intp(encoded)
        round_ = 0 if self.audit_open else self.n_rounds + 1  # the audit: round 0
        got = encoded >= 0
        old = self.labels[indices[got]].copy()
        self.labels[indices[got]] = encoded[got]
        self.clean[indices[got]] = True
        self.relabeled[indices[got]] = True
        self.abstained[indices[got]] = False  # an earlier abstention answered
        self.abstained[indices[~got]] = True
        self.answer_round[indices] = round_
        self.budget_used += int(got.sum())
        self.open_round.extend(indices.tolist())
        self.last_source = source
        rows = (np.full(got.sum(), round_), indices[got], old, encoded[got])
        for name, values in zip(LOG_FIELDS, (*rows, np.asarray(scores)[got])):
            self.log[name].extend(np.asarray(values).tolist())
        seq = self.journal_seq + 1 if seq is None else seq
        add_answers(self, indices, encoded, annotator, round_, seq)
        apply_consensus(self)

    def close_round(self):
        """Close the open round (or the audit); returns its ``history`` entry."""
        if self.audit_open:
            return close_audit(self)
        round_ = self.n_rounds + 1
        # A sample abstained on and answered later in the round appears twice
        # in open_round: once per sample, first-asked order.
        asked = _intp(list(dict.fromkeys(self.open_round)))
        self.queried.append(asked)
        self.n_rounds = round_
        self.batch, self.batch_scores, self.open_round = _intp([]), np.zeros(0), []
        self.batch_wanted = np.zeros(0, np.int64)
        entry = self.add_history_entry(asked, self.last_source, kind="round")
        self.needs_refit = entry["n_returned"] > 0
        return entry

    def add_history_entry(self, asked, source, kind="start"):
        """Append (and return) the ``history`` entry of round ``n_rounds``:
        ``asked`` the samples asked in it (none for round 0 without an
        audit); ``kind`` is ``"start"``, ``"audit"`` (round 0) or ``"round"``."""
        in_log = np.asarray(self.log["round"], dtype=np.int64) == self.n_rounds
        old = np.asarray(self.log["old"])[in_log]
        new = np.asarray(self.log["new"])[in_log]
        entry = {
            "round": self.n_rounds,
            "kind": kind,
            "n_queried": int(asked.size),
            "n_returned": int(in_log.sum()),
            "n_abstained": int(self.abstained[asked].sum()),
            "n_changed": int((old != new).sum()),
            "n_audited": int(self.initial_clean[asked].sum()),
            "budget_used": int(self.budget_used),
            "n_clean": int(self.clean.sum()),
            "source": source,
            "val_macro_f1": None,
            **self.noise_estimate(),
        }
        if self.several_annotators():
            entry.update(annotator_fields(self))
        self.history.append(entry)
        return entry

    def noise_estimate(self):
        """``{"noise_rate", "noise_rate_interval", "class_noise_rates",
        "class_noise_rate_intervals", "remaining_noise_rate"}``: the original
        labels' noise refined by the answers, and the share of wrong labels
        left after the corrections (what a Co-teaching refit would use as its
        forget rate); see :func:`noisyactive.active._audit_state.noise_fields`."""
        return noise_fields(self)

    def relabel_log(self):
        """Structured array ``(round, index, old_label, new_label, score)``."""
        dtype = [
            ("round", np.int64),
            ("index", np.int64),
            ("old_label", self.classes.dtype),
            ("new_label", self.classes.dtype),
            ("score", np.float64),
        ]
        out = np.empty(len(self.log["round"]), dtype=dtype)
        if out.size:
            out["round"], out["index"] = self.log["round"], self.log["index"]
            out["old_label"] = self.classes[_intp(self.log["old"])]
            out["new_label"] = self.classes[_intp(self.log["new"])]
            out["score"] = self.log["score"]
        return out

    # -- files ----------------------------------------------------------------------

    def to_files(self, directory, extra):
        """Write the state (and ``extra`` header values) as ``state.npz``.

        Every dataclass field is written: arrays as arrays (object arrays as
        strings, listed in the header's ``object_arrays``), the fields marked
        ``ragged`` or ``columns`` as arrays too, everything else in the JSON
        header.
        """
        header, arrays, objects = {}, {}, []
        for f in fields(self):
            name, value = f.name, getattr(self, f.name)
            store = f.metadata.get("store")
            if store == _RAGGED:
                arrays[name] = np.concatenate([_intp([]), *value])
                arrays[f"{name}_lengths"] = np.array([v.size for v in value], np.int64)
            elif store == _COLUMNS:
                for key, column in value.items():
                    column = np.asarray(column)
                    if column.size == 0:  # an empty list is not float data
                        column = column.astype(np.int64)
                    arrays[f"{name}_{key}"] = column
            elif isinstance(value, np.ndarray):
                if value.dtype == object:
                    objects.append(name)
                    value = np.asarray(value.tolist(), dtype=str)
                arrays[name] = value
            else:
                header[name] = value
        header.update(extra, format_version=CHECKPOINT_VERSION, object_arrays=objects)
        write_state(directory, header, arrays)

    @classmethod
    def from_files(cls, directory):
        """``(state, header)`` from a checkpoint folder, or None without one.

        A field the file lacks is an error naming it, never its default.
        """
        saved = read_state(directory)
        if saved is None:
            return None
        header, arrays = saved
        values, old = {}, header["format_version"] == 2
        try:
            for f in fields(cls):
                name, store = f.name, f.metadata.get("store")
                if old and name in _SINCE_V3:
                    continue  # upgraded below
                if header["format_version"] < 4 and name in _SINCE_V4:
                    continue  # the default
                if name in _OPTIONAL and name not in arrays and name not in header:
                    continue
                if store == _RAGGED:
                    lengths = arrays[f"{name}_lengths"]
                    parts = np.split(arrays[name], np.cumsum(lengths)[:-1])
                    values[name] = [_intp(p) for p in parts] if lengths.size else []
                elif store == _COLUMNS:
                    prefix = f"{name}_"
                    keys = [k[len(prefix) :] for k in arrays if k.startswith(prefix)]
                    values[name] = {k: arrays[prefix + k].tolist() for k in keys}
                elif name in arrays:
                    value = arrays[name]
                    if name in header["object_arrays"]:
                        value = np.asarray(value.tolist(), dtype=object)
                    values[name] = value
                else:
                    values[name] = header[name]
        except KeyError as exc:
            raise CheckpointCorruptedError(
                f"The checkpoint state in {directory!s} has no {exc.args[0]!r}; "
                "it was not written by this version of noisyactive, or is damaged."
            ) from None
        state = cls(**values)
        if old:
            upgrade_v2(state)
        n, audit = state.y_noisy.shape[0], _intp(state.audit)
        if audit.size and (
            audit.min() < 0
            or audit.max() >= n
            or np.unique(audit).size != audit.size
            or state.audit_weights.shape != audit.shape
        ):
            raise CheckpointCorruptedError(
                f"The checkpoint state in {directory!s} holds an audit that is not "
                "unique sample indices with one weight each; it is damaged."
            )
        return state, header
