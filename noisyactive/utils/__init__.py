"""Utilities shared by the estimators: the package's argument checks.

The checks live in :mod:`noisyactive.utils._validation`; scikit-learn's private
parameter-validation helpers are imported in :mod:`noisyactive.utils._param_validation`
only.
"""

from noisyactive.utils._validation import (
    check_float_array,
    check_indices,
    check_transition_matrix,
)

__all__ = ["check_float_array", "check_indices", "check_transition_matrix"]
