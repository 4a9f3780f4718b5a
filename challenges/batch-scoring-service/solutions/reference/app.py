"""Reference portfolio service: the build step's model, loaded once per worker, scoring a
whole portfolio in one vectorised call behind a strict request check. Every error is JSON
with a 4xx status; bodies over 1 MiB get 413 before they are read."""

import json
import os
import pickle
from pathlib import Path

import pandas as pd

from loans import NUMBERS, TEXTS, problems

MODEL = pickle.loads((Path(os.environ.get("HELDOUT_MODEL", "model")) / "model.pkl").read_bytes())
MAX_BODY = 1024 * 1024
MESSAGES = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found",
            405: "405 Method Not Allowed", 413: "413 Content Too Large"}


def reply(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(MESSAGES[status], [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
    return [body]


def score(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, {"error": "Content-Length is not a number"}
    if length > MAX_BODY:
        return 413, {"error": f"the body is over {MAX_BODY} bytes"}
    if length == 0:
        return 400, {"error": "empty body: send a JSON object"}
    try:
        payload = json.loads(environ["wsgi.input"].read(length))
    except (ValueError, UnicodeDecodeError):
        return 400, {"error": "the body is not JSON"}
    found = problems(payload)
    if found:
        return 400, {"error": "invalid portfolio", "details": found}
    frame = pd.DataFrame(payload["loans"], columns=NUMBERS + TEXTS)
    probabilities = MODEL.predict_proba(frame)[:, 1]
    return 200, {"expected_defaults": round(float(probabilities.sum()), 6),
                 "loans": len(probabilities)}


def app(environ, start_response):
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if path == "/health":
        return reply(start_response, 200, {"status": "ok"})
    if path != "/score":
        return reply(start_response, 404, {"error": f"no route {path}"})
    if method != "POST":
        return reply(start_response, 405, {"error": "use POST"})
    status, payload = score(environ)
    return reply(start_response, status, payload)
