"""Flawed on purpose: labels and inertia from the last assignment, before the last update.

The loop assigns, then moves the centres, then stops; the labels and the inertia it
returns belong to the centres it just replaced, so the inertia is not that of the centres
returned (and a point near a boundary may carry the wrong label). Initialisation is the
reference's.
"""

import numpy as np


def squared_distances(x, centers):
    """Row i, column j: the squared Euclidean distance from point i to centre j."""
    return ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def kmeans_pp_init(X, k, uniforms):
    """Indices of k starting centres, drawn by D² sampling with the given uniforms."""
    x = np.asarray(X, dtype=float)
    chosen = [int(uniforms[0] * len(x))]
    nearest = squared_distances(x, x[chosen]).ravel()
    for u in uniforms[1:k]:
        cumulative = np.cumsum(nearest)
        # The first index whose cumulative weight exceeds u times the total.
        index = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
        chosen.append(index)
        nearest = np.minimum(nearest, squared_distances(x, x[[index]]).ravel())
    return chosen


def lloyd(X, centers, max_iter=100, tol=1e-4):
    """Lloyd's iterations from the given centres."""
    x = np.asarray(X, dtype=float)
    centers = np.array(centers, dtype=float)
    n_iter = 0
    while n_iter < max_iter:
        labels = squared_distances(x, centers).argmin(axis=1)  # ties: the lower index
        updated = centers.copy()
        for j in range(len(centers)):
            if np.any(labels == j):  # an empty cluster keeps its centre
                updated[j] = x[labels == j].mean(axis=0)
        shift = np.sqrt(((updated - centers) ** 2).sum(axis=1)).max()
        before, centers = centers, updated
        n_iter += 1
        if shift <= tol:
            break
    previous = centers if n_iter == 0 else before
    labels = squared_distances(x, previous).argmin(axis=1)
    inertia = float(((x - previous[labels]) ** 2).sum())
    return {"centers": centers, "labels": labels.tolist(), "inertia": inertia,
            "n_iter": n_iter}


def kmeans(X, k, uniforms, n_init=1, max_iter=100, tol=1e-4):
    """The best of n_init runs, run r using uniforms[r*k:(r+1)*k] for its start."""
    x = np.asarray(X, dtype=float)
    best = None
    for run in range(n_init):
        start = kmeans_pp_init(x, k, uniforms[run * k:(run + 1) * k])
        result = lloyd(x, x[start], max_iter, tol)
        result["init"] = start
        if best is None or result["inertia"] < best["inertia"] * (1 - 1e-9):
            best = result
    return best
