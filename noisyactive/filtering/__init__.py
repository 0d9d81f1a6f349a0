"""Phase 1: Co-teaching with a Variance-of-Gradients mix."""

from noisyactive.filtering._candidates import (
    class_loss_mixture,
    confident_joint_mask,
    keep_lowest,
    keep_per_class,
    knn_label_agreement,
    majority_vote,
    predicted_class_vog_gradients,
    vog_within_loss_bands,
)
from noisyactive.filtering._epoch_rules import (
    cross_update_loss,
    cross_update_loss_masked,
    uses_vog,
    warmup_forget_rate,
)
from noisyactive.filtering._filter import NoisyLabelFilter
from noisyactive.filtering._noise_cross_fit import (
    CrossFitNoiseEstimator,
    cross_fit_predict_proba,
    estimate_noise_cross_fit,
)
from noisyactive.filtering._noise_rate import (
    agreement_noise_rate,
    check_noise_estimate,
    confident_joint,
    estimate_noise,
    estimate_noise_rate,
    noise_rates_from_joint,
    symmetric_noise_bound,
)
from noisyactive.filtering._quota import (
    class_keep_quotas,
    estimate_class_clean_counts,
    select_per_class,
    transition_from_class_noise_rates,
)
from noisyactive.filtering._rules import (
    SELECTION_RULES,
    ConfidentJointRule,
    CoTeachingRule,
    KNNRule,
    LossBandVOGRule,
    LossMixtureRule,
    LossRule,
    SelectionContext,
    VOGRule,
    VoteRule,
)
from noisyactive.filtering._schedule import forget_rate_schedule, n_remember
from noisyactive.filtering._selection import select_small_loss_and_vog, split_mix
from noisyactive.filtering._vog import VOGBuffer, normalize_by_class, vog_gradients

__all__ = [
    "class_loss_mixture",
    "confident_joint_mask",
    "keep_lowest",
    "keep_per_class",
    "knn_label_agreement",
    "majority_vote",
    "predicted_class_vog_gradients",
    "vog_within_loss_bands",
    "SELECTION_RULES",
    "ConfidentJointRule",
    "CoTeachingRule",
    "KNNRule",
    "LossBandVOGRule",
    "LossMixtureRule",
    "LossRule",
    "SelectionContext",
    "VOGRule",
    "VoteRule",
    "CrossFitNoiseEstimator",
    "NoisyLabelFilter",
    "VOGBuffer",
    "agreement_noise_rate",
    "check_noise_estimate",
    "class_keep_quotas",
    "confident_joint",
    "cross_fit_predict_proba",
    "cross_update_loss",
    "cross_update_loss_masked",
    "estimate_class_clean_counts",
    "estimate_noise",
    "estimate_noise_cross_fit",
    "estimate_noise_rate",
    "forget_rate_schedule",
    "n_remember",
    "noise_rates_from_joint",
    "normalize_by_class",
    "select_per_class",
    "select_small_loss_and_vog",
    "split_mix",
    "symmetric_noise_bound",
    "transition_from_class_noise_rates",
    "uses_vog",
    "vog_gradients",
    "warmup_forget_rate",
]
