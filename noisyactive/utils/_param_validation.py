"""The one place that imports scikit-learn's private parameter-validation helpers.

scikit-learn does not promise these names; imbalanced-learn uses them the same way.
Keeping the import in a single module means one file to touch if they move.
"""

from numbers import Integral, Real

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)

__all__ = [
    "HasMethods",
    "Hidden",
    "Integral",
    "Interval",
    "InvalidParameterError",
    "Options",
    "Real",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "validate_params",
]
