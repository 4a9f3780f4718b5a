"""Flawed on purpose: the suspicion comes from a model scored on the rows it was trained on.

Gradient boosting fit on every batch, then asked how likely each batch's recorded grade
is. It has learnt many of the wrong grades along with the right ones, so the wrong grades
it memorised look perfectly likely and sink down the review list.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))
GRADES = ["A", "B", "C"]


def features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=["batch_id", "grade"]).copy()
    for column in ("shift", "variety"):
        out[column] = out[column].astype("category")
    return out


def main() -> None:
    batches = pd.read_csv(DATA / "batches.csv")
    x = features(batches)
    y = batches["grade"].map({g: i for i, g in enumerate(GRADES)}).to_numpy()
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    probabilities = model.fit(x, y).predict_proba(x)
    suspicion = 1 - probabilities[np.arange(len(y)), y]
    for shift in ("day", "night"):
        rows = (batches["shift"] == shift).to_numpy()
        print(f"{shift} shift: {(suspicion[rows] > 0.8).mean():.1%} of grades look wrong "
              f"(probability of the recorded grade below 0.2)")

    OUTPUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"batch_id": batches["batch_id"], "suspicion": suspicion}) \
        .to_csv(OUTPUT / "predictions.csv", index=False)
    print(f"wrote {len(batches)} scores")


if __name__ == "__main__":
    main()
