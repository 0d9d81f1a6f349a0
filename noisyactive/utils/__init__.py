"""Internal utilities shared by the estimators."""

__all__: list[str] = []
