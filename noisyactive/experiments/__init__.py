"""The paper's experiment protocol: data, methods, runs and reports.

Shared by ``noisyactive demo``, ``noisyactive run`` and ``benchmarks/``.
"""

from noisyactive.experiments._data import load_experiment_data
from noisyactive.experiments._methods import METHODS, method_label
from noisyactive.experiments._report import (
    format_curve_table,
    format_selection_table,
    summarize,
    write_report,
)
from noisyactive.experiments._run import environment, run_experiment, selection_stats

__all__ = [
    "METHODS",
    "environment",
    "format_curve_table",
    "format_selection_table",
    "load_experiment_data",
    "method_label",
    "run_experiment",
    "selection_stats",
    "summarize",
    "write_report",
]
