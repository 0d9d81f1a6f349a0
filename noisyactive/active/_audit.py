"""The audit of a campaign and its noise rate with an interval.

With ``audit_size > 0`` a campaign starts (after phase 1, before the first
classifier) with an audit: samples drawn at random within each noisy class
(:func:`~noisyactive.active._noise_posterior.stratified_audit`), asked like
any round (oracle, ``query``/``teach``, review page, CSV), counted in the
budget. Its answers are logged as round 0 and its ``history`` entry is the
first one (``"kind": "audit"``). They update the classifier's estimate into
one posterior
(:func:`~noisyactive.active._noise_posterior.combine_noise_estimates`);
the ranked rounds after it refine that posterior with
:func:`~noisyactive.active.refine_noise_rates`.

With several annotators each audited sample is asked as in a round (of every
annotator of a dict oracle, by default) and what the audit counts is its
consensus label (:func:`~noisyactive.active._audit_state.counted_answers`).
"""

import warnings

import numpy as np

from noisyactive.active._annotators import plan_batch, several
from noisyactive.active._audit_state import posterior
from noisyactive.active._noise_posterior import (
    classifier_reliability,
    combine_noise_estimates,
    noise_report,
    stratified_audit,
)
from noisyactive.active._state import derived_seed
from noisyactive.active._training import fit_maybe_with_validation, phase1_mask

__all__ = [
    "AUDIT_FITTED",
    "audited_params",
    "check_audit_size",
    "classifier_summary",
    "refit_filter",
    "start_audit",
]


def _fitted_noise(key, transform=lambda v: v):
    def read(campaign):
        s = campaign.state
        source = s.history[-1] if s.history else s.noise_posterior or {}
        value = source.get(key)
        return None if value is None else transform(value)

    return read


def _clean_counts(campaign):
    rates = _fitted_noise("class_noise_rates", np.asarray)(campaign)
    if rates is None:
        return None
    counts = np.bincount(campaign.state.y_noisy, minlength=rates.shape[0])
    return counts * (1.0 - rates)


# The cleaner's fitted attributes about the noise rate and the audit.
AUDIT_FITTED = {
    "noise_rate_": _fitted_noise("noise_rate"),
    "noise_rate_interval_": _fitted_noise("noise_rate_interval", tuple),
    "class_noise_rates_": _fitted_noise("class_noise_rates", np.asarray),
    "class_noise_rate_intervals_": _fitted_noise(
        "class_noise_rate_intervals", np.asarray
    ),
    "class_clean_counts_": _clean_counts,
    "audit_indices_": lambda c: c.state.audit,
    "audit_weights_": lambda c: c.state.audit_weights,
    "noise_report_": lambda c: c.state.noise_report,
}


def check_audit_size(audit_size, y_enc):
    """Refuse (before any training) an audit too small to see every class."""
    present = int(np.count_nonzero(np.bincount(y_enc)))
    if 0 < audit_size < present:
        raise ValueError(
            f"audit_size={audit_size} cannot see each of the {present} classes; "
            f"use audit_size >= {present} (or 0: no audit)."
        )


def classifier_summary(estimator, phase1_rates, y_noisy, n_classes):
    """The phase-1 estimate as plain data: ``rate``, ``rate_std``,
    ``class_rates``, ``class_rates_std``, ``reliability`` (None without one).

    The class rates are phase 1's (those its selection used); the spreads
    and the reliability come from its ``noise_estimate_`` when it has one
    (:func:`~noisyactive.filtering.estimate_noise`), else they are 0 and 1 (a
    rate given by hand).
    """
    if phase1_rates is None:
        return None
    from noisyactive.filtering._noise_rate import symmetric_noise_bound

    counts = np.bincount(y_noisy, minlength=n_classes)
    rates = np.asarray(phase1_rates, dtype=float)
    rate = getattr(estimator, "forget_rate_", None)
    rate = float(rates @ counts / counts.sum()) if rate is None else float(rate)
    noise = getattr(estimator, "noise_estimate_", None)
    out = {
        "rate": rate,
        "rate_std": 0.0,
        "class_rates": rates.tolist(),
        "class_rates_std": [0.0] * n_classes,
        "reliability": 1.0,
        "symmetric_bound": symmetric_noise_bound(counts),
    }
    if noise is not None and "rate_std" in noise:
        out["rate_std"] = float(noise["rate_std"])
        std = noise.get("class_rates_std")
        if std is not None and len(std) == n_classes:
            out["class_rates_std"] = [float(v) for v in std]
        if "agreement" in noise and "skill" in noise:
            out["reliability"] = classifier_reliability(
                noise["agreement"], noise["majority_agreement"], noise["skill"]
            )
    return out


