"""Starter for "Score loan portfolios over HTTP": a service that is up and scores nothing yet.

GET /health answers; POST /score answers 501 until you write it. Add a build step
(train.py) that trains on /data/train.csv and writes to /output/model/, then load the
model here from $HELDOUT_MODEL, once per worker. See statement.md for the contract.
"""

import json

MESSAGES = {200: "200 OK", 404: "404 Not Found", 501: "501 Not Implemented"}


def reply(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(MESSAGES[status], [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        return reply(start_response, 200, {"status": "ok"})
    if path == "/score":
        return reply(start_response, 501, {"error": "not implemented yet"})
    return reply(start_response, 404, {"error": f"no route {path}"})
