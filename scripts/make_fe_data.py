"""Generate the data of the late-delivery-features challenge, deterministically.

    python scripts/make_fe_data.py            # rewrite its public/ and hidden/ files
    python scripts/make_fe_data.py --check    # exit 1 if the committed files differ

Orders of a parcel shipper: dates, categories, a high-cardinality postcode and missing
values. Whether an order arrives late follows a latent transit time against the promised
date, so the signal sits in what a candidate derives (days of slack, weekday, peak
season, missingness), not in the raw columns.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "challenges" / "late-delivery-features"

SEED = 20240917
TRAIN_ROWS = 4000
TEST_ROWS = 2000
SAMPLE_ROWS = 25  # test-like rows without labels, so candidates can try their transform
POSTCODES = 900
START = np.datetime64("2024-01-01")

Table = dict[str, list[str]]
Strings = npt.NDArray[np.str_]


def _pick(rng: np.random.Generator, options: list[str], probs: list[float], n: int) -> Strings:
    return rng.choice(np.array(options), size=n, p=np.array(probs))


def _blank(rng: np.random.Generator, cells: list[str], rate: npt.NDArray[np.float64] | float
           ) -> list[str]:
    holes = rng.random(len(cells)) < rate
    return ["" if hole else cell for cell, hole in zip(cells, holes, strict=True)]


def orders(seed: int = SEED) -> tuple[Table, list[str]]:
    """Every order's feature cells (train, test and sample rows) and its late label."""
    rng = np.random.default_rng(seed)
    n = TRAIN_ROWS + TEST_ROWS + SAMPLE_ROWS

    # Ids are drawn at random, so neither their value nor their order says anything.
    order_id = rng.choice(np.arange(1_000_000, 10_000_000), size=n, replace=False)
    day = rng.integers(0, 366, n)
    minute = np.clip(rng.normal(14 * 60, 240, n), 0, 24 * 60 - 1).astype(int)
    ordered = START + day.astype("timedelta64[D]")
    weekday = (ordered.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    month = ordered.astype("datetime64[M]").astype(int) % 12 + 1

    mode = _pick(rng, ["standard", "express", "same_day"], [0.62, 0.3, 0.08], n)
    carrier = _pick(rng, ["northline", "parcelgo", "swiftex", "bluecrate", "routa"],
                    [0.3, 0.25, 0.2, 0.15, 0.1], n)
    warehouse = _pick(rng, [f"WH{i:02d}" for i in range(1, 9)],
                      [0.18, 0.16, 0.14, 0.12, 0.12, 0.1, 0.1, 0.08], n)
    zipf = rng.zipf(1.3, n)
    postcode_index = (zipf - 1) % POSTCODES
    postcode_effect = rng.normal(0.0, 0.25, POSTCODES)[postcode_index]
    remote = rng.random(n) < 0.12
    distance = rng.lognormal(np.where(remote, 6.4, 5.3), 0.55, n)
    weight = rng.lognormal(0.6, 0.9, n)
    items = rng.poisson(1.2, n) + 1
    tier = _pick(rng, ["gold", "silver", "bronze"], [0.15, 0.35, 0.5], n)
    gift = _pick(rng, ["yes", "no"], [0.08, 0.92], n)

    promised = np.select(
        [mode == "standard", mode == "express"],
        [rng.integers(3, 8, n), rng.integers(1, 4, n)],
        (minute >= 12 * 60).astype(int),  # same-day orders after noon are promised tomorrow
    )
    speed = {"northline": 520.0, "parcelgo": 450.0, "swiftex": 600.0, "bluecrate": 380.0,
             "routa": 430.0}
    carrier_speed = np.vectorize(speed.__getitem__)(carrier)
    handling = np.select([mode == "standard", mode == "express"], [1.6, 0.6], 0.15)
    transit = (
        handling
        + distance / carrier_speed * np.where(mode == "standard", 1.0, 0.55)
        + 0.9 * (weekday >= 4) * (minute >= 15 * 60) + 0.9 * (weekday == 5) + 0.5 * (weekday == 6)
        + 0.8 * (month == 12) + 0.4 * (month == 11)
        + 0.5 * np.isin(warehouse, ["WH04", "WH07"])
        + 0.18 * np.log1p(weight) + 0.08 * (items - 1)
        - 0.25 * (tier == "gold")
        + postcode_effect
        + rng.normal(0.0, 0.55, n)
    )
    late = (transit > promised + 0.5).astype(int)

    def fmt_date(values: npt.NDArray[np.datetime64]) -> list[str]:
        return [str(v) for v in values.astype("datetime64[D]")]

    ordered_at = [f"{d} {m // 60:02d}:{m % 60:02d}" for d, m in zip(fmt_date(ordered), minute,
                                                                   strict=True)]
    promised_by = fmt_date(ordered.astype("datetime64[D]") + promised.astype("timedelta64[D]"))
    # Distances go missing mostly for remote addresses the geocoder fails on.
    distance_cells = _blank(rng, [f"{d:.1f}" for d in distance], np.where(remote, 0.45, 0.05))
    table: Table = {
        "order_id": [str(i) for i in order_id],
        "ordered_at": ordered_at,
        "promised_by": promised_by,
        "ship_mode": [str(m) for m in mode],
        "carrier": [str(c) for c in carrier],
        "warehouse": [str(w) for w in warehouse],
        "postcode": [f"P{i:04d}" for i in postcode_index * 7 % 9973],
        "distance_km": distance_cells,
        "weight_kg": _blank(rng, [f"{w:.2f}" for w in weight], 0.06),
        "items": [str(i) for i in items],
        "customer_tier": _blank(rng, [str(t) for t in tier], 0.15),
        "gift_wrap": [str(g) for g in gift],
    }
    return table, [str(v) for v in late]


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    return out.getvalue().encode("utf-8")


def _rows(table: Table, start: int, stop: int) -> Table:
    return {name: cells[start:stop] for name, cells in table.items()}


def files() -> dict[Path, bytes]:
    table, late = orders()
    train_end = TRAIN_ROWS
    test_end = TRAIN_ROWS + TEST_ROWS
    train = _rows(table, 0, train_end) | {"late": late[:train_end]}
    test = _rows(table, train_end, test_end)
    labels = {"order_id": test["order_id"], "late": late[train_end:test_end]}
    sample = _rows(table, test_end, test_end + SAMPLE_ROWS)
    return {
        BUNDLE / "public" / "train.csv": csv_bytes(train),
        BUNDLE / "public" / "sample.csv": csv_bytes(sample),
        BUNDLE / "hidden" / "test.csv": csv_bytes(test),
        BUNDLE / "hidden" / "labels.csv": csv_bytes(labels),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = 0
    for path, data in files().items():
        shown = path.relative_to(ROOT)
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale += 1
                print(f"differs: {shown}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {shown} ({len(data)} bytes)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
