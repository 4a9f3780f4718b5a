"""Reference churn service: the build step's model, loaded once per worker, behind a
strict request check. Every error is JSON with a 4xx status; bodies over 64 KiB get 413
before they are read."""

import json
import os
import pickle
from pathlib import Path

import numpy as np

from features import encode, problems

MODEL_DIR = Path(os.environ.get("HELDOUT_MODEL", "model"))
MAX_BODY = 64 * 1024
MODEL = pickle.loads((MODEL_DIR / "model.pkl").read_bytes())
CATEGORIES = json.loads((MODEL_DIR / "categories.json").read_text())
MESSAGES = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found",
            405: "405 Method Not Allowed", 411: "411 Length Required",
            413: "413 Content Too Large", 415: "415 Unsupported Media Type"}


def reply(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(MESSAGES[status], [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
    return [body]


def predict(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, {"error": "Content-Length is not a number"}
    if length > MAX_BODY:
        return 413, {"error": f"the body is over {MAX_BODY} bytes"}
    if length == 0:
        return 400, {"error": "empty body: send a JSON object"}
    try:
        record = json.loads(environ["wsgi.input"].read(length))
    except (ValueError, UnicodeDecodeError):
        return 400, {"error": "the body is not JSON"}
    found = problems(record)
    if found:
        return 400, {"error": "invalid request", "details": found}
    row = np.array([encode(record, CATEGORIES)])
    probability = float(MODEL.predict_proba(row)[0, 1])
    return 200, {"churn_probability": round(probability, 6)}


def app(environ, start_response):
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if path == "/health":
        return reply(start_response, 200, {"status": "ok"})
    if path != "/predict":
        return reply(start_response, 404, {"error": f"no route {path}"})
    if method != "POST":
        return reply(start_response, 405, {"error": "use POST"})
    status, payload = predict(environ)
    return reply(start_response, status, payload)
