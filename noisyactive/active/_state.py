"""The state of a relabeling campaign, as one dataclass, and its arithmetic.

:class:`CampaignState` holds everything a campaign has learnt (labels, masks,
the relabel log, the batch being asked, budget, seed, data fingerprint,
classifier version) and is the only thing written to and read from a
checkpoint (:meth:`~CampaignState.to_files` / :meth:`~CampaignState.from_files`).
The functions beside it are pure: seeds, batch sizes, the noise estimate.
"""

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from noisyactive.active._files import CHECKPOINT_VERSION, read_state, write_state

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


def _stratum_priors(prior, n_total, n_kept):
    # The phase-1 estimate says prior * n_total labels of the class are wrong.
    # Before any answer, assume the filter rejected them first: the rejected
    # part holds min(wrong, rejected) of them, the kept part the rest.
    wrong = prior * n_total
    n_rej = n_total - n_kept
    p_rej = min(1.0, wrong / n_rej) if n_rej else 0.0
    p_kept = max(0.0, wrong - n_rej) / n_kept if n_kept else 0.0
    return p_kept, p_rej


def refine_noise_rates(
    y_noisy,
    answered,
    answers,
    kept,
    n_classes,
    prior=None,
    strength=10.0,
    ranked=True,
):
    """Noise rate of the original labels, per class, refined by oracle answers.

    Every answer tells whether the noisy label of a sample was wrong. Within
    each noisy class ``c`` and each stratum (samples phase 1 kept, samples it
    rejected) the share of wrong labels is estimated as ``(wrong + strength *
    p0) / (answered + strength)`` (a Beta prior worth ``strength`` answers),
    ``p0`` coming from the phase-1 estimate ``prior`` or, without one, from
    all answers pooled. The class's rate is then (known wrong labels +
    expected wrong labels among the samples not answered) / class size.

    Query strategies ask the most suspicious samples first, so the share of
    wrong labels among the answered ones overstates it among the rest. With
    ``ranked=True`` the rate of the samples not answered is therefore capped
    by what the prior has left to find, ``(p0 * stratum size - wrong found) /
    samples not answered`` (how Bernhardt et al. lower their forget rate by
    the labels changed): answers can lower the estimate below the prior, never
    raise the unanswered part above it. ``ranked=False`` is for answers to
    uniformly random queries, where the observed share is unbiased.

    Parameters
    ----------
    y_noisy : ndarray of int of shape (n_samples,)
        Original (noisy) labels, encoded 0..n_classes-1.
    answered : ndarray of int
        Indices of the samples the oracle labeled (abstentions excluded).
    answers : ndarray of int
        Encoded answers, one per ``answered``.
    kept : ndarray of bool of shape (n_samples,)
        Samples phase 1 kept as clean.
    n_classes : int
    prior : float, array-like of shape (n_classes,) or None, default=None
        Phase-1 noise rate (global, or per noisy class).
    strength : float, default=10.0
        Weight of the prior, in answers.
    ranked : bool, default=True
        Whether the answered samples were chosen most suspicious first (any
        strategy but uniform random sampling); see above.

    Returns
    -------
    noise_rate : float or None
        Estimated share of wrong labels in ``y_noisy``; None without any
        prior or answer.
    class_noise_rates : ndarray of shape (n_classes,) or None

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._state import refine_noise_rates
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> kept = np.array([1, 1, 0, 0, 1, 1, 0, 0], bool)
    >>> rate, per_class = refine_noise_rates(
    ...     y, np.array([2, 3, 6, 7]), np.array([1, 1, 1, 1]), kept, 2, strength=0)
    >>> rate, per_class.tolist()
    (0.25, [0.5, 0.0])
    """
    y_noisy = np.asarray(y_noisy)
    answered = np.asarray(answered, dtype=np.intp)
    wrong = np.zeros(y_noisy.shape[0], dtype=bool)
    wrong[answered] = np.asarray(answers) != y_noisy[answered]
    seen = np.zeros(y_noisy.shape[0], dtype=bool)
    seen[answered] = True
    if prior is None and not seen.any():
        return None, None
    pooled = (wrong.sum() + 0.5) / (seen.sum() + 1.0)
    if prior is not None:
        prior = np.broadcast_to(np.asarray(prior, dtype=float), (n_classes,))
    rates = np.zeros(n_classes)
    for c in range(n_classes):
        members = y_noisy == c
        n_c = int(members.sum())
        if n_c == 0:
            continue
        if prior is None:
            p0 = (pooled, pooled)
        else:
            p0 = _stratum_priors(float(prior[c]), n_c, int((members & kept).sum()))
        expected = 0.0
        for stratum, p in zip((kept, ~kept), p0):
            part = members & stratum
            n_part = int(part.sum())
            n_seen = int((part & seen).sum())
            n_wrong = int((part & wrong).sum())
            n_rest = n_part - n_seen
            denom = n_seen + strength
            rate = (n_wrong + strength * p) / denom if denom else 0.0
            if ranked and n_seen and n_rest:
                left = max(0.0, p * n_part - n_wrong) / n_rest
                rate = min(rate, left)
            expected += n_wrong + n_rest * rate
        rates[c] = expected / n_c
    counts = np.bincount(y_noisy, minlength=n_classes)
    return float(rates @ counts / counts.sum()), rates


