import json


def answer(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/health":
        return answer(start_response, "200 OK", {"status": "ok"})
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        payload = json.loads(environ["wsgi.input"].read(min(size, 65536)))
        weight = payload["weight_kg"]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise TypeError("weight_kg must be a number")
    except (ValueError, KeyError, TypeError) as exc:
        return answer(start_response, "400 Bad Request", {"error": f"bad payload: {exc}"})
    return answer(start_response, "200 OK", {"large_probability": 0.95 if weight > 8 else 0.05})
