"""Flawed on purpose: a "smoothed demand" feature that looks into the future.

A centred 7-day rolling mean of units, computed over the whole series, includes the day
itself and the three days after it: on the history it nearly gives the answer away, and
a random hold-out of a fifth of the days looks as good as the reference's honest check.
For the forecast weeks there are no units to smooth, so the last value is carried forward
and the model, which leaned on it, forecasts a flat line through promotions and weekends.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))
SERIES = ["shop_id", "product_id"]


def features(frame: pd.DataFrame) -> pd.DataFrame:
    when = pd.to_datetime(frame["date"])
    return pd.DataFrame({
        "smoothed_units": frame["smoothed_units"],
        "weekday": when.dt.day_of_week,
        "day_of_year": when.dt.day_of_year,
        "promo": frame["promo"],
        "price": frame["price"],
        "holiday": frame["holiday"],
        "series": frame["shop_id"].str[1:].astype(int) * 10
        + frame["product_id"].str[1:].astype(int),
    }, index=frame.index)


def main() -> None:
    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    both = pd.concat([train, test], ignore_index=True).sort_values([*SERIES, "date"])
    smoothed = both.groupby(SERIES)["units"].transform(
        lambda units: units.rolling(7, center=True, min_periods=1).mean())
    both["smoothed_units"] = smoothed.groupby([both[c] for c in SERIES]).ffill()

    known = both["units"].notna()
    x, y = features(both[known]), both.loc[known, "units"]
    model = HistGradientBoostingRegressor(random_state=0)
    x_fit, x_check, y_fit, y_check = train_test_split(x, y, test_size=0.2, random_state=0)
    check = model.fit(x_fit, y_fit).predict(x_check)
    print(f"WAPE on a random fifth of the days: {np.abs(y_check - check).sum() / y_check.sum():.3f}")

    model.fit(x, y)
    future = both[~known]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": future["id"], "units": np.clip(model.predict(features(future)), 0, None)}) \
        .to_csv(OUTPUT / "predictions.csv", index=False)
    print(f"wrote {len(future)} forecasts")


if __name__ == "__main__":
    main()
