"""Seeded generator of mislabelled-rows' data: graded fruit batches, some grades wrong.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ byte for byte (with the
same NumPy version); any other seed gives fresh batches from the same model.

Each row is a batch of apples measured at the packing station; a grader gave it grade A,
B or C. The true grade follows the measurements (sugar, firmness, colour, blemishes, size,
age) through a nonlinear score with some noise, so a few correct grades look surprising.
About 6 % of the recorded grades are wrong, mostly by one grade (A for B, C for B) and more
often on the night shift; the hidden file says which.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

Table = dict[str, list[str]]

SEED = 20250519
ROWS = 5000
GRADES = ["A", "B", "C"]


def tables(seed: int = SEED) -> tuple[Table, Table]:
    """(the graded batches as recorded, which rows were mislabelled)."""
    rng = np.random.default_rng(seed)
    n = ROWS
    days = rng.integers(0, 60, n)
    sugar = rng.normal(13.0, 1.6, n)
    firmness = rng.normal(7.5, 1.2, n) - 0.04 * days
    hue = rng.normal(0.6, 0.15, n)  # share of red skin
    blemish = rng.gamma(1.2, 1.5, n)
    size = rng.normal(72, 6, n)
    acidity = rng.normal(0.55, 0.1, n)
    variety = rng.choice(["gala", "braeburn", "elstar", "jonagold"], n, p=[0.35, 0.25, 0.2, 0.2])
    shift = rng.choice(["day", "night"], n, p=[0.7, 0.3])

    quality = (0.9 * (sugar - 13) + 1.1 * (firmness - 7) + 2.5 * (hue - 0.6)
               - 0.7 * blemish + 0.08 * (size - 72) - 1.2 * np.maximum(0, 0.45 - acidity) * 10
               + np.where(variety == "braeburn", 0.4, 0.0)
               - 0.6 * np.maximum(0, blemish - 3) ** 1.3
               + rng.normal(0, 0.5, n))
    true_grade = np.where(quality > 0.4, 0, np.where(quality > -1.6, 1, 2))

    flip_rate = np.where(shift == "night", 0.10, 0.045)
    flipped = rng.random(n) < flip_rate
    step = np.where(rng.random(n) < 0.85, 1, 2)  # mostly a neighbouring grade
    up = rng.random(n) < 0.5
    recorded = true_grade.copy()
    for i in np.flatnonzero(flipped):
        target = true_grade[i] + (-step[i] if up[i] else step[i])
        if not 0 <= target <= 2:
            target = true_grade[i] + (step[i] if up[i] else -step[i])
        recorded[i] = int(np.clip(target, 0, 2))
    flipped = recorded != true_grade

    ids = rng.choice(np.arange(100000, 1000000), size=n, replace=False)
    batch_id = [f"B{i}" for i in ids]
    public: Table = {
        "batch_id": batch_id,
        "day": [str(d) for d in days],
        "shift": [str(s) for s in shift],
        "variety": [str(v) for v in variety],
        "sugar_brix": [f"{v:.2f}" for v in sugar],
        "firmness_kg": [f"{v:.2f}" for v in firmness],
        "red_share": [f"{np.clip(v, 0, 1):.3f}" for v in hue],
        "blemish_score": [f"{v:.2f}" for v in blemish],
        "size_mm": [f"{v:.1f}" for v in size],
        "acidity_pct": [f"{v:.3f}" for v in acidity],
        "grade": [GRADES[g] for g in recorded],
    }
    hidden: Table = {"batch_id": batch_id, "mislabelled": ["1" if f else "0" for f in flipped]}
    return public, hidden


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    return out.getvalue().encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The variant's files by path relative to its root (``public/...``, ``hidden/...``)."""
    public, hidden = tables(seed)
    return {"public/batches.csv": csv_bytes(public), "hidden/labels.csv": csv_bytes(hidden)}


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
