import json


def answer(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/health":
        return answer(start_response, "200 OK", {"status": "ok"})
    size = int(environ.get("CONTENT_LENGTH") or 0)
    weight = json.loads(environ["wsgi.input"].read(size))["weight_kg"]
    return answer(start_response, "200 OK", {"large_probability": 0.95 if weight > 8 else 0.05})
