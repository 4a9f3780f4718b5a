"""Turn raw orders into numeric features for the late-delivery model.

`transform` receives a pandas DataFrame of orders (the columns of /data/train.csv without
`late`) and must return a DataFrame of numbers, one row per input row, in the same order.
You may instead define a class `transform` with `fit(X, y)` and `transform(X)`.
"""

import pandas as pd


def transform(orders: pd.DataFrame) -> pd.DataFrame:
    numeric = orders.select_dtypes("number").drop(columns=["order_id"])
    return numeric.fillna(0)
