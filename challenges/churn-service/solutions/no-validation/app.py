"""A churn service that trusts its input: the model is right, but a missing field, a
wrong type or a body that isn't JSON raises inside the handler and comes back as a 500."""

import json
import os
import pickle
from pathlib import Path

import numpy as np

from features import encode

MODEL_DIR = Path(os.environ.get("HELDOUT_MODEL", "model"))
MODEL = pickle.loads((MODEL_DIR / "model.pkl").read_bytes())
CATEGORIES = json.loads((MODEL_DIR / "categories.json").read_text())


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/health":
        body = b'{"status": "ok"}'
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        record = json.loads(environ["wsgi.input"].read(length))
        # Index every field: a missing one raises KeyError, text in a number ValueError.
        row = np.array([encode({name: record[name] for name in record} | {
            "tenure_months": float(record["tenure_months"]),
            "monthly_charges": float(record["monthly_charges"]),
            "contract": str(record["contract"]),
        }, CATEGORIES)])
        body = json.dumps({"churn_probability": float(MODEL.predict_proba(row)[0, 1])}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
