"""The deployment probe: trusted code run beside the candidate's service, standard library only.

It shares the service's network namespace (loopback only) and nothing else of it. It
reads ``/harness/job.json`` (request inputs, never the expected answers), waits for the
service's health URL within the start-up limit, sends each request in turn, then a burst
of concurrent ones, then asks for health once more (or, for the run console, sends the
one request the candidate typed instead), and writes what it saw to
``/output/probe.json``: status, content type, a capped body and the latency of each
response. The grading host scores that report; nothing here judges an answer.

Requests go over a plain socket so that a service refusing a huge body before reading it
is heard: the body is sent in chunks, and sending stops as soon as a response arrives.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

JOB = Path(os.environ.get("HELDOUT_PROBE_JOB", "/harness/job.json"))
REPORT = Path(os.environ.get("HELDOUT_OUTPUT", "/output")) / "probe.json"
HOST = "127.0.0.1"
CHUNK = 64 * 1024
HEALTH_ATTEMPT_SECONDS = 2.0
HEALTH_PAUSE_SECONDS = 0.1


def _huge(size: int) -> bytes:
    """A JSON object of about ``size`` bytes."""
    return b'{"padding": "' + b"a" * max(0, size - 15) + b'"}'


def exchange(port: int, method: str, path: str, body: bytes | None, *, timeout: float,
             cap: int) -> dict[str, Any]:
    """One request on a fresh connection; what came back, as data (never raises)."""
    started = time.monotonic()
    seen: dict[str, Any] = {"status": None, "content_type": "", "body": "", "error": ""}
    try:
        sock = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as exc:
        seen["error"] = f"connect: {type(exc).__name__}"
        seen["latency_ms"] = round((time.monotonic() - started) * 1000, 2)
        return seen
    # The deadline holds for the whole exchange, however slowly the service drips bytes.
    fired = threading.Event()
    watchdog = threading.Timer(timeout, _shut, args=(sock, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close",
                "Accept: application/json"]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
        sent = 0
        payload = body or b""
        while sent < len(payload):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # the service answered before reading it all: hear the answer
            try:
                sent += sock.send(payload[sent:sent + CHUNK])
            except OSError:
                break
        response = http.client.HTTPResponse(sock)
        response.begin()
        seen["status"] = response.status
        seen["content_type"] = (response.getheader("Content-Type") or "")[:200]
        raw = response.read(cap + 1)
        seen["body"] = raw[:cap].decode("utf-8", errors="replace")
        seen["truncated"] = len(raw) > cap
    except TimeoutError:
        # The socket's own timeout equals the deadline and may beat the watchdog to it.
        fired.set()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        seen["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        watchdog.cancel()
        sock.close()
    if fired.is_set():
        # Cut off at the deadline: whatever arrived is not an answer.
        seen.update(status=None, body="", error=f"no complete response within {timeout:.3g} s")
    seen["latency_ms"] = round((time.monotonic() - started) * 1000, 2)
    return seen


def _shut(sock: socket.socket, fired: threading.Event) -> None:
    fired.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def wait_healthy(port: int, path: str, seconds: float, cap: int) -> tuple[float | None, str]:
    """Seconds until ``path`` answered 200, or None and the last thing seen."""
    started = time.monotonic()
    last = "no answer"
    while True:
        left = seconds - (time.monotonic() - started)
        if left <= 0:
            return None, last
        attempt = min(HEALTH_ATTEMPT_SECONDS, left)
        seen = exchange(port, "GET", path, None, timeout=attempt, cap=cap)
        if seen["status"] == 200:
            return round(time.monotonic() - started, 3), ""
        # An attempt the start-up deadline cut short, with no answer, says less than what an
        # earlier full attempt saw (a 503, say): keep that one as the last thing seen.
        cut_short = attempt < HEALTH_ATTEMPT_SECONDS and seen["status"] is None
        if not cut_short or last == "no answer":
            last = seen["error"] or f"status {seen['status']}"
        time.sleep(HEALTH_PAUSE_SECONDS)


def _payload(request: dict[str, Any]) -> bytes | None:
    if "huge_bytes" in request:
        return _huge(int(request["huge_bytes"]))
    raw = request.get("raw")
    return None if raw is None else str(raw).encode("utf-8")


def _write(report: dict[str, Any]) -> None:
    # Rewritten after each phase, so a probe stopped at its limit still leaves what it saw.
    partial = REPORT.with_suffix(".partial")
    partial.write_text(json.dumps(report), encoding="utf-8")
    partial.replace(REPORT)


def burst(port: int, path: str, bodies: list[bytes | None], *, timeout: float,
          cap: int) -> list[dict[str, Any]]:
    """All of ``bodies`` at once, one thread each, released together."""
    results: list[dict[str, Any]] = [{} for _ in bodies]
    gate = threading.Barrier(len(bodies))

    def one(index: int) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait(timeout)
        results[index] = exchange(port, "POST", path, bodies[index], timeout=timeout, cap=cap)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout * 2 + 5)
    return results


def main() -> int:
    job = json.loads(JOB.read_text(encoding="utf-8"))
    port, cap, timeout = int(job["port"]), int(job["body_cap"]), float(job["request_timeout"])
    budget = float(job["budget_seconds"])
    report: dict[str, Any] = {"healthy": False, "startup_seconds": None, "health_error": "",
                              "responses": [], "burst": [], "alive_after": False}
    ready, why = wait_healthy(port, job["health_path"], float(job["startup_seconds"]), cap)
    report["startup_seconds"], report["health_error"] = ready, why
    report["healthy"] = ready is not None
    _write(report)
    if ready is None:
        return 0
    console = job.get("console")
    if isinstance(console, dict):
        # The run console's one request, as the candidate typed it; nothing else is sent.
        body = console.get("body")
        report["console"] = exchange(port, str(console["method"]), str(console["path"]),
                                     None if body is None else str(body).encode("utf-8"),
                                     timeout=timeout, cap=cap)
        _write(report)
        return 0
    started = time.monotonic()  # the budget is for requests; start-up has its own limit
    for request in job["requests"]:
        if time.monotonic() - started > budget:
            report["responses"].append({"label": request["label"], "status": None,
                                        "error": "not sent: the probe's time budget ran out",
                                        "latency_ms": None, "content_type": "", "body": ""})
            continue
        seen = exchange(port, "POST", job["predict_path"], _payload(request), timeout=timeout,
                        cap=cap)
        report["responses"].append({"label": request["label"], **seen})
    _write(report)
    bodies = [_payload(r) for r in job["requests"] if r["kind"] == "predict"]
    if bodies and int(job["burst"]) > 0 and time.monotonic() - started <= budget:
        chosen = [bodies[i % len(bodies)] for i in range(int(job["burst"]))]
        began = time.monotonic()
        report["burst"] = burst(port, job["predict_path"], chosen, timeout=timeout, cap=cap)
        report["burst_seconds"] = round(time.monotonic() - began, 3)
        _write(report)
    final = exchange(port, "GET", job["health_path"], None, timeout=timeout, cap=cap)
    report["alive_after"] = final["status"] == 200
    _write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
