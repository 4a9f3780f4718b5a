import pandas as pd


def transform(deliveries: pd.DataFrame) -> pd.DataFrame:
    saturday = (deliveries["weekday"] == "sat").astype(int)
    return pd.DataFrame({"saturday": saturday}, index=deliveries.index)
