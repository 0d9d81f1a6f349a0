"""The audit in a campaign's state: its batch, its closing (the posterior
from its answers and the ``history`` entry of round 0) and the noise fields
of every ``history`` entry. Functions of a
:class:`~noisyactive.active._state.CampaignState` (which calls them), free of
models and files."""

import numpy as np

from noisyactive.active._noise_posterior import audit_counts, combine_noise_estimates
from noisyactive.active._refine import refine_noise_rates

__all__ = [
    "audit_batch",
    "close_audit",
    "counted_answers",
    "noise_fields",
    "posterior",
]


def posterior(state, audit=None):
    """The posterior of ``state``'s prior and audit counts, as plain data."""
    counts = np.bincount(state.y_noisy, minlength=state.classes.shape[0])
    if state.noise_prior is None and audit is None:
        return None
    post = combine_noise_estimates(counts, classifier=state.noise_prior, audit=audit)
    return {
        "noise_rate": post.rate,
        "noise_rate_interval": list(post.interval),
        "class_noise_rates": post.class_rates.tolist(),
        "class_noise_rate_intervals": post.class_intervals.tolist(),
        "reliability": post.reliability,
        "n_audited": post.n_audited.tolist(),
        "n_wrong": post.n_wrong.tolist(),
    }


def counted_answers(state, in_rounds):
    """``(index, label)`` of the answers the noise estimates count, of the
    rounds ``in_rounds`` (a function of the log's round numbers) accepts:
    each answer of the log; with several annotators each sample answered
    there once, with its consensus label (a tie, left open, not at all)."""
    rounds = np.asarray(state.log["round"], dtype=np.int64)
    index = np.asarray(state.log["index"], dtype=np.intp)
    use = in_rounds(rounds)
    if not state.several_annotators():
        return index[use], np.asarray(state.log["new"], dtype=np.intp)[use]
    index = np.unique(index[use])
    index = index[state.relabeled[index]]  # settled: not a tie, not abstained
    return index, state.labels[index]


def audit_batch(state):
    """The audit's samples not answered yet (``next_batch`` during the audit:
    the audit is handed out whole, whatever ``n``)."""
    rest = state.audit[~np.isin(state.audit, np.asarray(state.open_round, np.intp))]
    rest = rest[~state.relabeled[rest]]
    return rest, np.full(rest.size, np.nan)


def close_audit(state):
    """Close the audit: the posterior from its answers, the ``history``
    entry of round 0 (``"kind": "audit"``), whether phase 1 is refit."""
    s = state
    asked = np.asarray(list(dict.fromkeys(s.open_round)), dtype=np.intp)
    s.audit_open = False
    s.batch, s.batch_scores, s.open_round = np.zeros(0, np.intp), np.zeros(0), []
    s.batch_wanted = np.zeros(0, np.int64)
    index, new = counted_answers(s, lambda rounds: rounds == 0)
    in_audit = np.isin(index, s.audit)
    counts = audit_counts(s.y_noisy, index[in_audit], new[in_audit], s.classes.shape[0])
    prior = s.noise_posterior
    s.noise_posterior = posterior(s, counts)
    moved = prior is not None and not (
        prior["noise_rate_interval"][0]
        <= s.noise_posterior["noise_rate"]
        <= prior["noise_rate_interval"][1]
    )
    s.needs_filter_refit = s.audit_refit is True or (s.audit_refit == "auto" and moved)
    entry = s.add_history_entry(asked, s.last_source, kind="audit")
    entry["prior_noise_rate"] = None if prior is None else prior["noise_rate"]
    entry["prior_noise_rate_interval"] = (
        None if prior is None else prior["noise_rate_interval"]
    )
    entry["refit_phase1"] = bool(s.needs_filter_refit)
    s.needs_refit = True  # the first classifier is trained after the audit
    return entry


def noise_fields(state):
    """The noise fields of a ``history`` entry: ``noise_rate`` and
    ``class_noise_rates`` (the posterior refined by the ranked rounds'
    answers), their intervals, and ``remaining_noise_rate``.

    Before an audit (or without one) the prior of the refinement is phase
    1's rates and every answer counts, as before; after it the prior is the
    posterior and only the rounds' answers count (the audit's are in it).
    The intervals are the posterior's, moved to the refined rate and
    narrowed by the share of samples the rounds have not answered.
    """
    s = state
    audited = s.audit.size > 0 and not s.audit_open
    post = s.noise_posterior
    rounds = np.asarray(s.log["round"], dtype=np.int64)
    index, new = counted_answers(s, lambda r: r >= (1 if audited else 0))
    k = s.classes.shape[0]
    rate, rates = refine_noise_rates(
        s.y_noisy,
        index,
        new,
        s.initial_clean,
        k,
        prior=post["class_noise_rates"] if audited else s.phase1_rates,
    )
    if s.several_annotators():  # the labels the answers changed, once each
        fixed = int(np.sum(s.labels[s.relabeled] != s.y_noisy[s.relabeled]))
    else:
        fixed = int(np.sum(np.asarray(s.log["old"]) != np.asarray(s.log["new"])))
    n = s.y_noisy.shape[0]
    out = {
        "noise_rate": rate,
        "noise_rate_interval": None,
        "class_noise_rates": None if rates is None else rates.tolist(),
        "class_noise_rate_intervals": None,
        "remaining_noise_rate": None if rate is None else max(0.0, rate - fixed / n),
    }
    if rate is None or post is None:
        return out
    answered = np.zeros(n, dtype=bool)
    answered[np.asarray(s.log["index"], dtype=np.intp)[rounds >= 1]] = True
    counts = np.bincount(s.y_noisy, minlength=k)
    left = 1.0 - np.bincount(s.y_noisy[answered], minlength=k) / np.maximum(counts, 1)
    centre = np.asarray(post["class_noise_rates"])
    bounds = np.asarray(post["class_noise_rate_intervals"])
    low = np.clip(rates - (centre - bounds[:, 0]) * left, 0, 1)
    high = np.clip(rates + (bounds[:, 1] - centre) * left, 0, 1)
    out["class_noise_rate_intervals"] = np.stack([low, high], 1).tolist()
    f = 1.0 - answered.mean()
    lo, hi = post["noise_rate_interval"]
    out["noise_rate_interval"] = [
        float(max(0.0, rate - (post["noise_rate"] - lo) * f)),
        float(min(1.0, rate + (hi - post["noise_rate"]) * f)),
    ]
    return out
