import pandas as pd
import numpy as np


def transform(orders):
    placed = pd.to_datetime(orders.ordered_at)
    due = pd.to_datetime(orders.promised_by)
    frame = pd.DataFrame(index=orders.index)
    frame["days_to_promise"] = (due - placed).dt.total_seconds() / 86400.0
    frame["order_hour"] = placed.dt.hour
    frame["order_dow"] = placed.dt.dayofweek
    frame["order_month"] = placed.dt.month
    frame["is_weekend"] = placed.dt.dayofweek.isin([5, 6]).astype(float)
    frame["km"] = orders.distance_km.fillna(-1)
    frame["kg"] = orders.weight_kg.fillna(-1)
    frame["km_unknown"] = orders.distance_km.isnull().astype(float)
    frame["item_count"] = orders["items"].astype(float)
    frame["wrapped"] = (orders.gift_wrap == "yes").astype(float)
    mode_rank = {"same_day": 0, "express": 1, "standard": 2}
    frame["mode_rank"] = orders.ship_mode.map(mode_rank).fillna(2)
    tier_rank = {"gold": 3, "silver": 2, "bronze": 1}
    frame["tier_rank"] = orders.customer_tier.map(tier_rank).fillna(0)
    dummies = pd.get_dummies(orders[["carrier", "warehouse"]].fillna("none"), dtype=float)
    frame = frame.join(dummies)
    frame["km_per_day"] = np.where(frame.days_to_promise > 0,
                                   frame.km.clip(lower=0) / frame.days_to_promise.clip(lower=0.5),
                                   0.0)
    return frame
