"""Generate the test cases of challenges/metrics-from-scratch, deterministically.

    python scripts/make_metrics_cases.py            # rewrite public/ and hidden/ cases
    python scripts/make_metrics_cases.py --check    # exit 1 if the committed files differ

Expected values come from scikit-learn (ROC-AUC, log-loss), an oracle independent of the
bundle's reference solution; the holdout rule is spelled out in the statement and here.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "challenges" / "metrics-from-scratch"
SEED = 20240917
AUC_TOLERANCE = {"abs": 1e-9, "rel": 0}
LOSS_TOLERANCE = {"abs": 1e-12, "rel": 1e-6}

Case = dict[str, Any]
Files = dict[str, bytes]


def _auc(y: list[int], s: list[float]) -> Any:
    if len(set(y)) < 2:
        return {"$float": "nan"}
    return float(roc_auc_score(y, s))


def auc_case(y: list[int], s: list[float], group: str, name: str | None = None) -> Case:
    case: Case = {"function": "roc_auc", "args": [y, s], "expected": _auc(y, s),
                  "tolerance": AUC_TOLERANCE, "group": group}
    if name:
        case["name"] = name
    return case


def loss_case(y: list[int], p: list[float], name: str | None = None,
              eps: float | None = None) -> Case:
    used = 1e-15 if eps is None else eps
    clipped = np.clip(np.asarray(p, dtype=float), used, 1 - used)
    case: Case = {"function": "log_loss", "args": [y, p],
                  "expected": float(sk_log_loss(y, clipped, labels=[0, 1])),
                  "tolerance": LOSS_TOLERANCE, "group": "log_loss"}
    if eps is not None:
        case["kwargs"] = {"eps": eps}
    if name:
        case["name"] = name
    return case


def holdout(y: list[Any], test_size: float) -> list[int]:
    """The rule of the statement: per class, its last floor(n_c * test_size + 0.5) rows."""
    test: list[int] = []
    for label in sorted(set(y), key=repr):
        members = [i for i, value in enumerate(y) if value == label]
        k = math.floor(len(members) * test_size + 0.5)
        test.extend(members[len(members) - k:] if k else [])
    return sorted(test)


def split_case(y: list[Any], test_size: float, name: str | None = None,
               arg: Any = None) -> Case:
    case: Case = {"function": "stratified_test_indices", "args": [arg if arg is not None else y,
                                                                  test_size],
                  "expected": holdout(y, test_size), "unordered": True, "group": "split"}
    if name:
        case["name"] = name
    return case


def _npy(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def hidden_cases(rng: np.random.Generator) -> tuple[list[Case], Files]:
    cases: list[Case] = []
    files: Files = {}
    for _ in range(10):
        n = int(rng.integers(6, 200))
        y = [int(v) for v in rng.integers(0, 2, n)]
        y[0], y[1] = 0, 1
        s = [round(float(v), 6) for v in rng.normal(np.asarray(y) * 0.8, 1.0)]
        cases.append(auc_case(y, s, "roc_auc"))
    for i in range(9):
        n = int(rng.integers(8, 150))
        y = [int(v) for v in rng.integers(0, 2, n)]
        y[0], y[1] = 0, 1
        levels = 2 + i  # few distinct scores: many tied pairs
        s = [float(v) for v in np.round(rng.normal(np.asarray(y) * 0.7, 1.0) * levels / 3) / 4]
        cases.append(auc_case(y, s, "roc_auc ties"))
    cases.append(auc_case([0, 1, 0, 1, 1], [0.5] * 5, "roc_auc ties", "every score tied"))
    cases.append(auc_case([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], "roc_auc edge", "perfect"))
    cases.append(auc_case([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], "roc_auc edge", "reversed"))
    cases.append(auc_case([1, 0], [3, 7], "roc_auc edge", "two rows, integer scores"))
    cases.append(auc_case([1, 1, 1], [0.2, 0.4, 0.6], "roc_auc edge", "positives only"))
    cases.append(auc_case([0, 0], [0.2, 0.4], "roc_auc edge", "negatives only"))
    big_y = rng.integers(0, 2, 20000)
    big_s = np.round(rng.normal(big_y * 0.5, 1.0), 2)  # large and tied: needs O(n log n)
    files["auc_big_y.npy"] = _npy(big_y.astype(np.int64))
    files["auc_big_s.npy"] = _npy(big_s.astype(np.float64))
    big = auc_case([int(v) for v in big_y], [float(v) for v in big_s], "roc_auc edge",
                   "20000 rows, numpy arrays")
    big["args"] = [{"$file": "auc_big_y.npy"}, {"$file": "auc_big_s.npy"}]
    cases.append(big)

    for _ in range(6):
        n = int(rng.integers(3, 100))
        y = [int(v) for v in rng.integers(0, 2, n)]
        p = [round(float(v), 6) for v in rng.uniform(0.01, 0.99, n)]
        cases.append(loss_case(y, p))
    cases.append(loss_case([1, 0, 1], [1.0, 0.0, 0.7], "certain and right"))
    cases.append(loss_case([1, 0], [0.0, 1.0], "certain and wrong: clipped"))
    cases.append(loss_case([1, 0, 1, 0], [0.0, 0.5, 1.0, 0.2], "custom eps", eps=1e-3))
    cases.append(loss_case([1], [0.25], "one row"))

    labels = ["churn", "stay"]
    for i in range(7):
        n = int(rng.integers(10, 120))
        weights = [0.5, 0.5] if i % 2 == 0 else [0.85, 0.15]
        y = [int(v) for v in rng.choice(2, size=n, p=weights)]
        size = [0.2, 0.25, 0.3, 0.5][i % 4]
        cases.append(split_case(y, size))
    three = [int(v) for v in rng.integers(0, 3, 60)]
    cases.append(split_case(three, 0.2, "three classes"))
    strings = [labels[int(v)] for v in rng.choice(2, size=40, p=[0.3, 0.7])]
    cases.append(split_case(strings, 0.25, "string labels"))
    cases.append(split_case([0] * 9 + [1], 0.3, "a class of one"))
    big_split = rng.choice(2, size=5000, p=[0.9, 0.1]).astype(np.int64)
    files["split_big_y.npy"] = _npy(big_split)
    cases.append(split_case([int(v) for v in big_split], 0.2, "5000 rows, numpy array",
                            arg={"$file": "split_big_y.npy"}))
    return cases, files


def public_cases() -> list[Case]:
    return [
        auc_case([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], "roc_auc", "the classic example"),
        auc_case([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], "roc_auc ties", "a tie"),
        loss_case([1, 0, 1], [0.9, 0.1, 0.8]),
        split_case([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 0.5, "even split"),
        split_case([0, 1, 0, 0, 1, 0, 0, 0], 0.25, "imbalanced"),
    ]


def _jsonl(cases: list[Case]) -> bytes:
    return "".join(json.dumps(case, allow_nan=False) + "\n" for case in cases).encode()


def outputs() -> dict[Path, bytes]:
    rng = np.random.default_rng(SEED)
    hidden, files = hidden_cases(rng)
    result = {BUNDLE / "public" / "cases.jsonl": _jsonl(public_cases()),
              BUNDLE / "hidden" / "cases.jsonl": _jsonl(hidden)}
    result.update({BUNDLE / "hidden" / name: data for name, data in files.items()})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for path, data in outputs().items():
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
