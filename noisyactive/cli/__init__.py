"""The ``noisyactive`` command line."""

from noisyactive.cli._main import DEMO_CONFIG, main

__all__ = ["DEMO_CONFIG", "main"]
