"""The configuration schema: one declaration per key, errors that name it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from noisyactive.cli import main
from noisyactive.config._schema import (
    SCHEMA,
    ConfigError,
    config_changes,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_key_has_a_default_a_type_and_help():
    names = [key.name for key in SCHEMA]
    assert len(names) == len(set(names))
    for key in SCHEMA:
        assert key.help and key.group in ("data", "expert", "network", "benchmark")
        parse_config({})  # every default passes its own check
    config = parse_config({})
    assert config.refit == "finetune" and config.noise_rate == 0.4
    assert config.cleanlab_folds == 3
    assert config.classifier_epochs == config.epochs


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"refit": 3}, r"'refit' must be 'finetune' or 'scratch'; got 3 \(int\)"),
        ({"n_rounds": "eight"}, r"'n_rounds' must be an integer >= 0; got 'eight'"),
        ({"n_rounds": True}, r"'n_rounds' must be an integer"),
        ({"device": "tpu"}, r"'device' must be 'auto', 'cpu', 'cuda'"),
        ({"epohcs": 3}, r"unknown key 'epohcs'; did you mean 'epochs'\?"),
        ({"query_strategy": "entrpy"}, r"'query_strategy' must be one of .*'entropy'"),
        ([{"epochs": 3}], r"must be an object of key: value pairs .* got a list"),
        ({"budget_per_round": 1.5}, r"'budget_per_round' must be a positive integer"),
    ],
)
def test_wrong_values_name_the_key_and_the_type(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(raw)


def test_cli_refuses_a_list_config_and_a_wrong_device(tmp_path, capsys):
    bad = tmp_path / "list.json"
    bad.write_text(json.dumps([{"dataset": "digits"}]))
    with pytest.raises(SystemExit, match="got a list"):
        main(["run", "--config", str(bad)])
    bad.write_text(json.dumps({"device": "tpu"}))
    with pytest.raises(SystemExit, match="'device' must be"):
        main(["run", "--config", str(bad)])


def test_changes_split_into_fixed_and_safe():
    old = {"image_size": 64, "n_rounds": 8, "module": "small_cnn"}
    new = {"image_size": 32, "n_rounds": 4, "module": "small_cnn"}
    fixed, safe = config_changes(old, new)
    assert fixed == ["image_size: 64 → 32"]
    assert safe == ["n_rounds: 8 → 4"]


def test_benchmark_configs_parse():
    for path in sorted((ROOT / "benchmarks" / "configs").glob("*.json")):
        parse_config(json.loads(path.read_text()), source=path.name)


def test_no_config_get_outside_the_schema():
    res = subprocess.run(
        ["grep", "-rn", "config.get(", str(ROOT / "noisyactive")],
        capture_output=True,
        text=True,
    )
    assert res.stdout == ""


def test_user_campaign_code_does_not_import_the_experiments():
    code = (
        "import sys, noisyactive.cli._campaign, noisyactive.config._models; "
        "print(any(m.startswith('noisyactive.experiments') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False", out.stderr
