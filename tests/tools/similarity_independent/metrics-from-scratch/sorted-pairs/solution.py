"""An independent attempt: AUC by counting pairs over sorted negatives, log-loss, split."""

import numpy as np


def _as_arrays(labels, values):
    return np.array(labels).astype(int), np.array(values).astype(float)


def roc_auc(y_true, y_score):
    labels, scores = _as_arrays(y_true, y_score)
    pos_scores = np.sort(scores[labels == 1])
    neg_scores = np.sort(scores[labels == 0])
    if pos_scores.size == 0 or neg_scores.size == 0:
        return float("nan")
    below = np.searchsorted(neg_scores, pos_scores, side="left")
    at_or_below = np.searchsorted(neg_scores, pos_scores, side="right")
    credit = below + 0.5 * (at_or_below - below)
    return float(credit.sum() / (pos_scores.size * neg_scores.size))


def log_loss(y_true, y_prob, eps=1e-15):
    labels, probs = _as_arrays(y_true, y_prob)
    probs = np.minimum(np.maximum(probs, eps), 1.0 - eps)
    losses = np.where(labels == 1, -np.log(probs), -np.log(1.0 - probs))
    return float(losses.mean())


def stratified_test_indices(y, test_size):
    by_class = {}
    for position, label in enumerate(y):
        by_class.setdefault(label, []).append(position)
    chosen = []
    for positions in by_class.values():
        count = int(round(len(positions) * test_size + 1e-9))
        if count:
            chosen += positions[-count:]
    chosen.sort()
    return chosen
