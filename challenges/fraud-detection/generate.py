"""Seeded generator of fraud-detection's data: card transactions, hidden fraud labels.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ byte for byte (with the
same NumPy version); any other seed gives a fresh set of transactions from the same model.

Eight weeks of transactions: the first six are the training table (with `is_fraud`), the
last two the test table. Fraud follows a logistic model over what a real fraud team sees
(online, a new device, a foreign merchant, an amount far above the cardholder's habit,
night hours, a burst of recent transactions, risky merchant categories, young accounts).
`dispute_filed` is recorded after the fact: a cardholder disputes a fraud days to weeks
later, so the column is nearly the label on the training weeks and always 0 on the test
weeks, which are scored as transactions arrive (a model that leans on it ranks badly).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

Table = dict[str, list[str]]

SEED = 20250310
CUSTOMERS = 5000
TRAIN_WEEKS = 6
TEST_WEEKS = 2
PER_WEEK = 5000
START = datetime(2024, 3, 4)  # a Monday
INTERCEPT = -12.7  # about 2 % of transactions are fraud
SIGNAL = 2.0  # how sharply the features separate fraud (a careful model reaches AP ~0.6)
CATEGORIES = ["grocery", "restaurants", "fuel", "clothing", "electronics", "travel",
              "digital_goods", "gift_cards"]
CATEGORY_P = [0.30, 0.20, 0.12, 0.12, 0.08, 0.06, 0.08, 0.04]
CATEGORY_RISK = [0.0, 0.0, -0.3, 0.2, 1.0, 0.8, 1.1, 1.6]
COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "GB", "US", "BR", "NG", "TH"]
HOME_P = [0.34, 0.22, 0.14, 0.16, 0.14, 0.0, 0.0, 0.0, 0.0, 0.0]
CHANNELS = ["in_store", "contactless", "online"]
# Hours of legitimate traffic: low at night, peaks at lunch and in the evening.
HOUR_WEIGHTS = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5, 5.5, 6, 7, 6.5, 5.5,
                         5.5, 6, 6.5, 7, 7, 6, 4.5, 3, 2], dtype=float)


def _pick(rng: np.random.Generator, options: list[str], probs: list[float] | npt.NDArray[np.float64],
          n: int) -> npt.NDArray[np.str_]:
    p = np.asarray(probs, dtype=float)
    return rng.choice(np.array(options), size=n, p=p / p.sum())


def tables(seed: int = SEED) -> tuple[Table, Table, Table]:
    """(train with labels, test without labels, test labels)."""
    rng = np.random.default_rng(seed)

    # Cardholders: a home country, a spending habit, an account age at the start.
    home = _pick(rng, COUNTRIES, HOME_P, CUSTOMERS)
    habit = rng.lognormal(3.4, 0.7, CUSTOMERS)  # typical amount, about 30 EUR
    opened = np.round(rng.gamma(1.3, 500, CUSTOMERS)).astype(int)
    customer_ids = rng.choice(np.arange(10000, 100000), size=CUSTOMERS, replace=False)

    n = PER_WEEK * (TRAIN_WEEKS + TEST_WEEKS)
    who = rng.integers(0, CUSTOMERS, n)
    day = np.sort(rng.integers(0, 7 * (TRAIN_WEEKS + TEST_WEEKS), n))
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    # Fraudsters keep other hours: a share of transactions is drawn uniformly over the day.
    night_shift = rng.random(n) < 0.08
    hour = np.where(night_shift, rng.integers(0, 24, n), hour)
    seconds = rng.integers(0, 3600, n)
    account_age = opened[who] + day

    channel = _pick(rng, CHANNELS, [0.45, 0.30, 0.25], n)
    online = channel == "online"
    category = _pick(rng, CATEGORIES, CATEGORY_P, n)
    category = np.where(online & (rng.random(n) < 0.3),
                        _pick(rng, ["electronics", "digital_goods", "gift_cards", "travel"],
                              [0.3, 0.35, 0.15, 0.2], n), category)
    abroad = rng.random(n) < np.where(online, 0.12, 0.04)
    merchant_country = np.where(abroad, _pick(rng, COUNTRIES, [1] * len(COUNTRIES), n), home[who])
    foreign = merchant_country != home[who]
    new_device = np.where(online, rng.random(n) < 0.07, False)
    burst = rng.poisson(np.where(rng.random(n) < 0.05, 5.0, 1.0))
    ratio = rng.lognormal(0.0, 0.75, n) * np.where(rng.random(n) < 0.04, 4.0, 1.0)
    amount = np.round(np.clip(habit[who] * ratio, 1.0, 8000.0), 2)
    avg_30d = habit[who] * rng.lognormal(0.0, 0.12, n)
    distance = np.where(channel == "online", np.nan,
                        np.where(foreign, rng.uniform(300, 9000, n), rng.gamma(1.2, 8, n)))

    category_risk = np.array([CATEGORY_RISK[CATEGORIES.index(c)] for c in category])
    night = (hour <= 5)
    log_ratio = np.log(amount / avg_30d)
    logit = INTERCEPT + SIGNAL * (
               1.6 * online + 0.8 * (channel == "in_store")
             + 1.5 * foreign + 0.9 * (foreign & online)
             + 1.6 * new_device
             + 1.3 * np.clip(log_ratio, -1.0, 3.5)
             + 1.1 * night
             + 0.45 * np.minimum(burst, 8)
             + category_risk
             + 1.0 * (account_age < 60)
             + 0.6 * (distance > 150))
    fraud = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    # Disputes reach the bank after the fact, 2 to about 20 days later: cardholders dispute
    # nearly every fraud of a noticeable amount, fewer of the small test charges, and a few
    # legitimate transactions (buyer's remorse). The training table was exported two weeks
    # after its last day; the test table is scored as transactions arrive, before any dispute.
    delay = 2 + rng.gamma(2.0, 2.0, n)
    noticed = np.where(amount >= 25, 0.99, 0.9)
    disputes = np.where(fraud, rng.random(n) < noticed, rng.random(n) < 0.004)
    train_days = 7 * TRAIN_WEEKS
    age_days = train_days + 14 - (day + hour / 24)
    dispute_filed = disputes & (delay <= age_days) & (day < train_days)

    # Some averages are missing: the 30-day history of a young account is not computed.
    avg_missing = (account_age < 30) | (rng.random(n) < 0.01)

    ids = rng.choice(np.arange(1_000_000, 10_000_000), size=n, replace=False)
    stamps = [(START + timedelta(days=int(d), hours=int(h), seconds=int(s)))
              .strftime("%Y-%m-%d %H:%M:%S") for d, h, s in zip(day, hour, seconds, strict=True)]
    order = np.lexsort((seconds, hour, day))
    columns: Table = {
        "transaction_id": [f"T{i}" for i in ids],
        "timestamp": stamps,
        "customer_id": [f"C{customer_ids[w]}" for w in who],
        "amount": [f"{a:.2f}" for a in amount],
        "merchant_category": [str(c) for c in category],
        "channel": [str(c) for c in channel],
        "card_country": [str(home[w]) for w in who],
        "merchant_country": [str(c) for c in merchant_country],
        "distance_from_home_km": ["" if np.isnan(d) else f"{d:.1f}" for d in distance],
        "new_device": ["yes" if d else "no" for d in new_device],
        "txn_count_24h": [str(b) for b in burst],
        "avg_amount_30d": ["" if m else f"{a:.2f}" for a, m in zip(avg_30d, avg_missing,
                                                                     strict=True)],
        "account_age_days": [str(a) for a in account_age],
        "dispute_filed": ["1" if d else "0" for d in dispute_filed],
    }
    columns = {name: [cells[i] for i in order] for name, cells in columns.items()}
    labels = ["1" if f else "0" for f in fraud[order]]
    split = int(np.sum(day < train_days))  # rows are in time order
    train = {name: cells[:split] for name, cells in columns.items()} | {"is_fraud": labels[:split]}
    test = {name: cells[split:] for name, cells in columns.items()}
    hidden = {"transaction_id": columns["transaction_id"][split:], "is_fraud": labels[split:]}
    return train, test, hidden


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    return out.getvalue().encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The variant's files by path relative to its root (``public/...``, ``hidden/...``)."""
    train, test, hidden = tables(seed)
    return {
        "public/train.csv": csv_bytes(train),
        "public/test.csv": csv_bytes(test),
        "hidden/labels.csv": csv_bytes(hidden),
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
