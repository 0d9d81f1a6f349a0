"""Phase 2: budgeted active label cleaning with oracles and checkpoints.

:class:`~noisyactive.ActiveLabelCleaner` runs relabeling rounds after a
noisy-label filter; an oracle is any callable ``(ids, X_subset) -> labels``
(:class:`~noisyactive.SimulatedOracle` for benchmarks), or a person answering
through ``query``/``teach``. Campaign state is checkpointed after every round and
restored with :func:`load_cleaner`.
"""

from noisyactive.active._cleaner import ActiveLabelCleaner
from noisyactive.active._oracle import SimulatedOracle, validate_oracle_labels
from noisyactive.active._persist import load_cleaner

__all__ = [
    "ActiveLabelCleaner",
    "SimulatedOracle",
    "load_cleaner",
    "validate_oracle_labels",
]
