"""Phase 2: budgeted active label cleaning with oracles and checkpoints.

:class:`~noisyactive.ActiveLabelCleaner` runs relabeling rounds after a
noisy-label filter; an oracle is any callable ``(ids, X_subset) -> labels``
(:class:`~noisyactive.SimulatedOracle` for benchmarks), or a person answering
through ``query``/``teach``. The campaign lives in a checkpoint folder
(journaled answers, atomic state, one writer at a time) restored with
:func:`load_cleaner`; see :doc:`/user_guide/checkpoints`.
"""

from noisyactive.active._cleaner import ActiveLabelCleaner
from noisyactive.active._files import (
    CheckpointChangedError,
    CheckpointCorruptedError,
    CheckpointLockedError,
)
from noisyactive.active._lock import CheckpointLock
from noisyactive.active._noise_posterior import (
    audit_size_for,
    combine_noise_estimates,
    stratified_audit,
)
from noisyactive.active._oracle import SimulatedOracle, validate_oracle_labels
from noisyactive.active._refine import refine_noise_rates
from noisyactive.active._resume import load_cleaner
from noisyactive.active._simulated import SimulatedAnnotator, simulated_annotators
from noisyactive.active._spec import UntrustedCheckpointError

__all__ = [
    "ActiveLabelCleaner",
    "CheckpointChangedError",
    "CheckpointCorruptedError",
    "CheckpointLock",
    "CheckpointLockedError",
    "SimulatedAnnotator",
    "SimulatedOracle",
    "UntrustedCheckpointError",
    "audit_size_for",
    "combine_noise_estimates",
    "load_cleaner",
    "refine_noise_rates",
    "simulated_annotators",
    "stratified_audit",
    "validate_oracle_labels",
]
