"""Build step of the reference: train on /data/train.csv, write /output/model/.

The model works on a plain numeric vector (one-hot categories, log-scaled amounts,
missing indicators) so the service can encode one request without pandas.
"""

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from features import CATEGORICAL, encode

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output")) / "model"


def main() -> None:
    frame = pd.read_csv(DATA / "train.csv")
    records = frame.drop(columns=["customer_id", "churn"]).replace({np.nan: None}).to_dict("records")
    categories = {name: sorted(frame[name].dropna().unique().tolist()) for name in CATEGORICAL}
    x = np.array([encode(r, categories) for r in records])
    y = frame["churn"].to_numpy()
    model = HistGradientBoostingClassifier(learning_rate=0.04, max_iter=300, max_leaf_nodes=15,
                                           l2_regularization=1.0, random_state=0)
    x_fit, x_check, y_fit, y_check = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    model.fit(x_fit, y_fit)
    print(f"held-out AUC {roc_auc_score(y_check, model.predict_proba(x_check)[:, 1]):.3f}")
    model.fit(x, y)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "model.pkl").write_bytes(pickle.dumps(model))
    (OUTPUT / "categories.json").write_text(json.dumps(categories))


if __name__ == "__main__":
    main()
