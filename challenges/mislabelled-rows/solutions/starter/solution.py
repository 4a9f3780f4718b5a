"""Starter for "Find the mislabelled rows": a one-column rule that runs and scores little.

Each batch's suspicion is how far its sugar content is from the mean of its recorded
grade. Replace it with something better. Keep the output format: /output/predictions.csv
with the columns batch_id,suspicion and one row per batch of /data/batches.csv (higher
suspicion = more likely mislabelled).
"""

import os
from pathlib import Path

import pandas as pd

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))


def main() -> None:
    batches = pd.read_csv(DATA / "batches.csv")
    by_grade = batches.groupby("grade")["sugar_brix"]
    z = (batches["sugar_brix"] - by_grade.transform("mean")) / by_grade.transform("std")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"batch_id": batches["batch_id"], "suspicion": z.abs()}) \
        .to_csv(OUTPUT / "predictions.csv", index=False)
    print(f"wrote {len(batches)} scores")


if __name__ == "__main__":
    main()
