"""Generate the test cases of challenges/fix-training-loop, deterministically.

    python scripts/make_training_loop_cases.py            # rewrite public/ and hidden/ cases
    python scripts/make_training_loop_cases.py --check    # exit 1 if the committed files differ

Expected values come from numpy alone, an oracle independent of the bundle's reference:
``fit_linear``'s from the same full-batch gradient descent written out in float64,
``fit_regressor``'s from the noise-free function the training data was drawn from,
``classify``'s from the blob each test row was drawn around.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "challenges" / "fix-training-loop"
SEED = 20261205
LINEAR_TOLERANCE = {"abs": 1e-6, "rel": 1e-6}
REGRESSOR_TOLERANCE = {"abs": 0.2, "rel": 0}

Case = dict[str, Any]


def _rounded(array: np.ndarray) -> Any:
    return np.round(array, 6).tolist()


def linear_case(rng: np.random.Generator, rows: int, dims: int, steps: int, lr: float,
                name: str) -> Case:
    x = np.round(rng.normal(0.0, 1.0, size=(rows, dims)), 6)
    w_true = rng.normal(0.0, 2.0, size=dims)
    y = np.round(x @ w_true + rng.normal(0.5, 1.0) + rng.normal(0.0, 0.3, size=rows), 6)
    w, b = np.zeros(dims), 0.0
    for _ in range(steps):  # d/dp mean((p - y)²) = 2 (p - y) / n
        residual = x @ w + b - y
        w, b = w - lr * 2 * x.T @ residual / rows, b - lr * 2 * residual.mean()
    return {"function": "fit_linear", "args": [x.tolist(), y.tolist(), steps, lr],
            "expected": [*w.tolist(), float(b)], "tolerance": LINEAR_TOLERANCE,
            "group": "fit_linear", "name": name}


def _target(x: np.ndarray) -> np.ndarray:
    return 1.5 * x[:, 0] - 0.8 * x[:, 1] + 0.6 * x[:, 0] * x[:, 1] + 0.4


def regressor_case(rng: np.random.Generator, rows: int, seed: int, name: str) -> Case:
    x = np.round(rng.uniform(-1.0, 1.0, size=(rows, 2)), 6)
    new_x = np.round(rng.uniform(-0.8, 0.8, size=(12, 2)), 6)
    return {"function": "fit_regressor",
            "args": [x.tolist(), _rounded(_target(x)), new_x.tolist(), 60, seed],
            "expected": _rounded(_target(new_x)), "tolerance": REGRESSOR_TOLERANCE,
            "group": "fit_regressor", "name": name}


def classify_case(rng: np.random.Generator, dims: int, classes: int, test_labels: list[int],
                  seed: int, name: str) -> Case:
    centres = rng.normal(0.0, 1.0, size=(classes, dims))
    centres = 4.0 * centres / np.linalg.norm(centres, axis=1, keepdims=True)
    train_y = np.repeat(np.arange(classes), 50)
    rng.shuffle(train_y)
    train_x = centres[train_y] + rng.normal(0.0, 0.8, size=(len(train_y), dims))
    # Test rows close to their blob's centre: the right class is never in doubt.
    test_y = np.array(test_labels)
    test_x = centres[test_y] + np.clip(rng.normal(0.0, 0.5, size=(len(test_y), dims)), -1, 1)
    return {"function": "classify",
            "args": [_rounded(train_x), train_y.tolist(), _rounded(test_x), 20, seed],
            "expected": test_y.tolist(), "group": "classify", "name": name}


def public_cases(rng: np.random.Generator) -> list[Case]:
    return [
        linear_case(rng, 40, 2, 1, 0.1, "one step"),
        linear_case(rng, 60, 3, 200, 0.05, "two hundred steps"),
        regressor_case(rng, 200, 1, "a smooth surface"),
        classify_case(rng, 2, 3, [0, 1, 2, 2, 1, 0], 1, "a mixed batch"),
        classify_case(rng, 2, 3, [2], 2, "a single row"),
    ]


def hidden_cases(rng: np.random.Generator) -> list[Case]:
    cases = [linear_case(rng, rows, dims, steps, lr, f"{dims} features, {steps} steps")
             for rows, dims, steps, lr in ((50, 1, 20, 0.1), (80, 3, 150, 0.05),
                                           (120, 5, 300, 0.02), (64, 4, 60, 0.08))]
    cases += [regressor_case(rng, rows, seed, f"{rows} rows, seed {seed}")
              for rows, seed in ((200, 3), (240, 4), (180, 5), (256, 6))]
    cases += [
        classify_case(rng, 2, 3, [1], 7, "a single row"),
        classify_case(rng, 4, 4, [3], 8, "a single row, four classes"),
        classify_case(rng, 3, 3, [2] * 10, 9, "a batch of one class"),
        classify_case(rng, 2, 4, [0] * 8, 10, "a batch of another class"),
    ]
    return cases


def render(cases: list[Case]) -> str:
    return "".join(json.dumps(case, separators=(", ", ": ")) + "\n" for case in cases)


def files() -> dict[Path, str]:
    rng = np.random.default_rng(SEED)
    public = render(public_cases(rng))
    hidden = render(hidden_cases(rng))
    return {BUNDLE / "public" / "cases.jsonl": public, BUNDLE / "hidden" / "cases.jsonl": hidden}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed cases differ from the generated ones")
    args = parser.parse_args(argv)
    stale = []
    for path, text in files().items():
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{path.relative_to(ROOT)} differs from what the script makes", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
