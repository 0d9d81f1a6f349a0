"""How the command line shows warnings, and the warning for a budget that
asks the expert for most of the rows."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from noisyactive.cli._campaign import warn_large_budget
from noisyactive.cli._main import cli_warnings, format_warning
from noisyactive.config._schema import check_config

ROOT = Path(__file__).resolve().parent.parent


def _config(**keys):
    raw = {"dataset": "csv", "path": "labels.csv", "oracle": "ask", **keys}
    return check_config(raw, source="test")


def test_format_warning_names_no_file():
    text = format_warning(
        "Training is slow", UserWarning, "/venv/site-packages/skorch/net.py", 432
    )
    assert text == "noisyactive: warning: Training is slow\n"
    other = format_warning("old", DeprecationWarning, "/x/y.py", 1)
    assert other == "noisyactive: warning (DeprecationWarning): old\n"


def test_cli_warnings_restores_the_format():
    before = warnings.formatwarning
    with cli_warnings():
        assert warnings.formatwarning is format_warning
    assert warnings.formatwarning is before


def test_a_library_warning_prints_without_its_path():
    # A subprocess: pytest records warnings instead of printing them.
    code = (
        "import warnings\n"
        "from noisyactive.cli._main import cli_warnings\n"
        "with cli_warnings():\n"
        "    warnings.warn_explicit('fit is slow', UserWarning,\n"
        "                           '/venv/site-packages/skorch/net.py', 432)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "noisyactive: warning: fit is slow\n"
    assert "skorch" not in proc.stderr and "net.py" not in proc.stderr


def test_budget_over_half_the_rows_warns_with_both_numbers():
    config = _config(budget_per_round=70, n_rounds=8)
    with pytest.warns(UserWarning, match=r"560 labels .* 600 training rows.* 93%"):
        assert warn_large_budget(config, 600) == 560


def test_budget_as_share_of_rows_is_resolved():
    config = _config(budget_per_round=0.1, n_rounds=6)  # 60 per round, 360
    with pytest.warns(UserWarning, match="60%"):
        assert warn_large_budget(config, 600) == 360


def test_small_budget_is_silent():
    config = _config(budget_per_round=40, n_rounds=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_large_budget(config, 600) == 160
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_large_budget(_config(budget_per_round=30, n_rounds=10), 600) == 300
