"""Seeded generator of kmeans-plusplus's test cases: point clouds, random draws, answers.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ cases.jsonl byte for byte
(with the same NumPy version). The algorithm of the statement is written out here with
NumPy, independently of the reference solution. Cases whose answer would hang on rounding
(a draw within 1e-9 of a boundary of the cumulative weights, a near-tie between two
centres, a centre shift next to the tolerance) are redrawn, so any faithful implementation
gets the same indices, labels and iteration counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SEED = 20250512
TOLERANCE = {"abs": 1e-7, "rel": 1e-7}
MARGIN = 1e-9

Array = npt.NDArray[np.float64]
Case = dict[str, Any]


class Fragile(Exception):
    """An answer that rounding could change: redraw the case."""


# --- the algorithm of the statement ----------------------------------------------------

def _squared(x: Array, centers: Array) -> Array:
    return ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def init(x: Array, k: int, uniforms: list[float]) -> list[int]:
    n = len(x)
    chosen = [int(uniforms[0] * n)]
    nearest = _squared(x, x[chosen])[:, 0]
    for step in range(1, k):
        cumulative = np.cumsum(nearest)
        target = uniforms[step] * cumulative[-1]
        if np.min(np.abs(cumulative - target)) <= MARGIN * max(1.0, cumulative[-1]):
            raise Fragile("a draw on a boundary")
        index = int(np.searchsorted(cumulative, target, side="right"))
        chosen.append(index)
        nearest = np.minimum(nearest, _squared(x, x[[index]])[:, 0])
    return chosen


def _assign(x: Array, centers: Array) -> npt.NDArray[np.int64]:
    distances = _squared(x, centers)
    ordered = np.sort(distances, axis=1)
    if centers.shape[0] > 1:
        gap = ordered[:, 1] - ordered[:, 0]
        if np.any((gap > 0) & (gap <= MARGIN * np.maximum(1.0, ordered[:, 0]))):
            raise Fragile("a near-tie between two centres")
    return np.argmin(distances, axis=1)


def lloyd(x: Array, centers: Array, max_iter: int = 100, tol: float = 1e-4) -> dict[str, Any]:
    centers = centers.astype(float).copy()
    iterations = 0
    while iterations < max_iter:
        labels = _assign(x, centers)
        updated = centers.copy()
        for j in range(len(centers)):
            members = x[labels == j]
            if len(members):
                updated[j] = members.mean(axis=0)
        shift = float(np.sqrt(((updated - centers) ** 2).sum(axis=1)).max())
        if abs(shift - tol) <= 1e-7:
            raise Fragile("a shift next to the tolerance")
        centers = updated
        iterations += 1
        if shift <= tol:
            break
    labels = _assign(x, centers)
    inertia = float(((x - centers[labels]) ** 2).sum())
    return {"centers": centers, "labels": [int(v) for v in labels], "inertia": inertia,
            "n_iter": iterations}


def kmeans(x: Array, k: int, uniforms: list[float], n_init: int = 1, max_iter: int = 100,
           tol: float = 1e-4) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for run in range(n_init):
        indices = init(x, k, uniforms[run * k:(run + 1) * k])
        result = lloyd(x, x[indices], max_iter, tol)
        result["init"] = indices
        if best is None:
            best = result
            continue
        # A later run wins only when better by more than 1e-9 of the best inertia.
        gain = (best["inertia"] - result["inertia"]) / best["inertia"]
        if 1e-12 < abs(gain) < 1e-6:
            raise Fragile("two runs with nearly the same inertia")
        if gain > 1e-9:
            best = result
    assert best is not None
    return best


# --- data ------------------------------------------------------------------------------

def blobs(rng: np.random.Generator, n: int, k: int, dim: int, spread: float = 1.0) -> Array:
    means = rng.uniform(-10, 10, (k, dim))
    which = rng.integers(0, k, n)
    return np.round(means[which] + rng.normal(0, spread, (n, dim)), 3)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def case(function: str, args: list[Any], expected: Any, group: str, name: str, *,
         kwargs: dict[str, Any] | None = None, weight: float | None = None) -> Case:
    out: Case = {"function": function, "args": _plain(args)}
    if kwargs:
        out["kwargs"] = kwargs
    out["expected"] = _plain(expected)
    out["tolerance"] = TOLERANCE
    out["group"] = group
    if weight is not None:
        out["weight"] = weight
    out["name"] = name
    return out


def _draws(rng: np.random.Generator, count: int) -> list[float]:
    return [round(float(u), 6) for u in rng.random(count)]


def robust(rng: np.random.Generator, build: Any) -> Case:
    """``build(rng)`` until its answer does not hang on rounding."""
    for _ in range(200):
        try:
            made: Case = build(rng)
            return made
        except Fragile:
            continue
    raise RuntimeError("no robust case found")


def hidden_cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    # Initialisation.
    tiny = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    out.append(case("kmeans_pp_init", [tiny, 2, [0.1, 0.5]], init(tiny, 2, [0.1, 0.5]),
                    "init", "four points on a line"))
    dup = np.array([[1.0, 1.0]] * 5 + [[4.0, 5.0]] * 2 + [[9.0, 9.0]])
    out.append(case("kmeans_pp_init", [dup, 3, [0.0, 0.3, 0.99]],
                    init(dup, 3, [0.0, 0.3, 0.99]), "init",
                    "duplicates: a chosen point's copies weigh nothing"))
    for n, k, dim, name in [(40, 3, 2, "three blobs"), (120, 5, 3, "five blobs in 3-D"),
                            (200, 8, 2, "eight blobs"), (60, 4, 5, "five dimensions"),
                            (300, 10, 4, "ten blobs, 300 points")]:
        def build(r: np.random.Generator, n: int = n, k: int = k, dim: int = dim,
                  name: str = name) -> Case:
            x = blobs(r, n, k, dim)
            u = _draws(r, k)
            return case("kmeans_pp_init", [x, k, u], init(x, k, u), "init", name)
        out.append(robust(rng, build))
    x1 = np.round(rng.normal(0, 1, (25, 2)), 3)
    out.append(case("kmeans_pp_init", [x1, 1, [0.73]], init(x1, 1, [0.73]), "init",
                    "one centre"))

    # Lloyd's iterations from given centres.
    line = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    out.append(case("lloyd", [line, [[0.0], [1.0]]], lloyd(line, np.array([[0.0], [1.0]])),
                    "lloyd", "two groups on a line"))
    far = np.array([[0.0, 0.0], [0.5, 0.2], [5.0, 5.0], [5.2, 4.9]])
    far_centers = np.array([[0.0, 0.0], [5.0, 5.0], [100.0, 100.0]])
    out.append(case("lloyd", [far, far_centers], lloyd(far, far_centers), "lloyd",
                    "an empty cluster keeps its centre"))
    tie = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 3.0], [1.0, -3.0]])
    tie_centers = np.array([[0.0, 0.0], [2.0, 0.0]])
    out.append(case("lloyd", [tie, tie_centers], lloyd(tie, tie_centers), "lloyd",
                    "points halfway between two centres go to the first"))
    for n, k, dim, kwargs, name in [
        (80, 3, 2, None, "three blobs"),
        (150, 6, 3, {"max_iter": 1}, "one iteration only"),
        (200, 5, 2, {"max_iter": 3}, "stopped after three iterations"),
        (120, 4, 2, {"tol": 0.3}, "a loose tolerance"),
        (250, 8, 4, {"max_iter": 5}, "eight overlapping blobs, five iterations"),
    ]:
        def build_lloyd(r: np.random.Generator, n: int = n, k: int = k, dim: int = dim,
                        kwargs: dict[str, Any] | None = kwargs, name: str = name) -> Case:
            x = blobs(r, n, k, dim, spread=1.0 if name == "three blobs" else 2.5)
            start = x[r.choice(n, size=k, replace=False)]
            return case("lloyd", [x, start], lloyd(x, start, **(kwargs or {})), "lloyd", name,
                        kwargs=kwargs)
        out.append(robust(rng, build_lloyd))

    # The whole algorithm, several initialisations.
    for n, k, dim, n_init, limits, name in [
        (60, 3, 2, 1, None, "one run"),
        (150, 4, 2, 3, {"tol": 0.2}, "overlapping blobs, best of three, tolerance 0.2"),
        (200, 6, 3, 5, None, "best of five in 3-D"),
        (120, 5, 2, 4, {"max_iter": 2}, "overlapping blobs, best of four, two iterations"),
        (300, 8, 2, 3, {"tol": 0.02}, "eight overlapping blobs, best of three"),
        (90, 3, 6, 2, {"max_iter": 1}, "overlapping blobs in six dimensions, one iteration"),
    ]:
        def build_kmeans(r: np.random.Generator, n: int = n, k: int = k, dim: int = dim,
                         n_init: int = n_init, limits: dict[str, Any] | None = limits,
                         name: str = name) -> Case:
            x = blobs(r, n, k, dim, spread=2.5 if "overlapping" in name else 1.0)
            u = _draws(r, k * n_init)
            kwargs = {"n_init": n_init, **(limits or {})}
            return case("kmeans", [x, k, u], kmeans(x, k, u, **kwargs), "kmeans", name,
                        kwargs=kwargs, weight=2)
        out.append(robust(rng, build_kmeans))
    return out


def public_cases(rng: np.random.Generator) -> list[Case]:
    tiny = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    line = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])

    def build(r: np.random.Generator) -> Case:
        x = blobs(r, 30, 3, 2)
        u = _draws(r, 6)
        return case("kmeans", [x, 3, u], kmeans(x, 3, u, n_init=2), "kmeans", "best of two",
                    kwargs={"n_init": 2})
    return [
        case("kmeans_pp_init", [tiny, 2, [0.6, 0.5]], init(tiny, 2, [0.6, 0.5]), "init",
             "four points on a line"),
        case("lloyd", [line, [[0.0], [12.0]]], lloyd(line, np.array([[0.0], [12.0]])), "lloyd",
             "two groups on a line"),
        robust(rng, build),
    ]


def cases_bytes(items: list[Case]) -> bytes:
    return "".join(json.dumps(c, allow_nan=False) + "\n" for c in items).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    hidden = hidden_cases(rng)
    public = public_cases(rng)
    return {"public/cases.jsonl": cases_bytes(public), "hidden/cases.jsonl": cases_bytes(hidden)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--public", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    args = parser.parse_args(argv)
    targets = {"public": args.public, "hidden": args.hidden}
    for relative, data in files(args.seed).items():
        area, name = relative.split("/", 1)
        path = targets[area] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
