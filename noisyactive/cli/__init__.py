"""The ``noisyactive`` command line and its configuration schema."""

from noisyactive.cli._main import DEMO_CONFIG, main
from noisyactive.config._schema import SCHEMA, Config, ConfigError, parse_config

__all__ = ["DEMO_CONFIG", "SCHEMA", "Config", "ConfigError", "main", "parse_config"]
