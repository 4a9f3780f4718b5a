"""Writes churn-service's data: a public training table and the probe's request files.

    python scripts/make_service_challenge.py [--check]

The customers come from churn-prediction's seeded generator (another seed, so the two
challenges share no rows). ``public/requests.jsonl`` holds a few requests with their
answers for the public checks; ``hidden/requests.jsonl`` the graded ones. Prediction
requests carry the customer record as ``body`` and the true label as ``expected``;
invalid ones describe a payload the service must refuse with a 4xx and a JSON error.
Deterministic: the same files come out on every run.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "challenges" / "churn-service"
SEED = 20250301
PUBLIC_PREDICT = 40
HIDDEN_PREDICT = 400
NUMERIC = ("age", "tenure_months", "monthly_charges", "total_charges", "avg_monthly_gb",
           "support_calls_90d", "late_payments_12m")
INTEGERS = ("age", "tenure_months", "support_calls_90d", "late_payments_12m")


def _generator() -> ModuleType:
    path = ROOT / "challenges" / "churn-prediction" / "generate.py"
    spec = importlib.util.spec_from_file_location("churn_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(table: dict[str, list[str]], row: int) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, cells in table.items():
        if name in ("customer_id", "churn"):
            continue
        cell = cells[row]
        if cell == "":
            record[name] = None
        elif name in INTEGERS:
            record[name] = int(cell)
        elif name in NUMERIC:
            record[name] = float(cell)
        else:
            record[name] = cell
    return record


def _invalid(sample: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    """Payloads a careful service refuses with a 4xx and a JSON error."""
    missing = {k: v for k, v in sample.items() if k != "tenure_months"}
    no_contract = {k: v for k, v in sample.items() if k != "contract"}
    return [
        {"label": f"{tag}missing tenure_months", "kind": "invalid", "body": missing},
        {"label": f"{tag}missing contract", "kind": "invalid", "body": no_contract},
        {"label": f"{tag}tenure_months as text", "kind": "invalid",
         "body": sample | {"tenure_months": "twelve"}},
        {"label": f"{tag}monthly_charges as a list", "kind": "invalid",
         "body": sample | {"monthly_charges": [55.0]}},
        {"label": f"{tag}contract as a number", "kind": "invalid", "body": sample | {"contract": 12}},
        {"label": f"{tag}empty body", "kind": "invalid", "raw": ""},
        {"label": f"{tag}not JSON", "kind": "invalid", "raw": "tenure_months=12&age=40"},
        {"label": f"{tag}a JSON list", "kind": "invalid", "raw": json.dumps([sample])},
        {"label": f"{tag}huge body (2 MB)", "kind": "invalid", "huge_bytes": 2 * 1024 * 1024},
    ]


def requests(seed: int = SEED) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bytes]:
    """(public requests, hidden requests, public train.csv)."""
    generate = _generator()
    train, test, hidden = generate.churn_tables(seed)
    labels = [int(v) for v in hidden["churn"]]
    rows = list(range(len(labels)))
    public_rows, hidden_rows = rows[:PUBLIC_PREDICT], rows[PUBLIC_PREDICT:PUBLIC_PREDICT + HIDDEN_PREDICT]
    public = [{"label": f"customer {test['customer_id'][r]}", "kind": "predict",
               "body": _record(test, r), "expected": labels[r]} for r in public_rows]
    graded = [{"label": f"customer {test['customer_id'][r]}", "kind": "predict",
               "body": _record(test, r), "expected": labels[r]} for r in hidden_rows]
    public += _invalid(_record(test, public_rows[0]), "")
    graded += _invalid(_record(test, hidden_rows[0]), "")
    train_csv: bytes = generate.csv_bytes(train)
    return public, graded, train_csv


def _jsonl(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(item, sort_keys=True) + "\n" for item in items)


def main(argv: list[str] | None = None) -> int:
    public, graded, train_csv = requests()
    wanted = {BUNDLE / "public" / "train.csv": train_csv,
              BUNDLE / "public" / "requests.jsonl": _jsonl(public).encode("utf-8"),
              BUNDLE / "hidden" / "requests.jsonl": _jsonl(graded).encode("utf-8")}
    if "--check" in (sys.argv[1:] if argv is None else argv):
        stale = [str(p.relative_to(ROOT)) for p, data in wanted.items()
                 if not p.is_file() or p.read_bytes() != data]
        if stale:
            print(f"stale: {', '.join(stale)} (run {Path(__file__).name})", file=sys.stderr)
            return 1
        return 0
    (BUNDLE / "public").mkdir(parents=True, exist_ok=True)
    (BUNDLE / "hidden").mkdir(parents=True, exist_ok=True)
    for path, data in wanted.items():
        path.write_bytes(data)
    print(f"{len(public)} public and {len(graded)} hidden requests written under {BUNDLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
