"""Seeded generator of churn-prediction's data: public train/test tables, hidden test labels.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ byte for byte (with the
same NumPy version); any other seed gives a fresh customer table from the same model.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

Table = dict[str, list[str]]

CHURN_SEED = 20240611
CHURN_TRAIN_ROWS = 3000
CHURN_TEST_ROWS = 1500
CHURN_INTERCEPT = -0.8  # about a quarter of customers churn
CHURN_SIGNAL = 1.3  # how strongly the features drive churn


def _pick(
    rng: np.random.Generator, options: list[str], probs: list[float], n: int
) -> npt.NDArray[np.str_]:
    return rng.choice(np.array(options), size=n, p=np.array(probs))


def _blank_some(rng: np.random.Generator, cells: list[str], rate: float) -> list[str]:
    holes = rng.random(len(cells)) < rate
    return ["" if hole else cell for cell, hole in zip(cells, holes, strict=True)]


def churn_tables(seed: int = CHURN_SEED) -> tuple[Table, Table, Table]:
    """(train with labels, test without labels, test labels) for churn-prediction.

    Churn follows a logistic model with the shapes seen in real telecom data: short
    tenure and month-to-month contracts churn, support calls hurt more without tech
    support, paying a lot for little usage hurts, long contracts protect.
    """
    rng = np.random.default_rng(seed)
    n = CHURN_TRAIN_ROWS + CHURN_TEST_ROWS

    ids = rng.choice(np.arange(100000, 1000000), size=n, replace=False)
    age = np.clip(np.round(rng.normal(45, 15, n)), 18, 85).astype(int)
    region = _pick(rng, ["north", "south", "east", "west", "central"],
                   [0.22, 0.24, 0.18, 0.2, 0.16], n)
    contract = _pick(rng, ["month-to-month", "one-year", "two-year"], [0.52, 0.26, 0.22], n)
    base_tenure = rng.gamma(1.4, 18, n) + np.where(contract == "two-year", 18, 0)
    tenure = np.clip(np.round(base_tenure), 0, 72).astype(int)
    internet = _pick(rng, ["fiber", "dsl", "none"], [0.45, 0.38, 0.17], n)
    tech_support = np.where(internet == "none", "no",
                            _pick(rng, ["yes", "no"], [0.35, 0.65], n))
    streaming = np.where(internet == "none", "no", _pick(rng, ["yes", "no"], [0.45, 0.55], n))
    paperless = _pick(rng, ["yes", "no"], [0.6, 0.4], n)
    payment = _pick(rng, ["electronic-check", "mailed-check", "bank-transfer", "credit-card"],
                    [0.34, 0.22, 0.22, 0.22], n)
    monthly = (20.0 + np.where(internet == "fiber", 50.0, np.where(internet == "dsl", 28.0, 0.0))
               + np.where(streaming == "yes", 14.0, 0.0) + np.where(tech_support == "yes", 8.0, 0.0)
               + rng.normal(0, 6, n))
    monthly = np.clip(monthly, 18.0, 130.0)
    total = monthly * tenure * rng.normal(1.0, 0.04, n)
    usage = np.where(internet == "none", 0.0,
                     rng.lognormal(np.where(internet == "fiber", 4.6, 3.9), 0.6, n))
    calls = rng.poisson(0.6 + 1.2 * (internet == "fiber") * (tech_support == "no"), n)
    late = rng.poisson(np.where(payment == "electronic-check", 0.8, 0.35), n)

    value_gap = np.log1p(monthly) - 0.35 * np.log1p(usage)
    effects = (
        np.select([contract == "month-to-month", contract == "two-year"], [1.1, -1.4], 0.0)
        - 0.75 * np.log1p(tenure) + 0.9 * (tenure < 6)
        + 0.55 * (internet == "fiber") - 0.6 * (internet == "none")
        - 0.45 * (tech_support == "yes")
        + 0.45 * (payment == "electronic-check")
        + 0.22 * (paperless == "yes")
        + 0.5 * np.minimum(calls, 5) * np.where(tech_support == "no", 1.0, 0.4)
        + 0.35 * np.minimum(late, 4)
        + 0.35 * (age >= 65)
        + 0.9 * np.tanh(value_gap - 2.6)
        + 0.25 * (region == "south")
    )
    logit = CHURN_INTERCEPT + CHURN_SIGNAL * effects
    churn = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)

    customer_id = [f"C{i}" for i in ids]
    total_cells = ["" if t == 0 else f"{v:.2f}" for t, v in zip(tenure, total, strict=True)]
    features: Table = {
        "customer_id": customer_id,
        "age": [str(a) for a in age],
        "region": [str(r) for r in region],
        "tenure_months": [str(t) for t in tenure],
        "contract": [str(c) for c in contract],
        "internet_service": [str(i) for i in internet],
        "tech_support": [str(t) for t in tech_support],
        "streaming_tv": [str(s) for s in streaming],
        "paperless_billing": [str(p) for p in paperless],
        "payment_method": _blank_some(rng, [str(p) for p in payment], 0.02),
        "monthly_charges": [f"{m:.2f}" for m in monthly],
        "total_charges": _blank_some(rng, total_cells, 0.01),
        "avg_monthly_gb": _blank_some(rng, [f"{u:.1f}" for u in usage], 0.03),
        "support_calls_90d": [str(c) for c in calls],
        "late_payments_12m": [str(v) for v in late],
    }
    labels = [str(c) for c in churn]
    split = CHURN_TRAIN_ROWS
    train = {name: cells[:split] for name, cells in features.items()} | {"churn": labels[:split]}
    test = {name: cells[split:] for name, cells in features.items()}
    hidden = {"customer_id": customer_id[split:], "churn": labels[split:]}
    return train, test, hidden


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    return out.getvalue().encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The variant's files by path relative to its root (``public/...``, ``hidden/...``)."""
    train, test, hidden = churn_tables(seed)
    return {
        "public/train.csv": csv_bytes(train),
        "public/test.csv": csv_bytes(test),
        "hidden/labels.csv": csv_bytes(hidden),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=CHURN_SEED)
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
