"""The configuration of a campaign or an experiment: every key declared once
(:data:`SCHEMA`), parsed into a typed :class:`Config`, and the two networks a
configuration describes (``_models``). Below both the command line and the
paper's experiments, which read it."""

from noisyactive.config._schema import SCHEMA, Config, ConfigError, parse_config

__all__ = ["SCHEMA", "Config", "ConfigError", "parse_config"]