def start_audit(campaign, audit_size):
    """After phase 1: the estimate before the campaign (reported, and
    warned about when wide or unreliable) and, with ``audit_size``, the
    audit drawn as the pending batch. Returns whether an audit was drawn."""
    s, p = campaign.state, campaign.cleaner
    k = s.classes.shape[0]
    s.noise_prior = classifier_summary(campaign.estimator, s.phase1_rates, s.y_noisy, k)
    s.noise_posterior = posterior(s)
    if s.noise_posterior is not None:
        post = combine_noise_estimates(
            np.bincount(s.y_noisy, minlength=k), classifier=s.noise_prior
        )
        s.noise_report, needed = noise_report(post)
        if needed > audit_size:
            warnings.warn(s.noise_report, UserWarning, stacklevel=4)
        elif p.verbose:
            print(f"[ActiveLabelCleaner] {s.noise_report}")
    if audit_size <= 0:
        return False
    n = s.y_noisy.shape[0]
    s.audit, s.audit_weights = stratified_audit(
        s.y_noisy,
        min(audit_size, n),
        n_classes=k,
        random_state=derived_seed(s.seed, 0, 4),
    )
    s.audit_open = True
    if several(p, s):  # each audited sample asked as in a round
        plan_batch(s, p, s.audit, np.full(s.audit.size, np.nan))
    else:
        s.batch, s.batch_scores = s.audit.copy(), np.full(s.audit.size, np.nan)
    can = p.start == "filter" and "forget_rate" in campaign.estimator.get_params()
    s.audit_refit = p.refit_after_audit if can else False
    return True


def audited_params(state, estimator, rate):
    """The phase-1 parameters of the refit after the audit: ``forget_rate``
    ``rate`` and, where the estimator takes one, the transition matrix of the
    audited per-class rates (class quotas keep the audited share of every
    class, rare ones included). Also what a resumed campaign rebuilds."""
    params = {"forget_rate": rate}
    if "transition_matrix" in estimator.get_params():
        from noisyactive.filtering import transition_from_class_noise_rates  # torch

        params["transition_matrix"] = transition_from_class_noise_rates(
            np.bincount(state.y_noisy, minlength=state.classes.shape[0]),
            state.noise_posterior["class_noise_rates"],
        )
    return params


def refit_filter(campaign, X, validation):
    """Phase 1 again with the audited rates; the kept part is replaced
    (answered samples stay clean)."""
    s = campaign.state
    rate = float(np.clip(s.noise_posterior["noise_rate"], 0.0, 0.95))
    estimator = campaign.estimator.set_params(
        **audited_params(s, campaign.estimator, rate)
    )
    fit_maybe_with_validation(estimator, X, s.classes[s.y_noisy], validation)
    s.initial_clean = phase1_mask(estimator, s.y_noisy.shape[0])
    s.clean = s.initial_clean | s.relabeled
    s.refit_forget_rate = rate
    s.needs_filter_refit = False
    if s.history and s.history[-1].get("kind") == "audit":
        s.history[-1]["n_clean"] = int(s.clean.sum())
        s.history[-1]["refit_forget_rate"] = rate
