"""Reference solution: ROC-AUC by average ranks, clipped log-loss, a stratified holdout."""

import math

import numpy as np


def roc_auc(y_true, y_score):
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    positives = int((y == 1).sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_scores = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1  # tied scores share their average rank
        i = j + 1
    rank_sum = ranks[y == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


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
