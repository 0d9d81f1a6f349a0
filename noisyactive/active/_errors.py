"""The checkpoint's errors, below every module that raises them."""

__all__ = [
    "CheckpointChangedError",
    "CheckpointCorruptedError",
    "CheckpointLockedError",
]


class CheckpointLockedError(RuntimeError):
    """Another process works on this checkpoint folder."""


class CheckpointChangedError(RuntimeError):
    """Another session wrote the folder after this cleaner read it."""


class CheckpointCorruptedError(ValueError):
    """A checkpoint file is damaged or missing; the message names it."""
