"""Live status by server-sent events: the stream sends the state when it changes, keeps the
line alive, ends when all is final or its lifetime is up, and only for the attempt's browser;
polling gets the same state. One test reads the stream from a real `heldout serve`."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import EvaluationRecord, Submission, utcnow
from heldout.platform.processes import stop_processes
from heldout.platform.services import accounts, assessments, catalogue, invites
from heldout.platform.views.api import streams
from tests.platform.conftest import NewInvite

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"


def events(chunks: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs, and ("comment", text) for keep-alive lines, as they arrive."""
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            name, data = "message", ""
            for line in block.splitlines():
                if line.startswith(":"):
                    name, data = "comment", line[1:].strip()
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line.startswith("retry:"):
                    name, data = "retry", line[6:].strip()
            yield name, data


def submit(client: FlaskClient, attempt: str) -> int:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('hi')\n"})
    assert response.status_code == 302
    state = client.get(f"/a/{attempt}/c/{SLUG}/state", headers={"Accept": "application/json"}).json
    assert state is not None
    return int(state["submissions"][0]["id"])


def grade(app: Flask, submission_id: int, score: float) -> None:
    with app.app_context():
        submission = db.session.get(Submission, submission_id)
        assert submission is not None
        submission.status = "graded"
        submission.finished_at = utcnow()
        db.session.add(EvaluationRecord(submission=submission, status="graded",
                                        challenge_version=submission.challenge_version,
                                        score=score, checks=[], metrics={}, run=None))
        db.session.commit()


def test_status_events_arrive_as_grading_moves(app: Flask, client: FlaskClient,
                                               attempt: str) -> None:
    submission_id = submit(client, attempt)
    response = client.get(f"/a/{attempt}/c/{SLUG}/events", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    stream = events(response.response)  # type: ignore[arg-type]
    assert next(stream) == ("retry", "3000")
    name, data = next(stream)
    assert name == "status"
    first = json.loads(data)
    assert [s["status"] for s in first["submissions"]] == ["queued"]
    assert first["final"] is False

    grade(app, submission_id, 81.5)  # the worker's result lands while the page listens
    name, data = next(stream)
    assert name == "status"
    state = json.loads(data)
    assert state["submissions"][0]["status"] == "graded"
    assert state["submissions"][0]["score"] == 81.5  # this assessment shows scores
    assert state["submissions"][0]["counts"] is True
    assert next(stream) == ("final", "{}")
    with pytest.raises(StopIteration):
        next(stream)
    response.close()


def test_keep_alives_and_a_bounded_lifetime(app: Flask, client: FlaskClient, attempt: str,
                                            monkeypatch: Any) -> None:
    submit(client, attempt)
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 0.5)
    monkeypatch.setattr(streams, "STREAM_POLL_SECONDS", 0.2)
    monkeypatch.setattr(streams, "STREAM_SECONDS", 1.5)
    response = client.get(f"/a/{attempt}/c/{SLUG}/events", buffered=False)
    started = time.monotonic()
    seen = [name for name, _ in events(response.response)]  # type: ignore[arg-type]
    assert time.monotonic() - started < 5
    assert seen[:2] == ["retry", "status"]
    assert "comment" in seen  # nothing changed, but the line was kept alive
    assert seen[-1] == "timeout"  # and then it ends; the browser reconnects
    response.close()


def test_only_the_attempts_browser_gets_the_stream(
        app: Flask, client: FlaskClient, attempt: str, make_invite: Callable[..., NewInvite],
        start: Callable[[FlaskClient, NewInvite], str]) -> None:
    other = app.test_client()
    start(other, make_invite("Oli Other", "oli@example.org"))
    assert other.get(f"/a/{attempt}/c/{SLUG}/events").status_code == 404
    assert other.get(f"/a/{attempt}/c/{SLUG}/state").status_code == 404
    assert app.test_client().get(f"/a/{attempt}/c/{SLUG}/events").status_code == 404


