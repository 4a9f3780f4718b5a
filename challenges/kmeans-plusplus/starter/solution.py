"""Implement kmeans_pp_init and lloyd (see statement.md); kmeans is done: it combines them.

NumPy only (no scikit-learn). X arrives as a list of lists of floats; return plain Python
values or NumPy arrays.
"""

import numpy as np


def kmeans_pp_init(X, k, uniforms):
    """Indices of k starting centres, drawn by D² sampling with the given uniforms."""
    raise NotImplementedError


def lloyd(X, centers, max_iter=100, tol=1e-4):
    """{"centers", "labels", "inertia", "n_iter"} after Lloyd's iterations from ``centers``."""
    raise NotImplementedError


def kmeans(X, k, uniforms, n_init=1, max_iter=100, tol=1e-4):
    """The best of n_init runs, run r starting from uniforms[r*k:(r+1)*k]."""
    x = np.asarray(X, dtype=float)
    best = None
    for run in range(n_init):
        start = kmeans_pp_init(x, k, uniforms[run * k:(run + 1) * k])
        result = lloyd(x, x[start], max_iter, tol)
        result["init"] = list(start)
        if best is None or result["inertia"] < best["inertia"] * (1 - 1e-9):
            best = result
    return best
