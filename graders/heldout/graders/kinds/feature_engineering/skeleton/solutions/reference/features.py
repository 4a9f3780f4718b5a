import pandas as pd


def transform(deliveries: pd.DataFrame) -> pd.DataFrame:
    weekend = deliveries["weekday"].isin(["sat", "sun"]).astype(int)
    return pd.DataFrame({"weekend": weekend}, index=deliveries.index)
