"""Plain cross-entropy network classifiers."""

from noisyactive.classifiers._net_classifier import NetClassifier

__all__ = ["NetClassifier"]
