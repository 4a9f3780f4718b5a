import numpy as np
from collections import defaultdict


def roc_auc(y_true, y_score):
    # Mann-Whitney U with midranks computed from unique values
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    n1 = np.count_nonzero(y_true == 1)
    n0 = y_true.size - n1
    if not n1 or not n0:
        return np.nan
    values, inverse, counts = np.unique(y_score, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    midranks = ends - (counts - 1) / 2.0
    u = midranks[inverse][y_true == 1].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n1 * n0))


def log_loss(y_true, y_prob, eps=1e-15):
    t = np.asarray(y_true, dtype=np.float64)
    q = np.asarray(y_prob, dtype=np.float64).clip(eps, 1 - eps)
    total = 0.0
    for target, prob in zip(t, q):
        total -= target * np.log(prob) + (1 - target) * np.log1p(-prob)
    return float(total / len(t))


def stratified_test_indices(y, test_size):
    groups = defaultdict(list)
    for i, value in enumerate(list(y)):
        groups[value].append(i)
    held_out = set()
    for members in groups.values():
        n_test = int(np.floor(len(members) * test_size + 0.5))
        held_out.update(members[len(members) - n_test:])
    return sorted(held_out)
