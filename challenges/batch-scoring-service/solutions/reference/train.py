"""Build step of the reference: a calibrated logistic regression, saved to /output/model/.

Portfolio sums need probabilities that are right on average, not just a good ranking, so
no class re-weighting: the check below compares predicted and observed default counts.
"""

import os
import pickle
from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from loans import TEXTS, features

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output")) / "model"


def pipeline():
    encode = ColumnTransformer([("texts", OneHotEncoder(handle_unknown="ignore"), TEXTS)],
                               remainder=StandardScaler())
    return make_pipeline(FunctionTransformer(features), encode,
                         LogisticRegression(C=1.0, max_iter=2000))


def main() -> None:
    loans = pd.read_csv(DATA / "train.csv")
    x, y = loans.drop(columns=["loan_id", "defaulted"]), loans["defaulted"]
    x_fit, x_check, y_fit, y_check = train_test_split(x, y, test_size=0.25, random_state=0,
                                                      stratify=y)
    probability = pipeline().fit(x_fit, y_fit).predict_proba(x_check)[:, 1]
    print(f"held-out AUC {roc_auc_score(y_check, probability):.3f}; defaults predicted "
          f"{probability.sum():.1f}, observed {int(y_check.sum())}")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "model.pkl").write_bytes(pickle.dumps(pipeline().fit(x, y)))


if __name__ == "__main__":
    main()
