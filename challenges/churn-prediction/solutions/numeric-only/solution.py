"""A flawed solution for "Predict customer churn": a logistic regression on the numeric
columns only. The categorical columns (the contract type among them, the strongest single
signal) are dropped because the model "needs numbers", so it ranks customers worse than
the reference does.
"""

import os
from pathlib import Path

import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))


def main() -> None:
    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    numeric = [c for c in train.columns
               if c not in ("customer_id", "churn") and pd.api.types.is_numeric_dtype(train[c])]
    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                          LogisticRegression(max_iter=2000))
    model.fit(train[numeric], train["churn"])
    probability = model.predict_proba(test[numeric])[:, 1]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": probability}) \
        .to_csv(OUTPUT / "predictions.csv", index=False)
    print(f"wrote {len(test)} predictions")


if __name__ == "__main__":
    main()