def test_polling_gets_the_same_state(app: Flask, client: FlaskClient, attempt: str) -> None:
    submission_id = submit(client, attempt)
    grade(app, submission_id, 40.0)
    state = client.get(f"/a/{attempt}/c/{SLUG}/state", headers={"Accept": "application/json"}).json
    assert state is not None and state["final"] is True
    assert [(s["id"], s["status"]) for s in state["submissions"]] == [(submission_id, "graded")]
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert 'data-events-url="/a/' in page and 'data-state-url="/a/' in page


# --- a real `heldout serve` (gunicorn, threaded) ---------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, challenges_dir: Path) -> Iterator[tuple[Flask, int]]:
    settings = {"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "sse-secret-" + "x" * 32,
                "HELDOUT_DATA_DIR": str(tmp_path / "var"),
                "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
                "HELDOUT_BASE_URL": "http://127.0.0.1", "HELDOUT_SECURE_COOKIES": "0"}
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")  # every branch, while one is being re-chained
        catalogue.load_challenges(challenges_dir)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "heldout.platform", "serve", "--host",
                               "127.0.0.1", "--port", str(port)],
                              env={**os.environ, **settings}, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        limit = time.monotonic() + 30
        while time.monotonic() < limit:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield app, port
    finally:
        stop_processes([(server, signal.SIGTERM)])
        with app.app_context():
            db.engine.dispose()


def test_a_served_stream_pushes_the_graded_status(served: tuple[Flask, int]) -> None:
    app, port = served
    with app.app_context():
        user = accounts.create_user("r@example.com", "R", "recruiter", "y" * 12)
        assessment = assessments.create_assessment(
            name="Live", challenge_slugs=[SLUG], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        made = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Sam", candidate_email="sam@example.org",
            created_by_id=user.id, secret=app.config["SECRET_KEY"], ttl_days=1, now=utcnow())

    jar: dict[str, str] = {}

    def request(conn: http.client.HTTPConnection, method: str, path: str, body: str = "",
                headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """One request with the browser's session cookie, kept up to date like a browser."""
        cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
        conn.request(method, path, body=body or None, headers={"Cookie": cookie, **(headers or {})})
        answer = conn.getresponse()
        for header, value in answer.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                jar[name] = rest.split(";", 1)[0]
        return answer

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    request(conn, "GET", f"/i/{made.token}").read()
    page = request(conn, "GET", "/invite").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    started = request(conn, "POST", "/invite", f"consent=on&csrf_token={token.group(1)}", form)
    started.read()
    assert started.status == 302, started.status
    attempt = (started.getheader("Location") or "").split("/")[2]
    workspace = request(conn, "GET", f"/a/{attempt}/c/{SLUG}").read().decode()
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', workspace)
    assert form_token
    sent = request(conn, "POST", f"/a/{attempt}/c/{SLUG}/submit",
                   f"csrf_token={form_token.group(1)}&code=print(1)", form)
    sent.read()
    assert sent.status == 302

    stream_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    stream = request(stream_conn, "GET", f"/a/{attempt}/c/{SLUG}/events")
    assert stream.status == 200 and stream.getheader("Content-Type", "").startswith(
        "text/event-stream")

    def chunks() -> Iterator[bytes]:
        while True:
            line = stream.readline()
            if not line:
                return
            yield line

    received = events(chunks())
    assert next(received)[0] == "retry"
    name, data = next(received)
    assert name == "status" and json.loads(data)["submissions"][0]["status"] == "queued"
    # Meanwhile the server answers other requests: the stream holds one thread, not all.
    other = request(conn, "GET", f"/a/{attempt}/c/{SLUG}/state",
                    headers={"Accept": "application/json"})
    assert other.status == 200 and json.loads(other.read())["final"] is False
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
    grade(app, submission_id, 90.0)
    name, data = next(received)
    assert name == "status" and json.loads(data)["submissions"][0]["status"] == "graded"
    assert next(received)[0] == "final"
    stream_conn.close()
    conn.close()
