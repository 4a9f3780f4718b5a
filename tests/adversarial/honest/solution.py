"""An honest churn model: the control run of the concurrency tests.

Deterministic (lbfgs on fixed data, one thread), so its score alone and its score next
to a hostile neighbour must be identical.
"""

import os
from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))
CATEGORICAL = ["region", "contract", "internet_service", "tech_support", "streaming_tv",
               "paperless_billing", "payment_method"]
NUMERIC = ["age", "tenure_months", "monthly_charges", "total_charges", "avg_monthly_gb",
           "support_calls_90d", "late_payments_12m"]

train = pd.read_csv(DATA / "train.csv")
test = pd.read_csv(DATA / "test.csv")
features = ColumnTransformer([
    ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
    ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
])
model = make_pipeline(features, LogisticRegression(C=1.0, max_iter=2000))
model.fit(train[NUMERIC + CATEGORICAL], train["churn"])
probability = model.predict_proba(test[NUMERIC + CATEGORICAL])[:, 1]
pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": probability}).to_csv(
    OUTPUT / "predictions.csv", index=False)
print(f"wrote {len(test)} predictions")
