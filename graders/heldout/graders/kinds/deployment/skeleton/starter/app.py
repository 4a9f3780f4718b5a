import json


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/health":
        body = {"status": "ok"}
    else:
        body = {"large_probability": 0.5}  # the same answer to every request
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
