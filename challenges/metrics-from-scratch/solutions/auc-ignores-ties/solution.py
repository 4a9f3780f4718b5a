"""Plausible but flawed: ROC-AUC counts tied pairs as losses and divides by zero on one class."""

import math

import numpy as np


def roc_auc(y_true, y_score):
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def log_loss(y_true, y_prob, eps=1e-15):
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_prob, dtype=float), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def stratified_test_indices(y, test_size):
    y = list(y)
    test = []
    for label in sorted(set(y), key=repr):
        members = [i for i, value in enumerate(y) if value == label]
        k = math.floor(len(members) * test_size + 0.5)
        test.extend(members[len(members) - k:] if k else [])
    return sorted(test)
