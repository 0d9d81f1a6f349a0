"""Test stand-ins shared by the active-cleaning tests."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import validate_data


class MaskFilter(ClassifierMixin, BaseEstimator):
    """Phase-1 stand-in: ``mask`` when its length fits, else every 5th sample
    is dropped, shifted by ``offset``."""

    def __init__(self, mask=None, offset=0):
        self.mask = mask
        self.offset = offset

    def fit(self, X, y):
        X, y = validate_data(self, X, y, allow_nd=True)
        self.classes_ = np.unique(y)
        n = X.shape[0]
        if self.mask is not None and len(self.mask) == n:
            self.clean_mask_ = np.asarray(self.mask, dtype=bool).copy()
        else:
            self.clean_mask_ = (np.arange(n) + self.offset) % 5 != 4
        self.X_fit_ = X  # lets a test see which rows a CV fold trained on
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])