def _intp(values):
    return np.asarray(values, dtype=np.intp)


@dataclass
class CampaignState:
    """Everything a campaign has learnt; the checkpoint holds exactly this.

    Labels are encoded as positions in ``classes``. ``batch`` is the round
    being asked; ``open_round`` the samples answered (or abstained on) in it
    so far, in arrival order. ``journal_seq`` counts the journaled answer
    batches already in this state.
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
    queried: list = field(default_factory=list)
    log: dict = field(default_factory=lambda: {f: [] for f in LOG_FIELDS})
    batch: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    batch_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    open_round: list = field(default_factory=list)
    n_rounds: int = 0
    budget_used: int = 0
    history: list = field(default_factory=list)
    termination: str = None
    needs_refit: bool = False
    classifier_version: int = 0
    model_files: dict = field(default_factory=dict)
    journal_seq: int = 0
    phase1_rates: list = None
    input_paths: np.ndarray = None

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

    def pending(self):
        """The batch's samples without an answer yet, in query order."""
        return self.batch[~np.isin(self.batch, _intp(self.open_round))]

    def pending_scores(self):
        return self.batch_scores[~np.isin(self.batch, _intp(self.open_round))]

    # -- answers and rounds -------------------------------------------------------

    def apply_answers(self, indices, encoded, scores):
        """Record answers of the open round (``encoded`` -1 = abstain)."""
        indices, encoded = _intp(indices), _intp(encoded)
        round_ = self.n_rounds + 1
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
        rows = (np.full(got.sum(), round_), indices[got], old, encoded[got])
        for name, values in zip(LOG_FIELDS, (*rows, np.asarray(scores)[got])):
            self.log[name].extend(np.asarray(values).tolist())

    def close_round(self, source):
        """Close the open round; returns its ``history`` entry."""
        round_ = self.n_rounds + 1
        # A sample abstained on and answered later in the round appears twice
        # in open_round: once per sample, first-asked order.
        asked = _intp(list(dict.fromkeys(self.open_round)))
        in_log = np.asarray(self.log["round"]) == round_
        old = np.asarray(self.log["old"])[in_log]
        new = np.asarray(self.log["new"])[in_log]
        audited = self.initial_clean[asked]
        n_back = int(in_log.sum())
        self.queried.append(asked)
        self.n_rounds = round_
        self.batch, self.batch_scores, self.open_round = _intp([]), np.zeros(0), []
        self.needs_refit = n_back > 0
        entry = {
            "round": round_,
            "n_queried": int(asked.size),
            "n_returned": n_back,
            "n_abstained": int(self.abstained[asked].sum()),
            "n_changed": int((old != new).sum()),
            "n_audited": int(audited.sum()),
            "budget_used": int(self.budget_used),
            "n_clean": int(self.clean.sum()),
            "source": source,
            "val_macro_f1": None,
        }
        entry.update(self.noise_estimate())
        self.history.append(entry)
        return entry

    def noise_estimate(self):
        """``{"noise_rate", "class_noise_rates", "remaining_noise_rate"}``:
        the original labels' noise refined by the answers, and the share of
        wrong labels left after the corrections (what a Co-teaching refit
        would use as its forget rate)."""
        rate, rates = refine_noise_rates(
            self.y_noisy,
            _intp(self.log["index"]),
            _intp(self.log["new"]),
            self.initial_clean,
            self.classes.shape[0],
            prior=self.phase1_rates,
        )
        fixed = int(np.sum(np.asarray(self.log["old"]) != np.asarray(self.log["new"])))
        n = self.y_noisy.shape[0]
        return {
            "noise_rate": rate,
            "class_noise_rates": None if rates is None else rates.tolist(),
            "remaining_noise_rate": None
            if rate is None
            else max(0.0, rate - fixed / n),
        }

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

    _ARRAYS = (
        "y_noisy",
        "labels",
        "initial_clean",
        "clean",
        "relabeled",
        "abstained",
        "answer_round",
        "batch",
        "batch_scores",
    )
    _SCALARS = (
        "seed",
        "fingerprint",
        "n_rounds",
        "budget_used",
        "history",
        "termination",
        "needs_refit",
        "classifier_version",
        "model_files",
        "journal_seq",
        "phase1_rates",
    )

    def to_files(self, directory, extra):
        """Write the state (and ``extra`` header values) as ``state.npz``."""
        header = {name: getattr(self, name) for name in self._SCALARS}
        as_object = self.classes.dtype == object
        header.update(
            extra, format_version=CHECKPOINT_VERSION, classes_object=as_object
        )
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        arrays["classes"] = (
            np.asarray(self.classes.tolist(), dtype=str) if as_object else self.classes
        )
        arrays["queried"] = np.concatenate([_intp([]), *self.queried])
        arrays["queried_lengths"] = np.array([q.size for q in self.queried], np.int64)
        arrays["open_round"] = _intp(self.open_round)
        for name in LOG_FIELDS:
            kind = np.float64 if name == "score" else np.int64
            arrays[f"log_{name}"] = np.asarray(self.log[name], dtype=kind)
        if self.input_paths is not None:
            arrays["input_paths"] = np.asarray(self.input_paths, dtype=str)
        write_state(directory, header, arrays)

    @classmethod
    def from_files(cls, directory):
        """``(state, header)`` from a checkpoint folder, or None without one."""
        saved = read_state(directory)
        if saved is None:
            return None
        header, arrays = saved
        classes = arrays["classes"]
        if header["classes_object"]:
            classes = np.asarray(classes.tolist(), dtype=object)
        bounds = np.cumsum(arrays["queried_lengths"])[:-1]
        queried = [_intp(q) for q in np.split(arrays["queried"], bounds)]
        paths = arrays.get("input_paths")
        state = cls(
            classes=classes,
            queried=queried if arrays["queried_lengths"].size else [],
            log={f: arrays[f"log_{f}"].tolist() for f in LOG_FIELDS},
            open_round=arrays["open_round"].tolist(),
            input_paths=None if paths is None else paths.astype(object),
            **{name: header[name] for name in cls._SCALARS},
            **{name: arrays[name] for name in cls._ARRAYS},
        )
        for name in ("labels", "y_noisy", "batch"):
            setattr(state, name, _intp(getattr(state, name)))
        for name in ("initial_clean", "clean", "relabeled", "abstained"):
            setattr(state, name, getattr(state, name).astype(bool))
        return state, header
