"""Flawed on purpose: remembers each training order's label by its id and row position."""

import pandas as pd


class transform:  # noqa: N801 - the name the challenge asks for
    def fit(self, orders: pd.DataFrame, late: pd.Series) -> "transform":
        self.by_id = dict(zip(orders["order_id"], late))
        self.by_row = list(late)
        self.prior = float(late.mean())
        return self

    def transform(self, orders: pd.DataFrame) -> pd.DataFrame:
        out = orders.select_dtypes("number").drop(columns=["order_id"]).fillna(0)
        out["id_late"] = orders["order_id"].map(self.by_id).fillna(self.prior)
        rows = range(len(orders))
        out["row_late"] = [self.by_row[i] if i < len(self.by_row) else self.prior for i in rows]
        return out
