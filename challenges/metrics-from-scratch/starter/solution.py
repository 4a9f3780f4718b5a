"""Implement the three functions below with numpy (no scikit-learn). See statement.md."""

import numpy as np


def roc_auc(y_true, y_score):
    """Area under the ROC curve of scores ``y_score`` for 0/1 labels ``y_true``."""
    raise NotImplementedError


def log_loss(y_true, y_prob, eps=1e-15):
    """Mean binary cross-entropy, with probabilities clipped to [eps, 1 - eps]."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_prob, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def stratified_test_indices(y, test_size):
    """Indices held out for testing: the last round(n_c * test_size) rows of each class."""
    raise NotImplementedError
