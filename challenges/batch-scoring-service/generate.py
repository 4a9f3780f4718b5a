"""Seeded generator of batch-scoring-service's data: loans to train on, portfolios to score.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ byte for byte (with the
same NumPy version); any other seed gives fresh loans and portfolios from the same model.

Loans default following a logistic model of their grade, rate, income, debt-to-income
ratio, utilisation, delinquencies and term (about 8 % default). ``public/train.csv`` holds
past loans with their outcome. Each prediction request is a portfolio of 500 new loans,
drawn from one of several sales channels with their own risk mix; its ``expected`` value
is the **expected number of defaults**, the sum of the loans' true default probabilities
(known here because the loans are simulated). Invalid requests describe payloads the
service must refuse with a 4xx JSON error.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250602
TRAIN_ROWS = 8000
PORTFOLIO = 500
HIDDEN_PORTFOLIOS = 8
PUBLIC_PORTFOLIOS = 3
GRADES = ["A", "B", "C", "D", "E"]
PURPOSES = ["debt_consolidation", "home_improvement", "car", "business", "medical", "other"]
HOMES = ["rent", "mortgage", "own"]
NUMBERS = ["amount", "term_months", "interest_rate", "annual_income", "dti", "revol_util",
           "delinquencies_2y", "employment_years"]
TEXTS = ["grade", "purpose", "home_ownership"]
FIELDS = NUMBERS + TEXTS


def loans(rng: np.random.Generator, n: int, grade_p: list[float]) -> tuple[list[dict[str, Any]],
                                                                          np.ndarray]:
    """n loans (as JSON-ready records) and their true default probabilities."""
    grade = rng.choice(len(GRADES), size=n, p=np.array(grade_p) / sum(grade_p))
    rate = np.round(6 + 3.2 * grade + rng.normal(0, 1.0, n), 2)
    income = np.round(rng.lognormal(10.9, 0.5, n), -2)
    amount = np.round(np.clip(rng.lognormal(9.3, 0.6, n), 1000, 40000), -2)
    term = np.where(rng.random(n) < 0.3 + 0.08 * grade, 60, 36)
    dti = np.round(np.clip(rng.gamma(4, 4.5, n), 0, 60), 1)
    util = np.round(np.clip(rng.beta(2, 2.5, n) * 100 + 4 * grade, 0, 100), 1)
    delinquent = rng.poisson(0.15 + 0.12 * grade, n)
    employment = np.clip(np.round(rng.gamma(2, 3, n)), 0, 40).astype(int)
    purpose = rng.choice(len(PURPOSES), size=n, p=[0.45, 0.12, 0.1, 0.08, 0.07, 0.18])
    home = rng.choice(len(HOMES), size=n, p=[0.42, 0.45, 0.13])

    logit = (-5.3 + 0.55 * grade + 0.06 * (rate - 6 - 3.2 * grade)
             + 0.9 * np.log(amount / income * 10 + 0.05) * 0.5
             + 0.025 * dti + 0.012 * util + 0.35 * np.minimum(delinquent, 4)
             + 0.35 * (term == 60) - 0.03 * np.minimum(employment, 10)
             + np.array([0.0, -0.1, -0.2, 0.45, 0.3, 0.05])[purpose]
             + np.array([0.15, -0.1, -0.2])[home])
    probability = 1 / (1 + np.exp(-logit))
    records = [{
        "amount": float(amount[i]), "term_months": int(term[i]), "interest_rate": float(rate[i]),
        "annual_income": float(income[i]), "dti": float(dti[i]), "revol_util": float(util[i]),
        "delinquencies_2y": int(delinquent[i]), "employment_years": int(employment[i]),
        "grade": GRADES[grade[i]], "purpose": PURPOSES[purpose[i]], "home_ownership": HOMES[home[i]],
    } for i in range(n)]
    return records, probability


def train_csv(rng: np.random.Generator) -> bytes:
    records, probability = loans(rng, TRAIN_ROWS, [0.2, 0.28, 0.25, 0.17, 0.1])
    defaulted = rng.random(TRAIN_ROWS) < probability
    ids = rng.choice(np.arange(100000, 1000000), size=TRAIN_ROWS, replace=False)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["loan_id", *FIELDS, "defaulted"])
    for loan_id, record, flag in zip(ids, records, defaulted, strict=True):
        writer.writerow([f"L{loan_id}", *[record[f] for f in FIELDS], int(flag)])
    return out.getvalue().encode("utf-8")


CHANNELS = {  # grade mix of each sales channel: portfolios differ in risk
    "branch": [0.35, 0.35, 0.2, 0.07, 0.03],
    "online": [0.15, 0.25, 0.3, 0.2, 0.1],
    "broker": [0.05, 0.15, 0.3, 0.3, 0.2],
    "partner": [0.45, 0.3, 0.15, 0.07, 0.03],
    "promo": [0.02, 0.08, 0.25, 0.35, 0.3],
}


def portfolios(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    out = []
    names = list(CHANNELS)
    for i in range(count):
        channel = names[i % len(names)]
        records, probability = loans(rng, PORTFOLIO, CHANNELS[channel])
        out.append({"label": f"portfolio {i + 1} ({channel})", "kind": "predict",
                    "body": {"loans": records}, "expected": round(float(probability.sum()), 6)})
    return out


def invalid(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """Payloads a careful service refuses with a 4xx and a JSON error."""
    good = sample["body"]["loans"][:5]
    missing = [dict(loan) for loan in good]
    del missing[3]["dti"]
    wrong_type = [dict(loan) for loan in good]
    wrong_type[1]["annual_income"] = "55k"
    bad_grade = [dict(loan) for loan in good]
    bad_grade[2]["grade"] = 3
    null_field = [dict(loan) for loan in good]
    null_field[0]["interest_rate"] = None
    return [
        {"label": "a loan without dti", "kind": "invalid", "body": {"loans": missing}},
        {"label": "an income as text", "kind": "invalid", "body": {"loans": wrong_type}},
        {"label": "a grade as a number", "kind": "invalid", "body": {"loans": bad_grade}},
        {"label": "a null interest rate", "kind": "invalid", "body": {"loans": null_field}},
        {"label": "no loans key", "kind": "invalid", "body": {"portfolio": good}},
        {"label": "loans is not a list", "kind": "invalid", "body": {"loans": good[0]}},
        {"label": "an empty portfolio", "kind": "invalid", "body": {"loans": []}},
        {"label": "a loan that is not an object", "kind": "invalid",
         "body": {"loans": [good[0], "L123456"]}},
        {"label": "too many loans (501)", "kind": "invalid",
         "body": {"loans": [good[0]] * 501}},
        {"label": "empty body", "kind": "invalid", "raw": ""},
        {"label": "not JSON", "kind": "invalid", "raw": "loans=L1,L2"},
        {"label": "huge body (2 MB)", "kind": "invalid", "huge_bytes": 2097152},
    ]


def jsonl(items: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(item, sort_keys=True) + "\n" for item in items).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The variant's files by path relative to its root (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    train = train_csv(rng)
    hidden = portfolios(rng, HIDDEN_PORTFOLIOS)
    public = portfolios(rng, PUBLIC_PORTFOLIOS)
    return {
        "public/train.csv": train,
        "public/requests.jsonl": jsonl(public + invalid(public[0])),
        "hidden/requests.jsonl": jsonl(hidden + invalid(hidden[0])),
    }


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
