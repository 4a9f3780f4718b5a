"""Seeded generator of demand-forecasting's data: daily unit sales, hidden future sales.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ byte for byte (with the
same NumPy version); any other seed gives fresh shops and products from the same model.

Twenty-four series (four shops, six products) of daily units sold over two years, then
eight weeks to forecast. Demand is multiplicative: each series' level and its own yearly
growth or decline, a weekly profile per shop, a yearly season per product, promotions
planned in advance (with a price cut), the price against the product's regular price,
Christmas peaks and closed public holidays; sales are drawn with overdispersed noise.
Prices, promotions and holidays of the forecast weeks are known (they are planned).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

Table = dict[str, list[str]]

SEED = 20250407
START = date(2023, 1, 2)  # a Monday
HISTORY_DAYS = 728  # 104 weeks
HORIZON_DAYS = 56  # 8 weeks
SHOPS = ["S1", "S2", "S3", "S4"]
PRODUCTS = ["P1", "P2", "P3", "P4", "P5", "P6"]
CLOSED = {(1, 1), (12, 25), (12, 26), (5, 1)}  # (month, day): shops shut
PEAK = {(12, 22): 1.3, (12, 23): 1.6, (12, 24): 1.4, (12, 31): 1.3}
ELASTICITY = 1.6


def _season(rng: np.random.Generator, day_of_year: np.ndarray) -> np.ndarray:
    """A product's yearly profile: a peak somewhere in the year, of its own strength."""
    peak = rng.uniform(0, 365)
    strength = rng.uniform(0.1, 0.45)
    angle = 2 * np.pi * (day_of_year - peak) / 365.25
    return np.exp(strength * np.cos(angle) + 0.08 * rng.normal() * np.sin(2 * angle))


def _promotions(rng: np.random.Generator, days: int) -> np.ndarray:
    """Blocks of 3-7 promotion days, about one block every five weeks."""
    promo = np.zeros(days, dtype=bool)
    day = int(rng.integers(0, 20))
    while day < days:
        length = int(rng.integers(3, 8))
        promo[day:day + length] = True
        day += length + int(rng.integers(20, 50))
    return promo


def tables(seed: int = SEED) -> tuple[Table, Table, Table]:
    """(train with units, test without units, test units)."""
    rng = np.random.default_rng(seed)
    days = HISTORY_DAYS + HORIZON_DAYS
    dates = [START + timedelta(days=i) for i in range(days)]
    day_of_year = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    weekday = np.array([d.weekday() for d in dates])
    closed = np.array([(d.month, d.day) in CLOSED for d in dates])
    peak = np.array([PEAK.get((d.month, d.day), 1.0) for d in dates])
    t = np.arange(days) / 365.25

    weekly = {shop: np.exp(rng.normal(0, 0.08, 7) + np.array([0, -0.05, 0, 0.05, 0.15, 0.35,
                                                                rng.uniform(-0.6, 0.2)]))
              for shop in SHOPS}
    shop_size = {shop: rng.lognormal(0, 0.4) for shop in SHOPS}
    season = {product: _season(rng, day_of_year) for product in PRODUCTS}
    product_base = {product: rng.lognormal(4.0, 0.5) for product in PRODUCTS}
    regular_price = {product: round(float(rng.uniform(1.5, 12.0)), 2) for product in PRODUCTS}
    uplift = {product: rng.uniform(0.25, 0.6) for product in PRODUCTS}

    rows: list[dict[str, str]] = []
    units_all: list[int] = []
    for shop in SHOPS:
        for product in PRODUCTS:
            growth = rng.uniform(-0.15, 0.45)  # per year, on the log scale
            promo = _promotions(rng, days)
            regular = regular_price[product] * np.where(
                np.arange(days) >= int(rng.integers(200, 600)), rng.choice([1.0, 1.1]), 1.0)
            price = np.round(np.where(promo, regular * rng.uniform(0.7, 0.85), regular), 2)
            mean = (shop_size[shop] * product_base[product] * np.exp(growth * t)
                    * weekly[shop][weekday] * season[product] * peak
                    * (price / regular_price[product]) ** (-ELASTICITY)
                    * np.where(promo, 1 + uplift[product], 1))
            mean = np.where(closed, 0.0, mean)
            # Gamma-Poisson: overdispersed counts, more so for small series.
            units = rng.poisson(mean * rng.gamma(25.0, 1 / 25.0, days))
            for i in range(days):
                rows.append({
                    "id": f"{shop}-{product}-{dates[i].isoformat()}",
                    "date": dates[i].isoformat(),
                    "shop_id": shop,
                    "product_id": product,
                    "price": f"{price[i]:.2f}",
                    "promo": "1" if promo[i] else "0",
                    "holiday": "1" if closed[i] else "0",
                })
                units_all.append(int(units[i]))

    history = [r["date"] < dates[HISTORY_DAYS].isoformat() for r in rows]
    columns = list(rows[0])
    train: Table = {c: [r[c] for r, h in zip(rows, history, strict=True) if h] for c in columns}
    train["units"] = [str(u) for u, h in zip(units_all, history, strict=True) if h]
    test: Table = {c: [r[c] for r, h in zip(rows, history, strict=True) if not h]
                   for c in columns}
    hidden: Table = {"id": test["id"],
                     "units": [str(u) for u, h in zip(units_all, history, strict=True) if not h]}
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
