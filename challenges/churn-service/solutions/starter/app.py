"""A minimal churn service: a WSGI app that answers the same probability to every request.

heldout serves `app` with gunicorn (never a development server) and sends:

    GET  /health   -> 200 once the service is ready
    POST /predict  -> {"churn_probability": <float between 0 and 1>}

Train your model in train.py (the build step: it sees the public data at /data and
writes its artefacts to /output/model/); the service then finds them, read-only, in the
directory named by $HELDOUT_MODEL. See the statement for the request format and the
errors expected for invalid payloads.
"""

import json


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        body = b'{"status": "ok"}'
    else:
        body = json.dumps({"churn_probability": 0.25}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
