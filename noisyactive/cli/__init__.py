"""The ``noisyactive`` command line and its configuration schema."""

from noisyactive.cli._config import SCHEMA, Config, ConfigError, parse_config
from noisyactive.cli._main import DEMO_CONFIG, main

__all__ = ["DEMO_CONFIG", "SCHEMA", "Config", "ConfigError", "main", "parse_config"]
