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
from dataclasses import dataclass
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
from heldout.platform.server import gunicorn_options
from heldout.platform.services import accounts, assessments, catalogue, invites
from heldout.platform.services.scoring import GradingStatus
from heldout.platform.views.api import streams
from tests.platform.conftest import NewInvite, start_attempt

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
        submission.status = GradingStatus.GRADED
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


@dataclass
class Served:
    app: Flask
    port: int
    server: subprocess.Popen[bytes]


@pytest.fixture
def serving(tmp_path: Path, challenges_dir: Path) -> Iterator[Served]:
    """`heldout serve` (gunicorn) on a migrated database with the bundles loaded."""
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
        yield Served(app, port, server)
    finally:
        stop_processes([(server, signal.SIGTERM)])
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def served(serving: Served) -> tuple[Flask, int]:
    return serving.app, serving.port


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


# --- many open streams against a real `heldout serve` -----------------------------------------

FLOOD_STREAMS = 200
FLOOD_ATTEMPTS = 50     # four streams each: tabs of one candidate, and many candidates
GRACEFUL_TIMEOUT_S = gunicorn_options(host="127.0.0.1", port=0, threads=1)["graceful_timeout"]
ANSWER_WITHIN = 10.0    # seconds: generous; an unanswered server makes the socket time out


def waiting_attempts(settings: dict[str, str], count: int) -> list[tuple[str, str]]:
    """``count`` started attempts, each with a submission waiting for a grade (no worker
    runs, so their streams stay open): (public id, the browser's Cookie header) each."""
    seeder = create_app({**settings, "WTF_CSRF_ENABLED": False})
    cookie_name = seeder.config["SESSION_COOKIE_NAME"]
    with seeder.app_context():
        user = accounts.create_user("flood@example.com", "R", "recruiter", "y" * 12)
        assessment = assessments.create_assessment(
            name="Deadline", challenge_slugs=[SLUG], time_limit_minutes=30, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        made = []
        for n in range(count):
            new = invites.create_invite(
                assessment_id=assessment.id, candidate_name=f"C{n}",
                candidate_email=f"c{n}@example.org", created_by_id=user.id,
                secret=seeder.config["SECRET_KEY"], ttl_days=1, now=utcnow())
            made.append(NewInvite(new.invite.id, new.token))
    browsers = []
    for new_invite in made:
        browser = seeder.test_client()
        attempt = start_attempt(browser, new_invite)
        submit(browser, attempt)
        session_cookie = browser.get_cookie(cookie_name)
        assert session_cookie is not None
        browsers.append((attempt, f"{cookie_name}={session_cookie.value}"))
    with seeder.app_context():
        db.engine.dispose()
    return browsers


def served_settings(app: Flask) -> dict[str, str]:
    return {key: str(app.config[key]) for key in
            ("HELDOUT_ENV", "HELDOUT_DATA_DIR", "HELDOUT_CHALLENGES_DIR", "HELDOUT_BASE_URL")} | {
        "HELDOUT_SECRET_KEY": str(app.config["SECRET_KEY"]), "HELDOUT_SECURE_COOKIES": "0"}


def status_line(stream: socket.socket) -> tuple[int, str]:
    """The status and content type a raw HTTP response starts with."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = stream.recv(4096)
        if not chunk:
            break
        head += chunk
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers.get("Content-Type", "")


@pytest.mark.slow
def test_two_hundred_open_streams_leave_the_site_answering(served: tuple[Flask, int]) -> None:
    """200 event streams held open (50 candidates waiting for grades, four tabs each) must
    not take the server: /healthz and a page still answer, and the streams beyond the caps
    are refused at once, as problem documents, so their pages poll instead."""
    app, port = served
    browsers = waiting_attempts(served_settings(app), FLOOD_ATTEMPTS)
    held: list[socket.socket] = []
    try:
        for n in range(FLOOD_STREAMS):
            attempt, cookie = browsers[n % FLOOD_ATTEMPTS]
            stream = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
            stream.sendall(f"GET /a/{attempt}/c/{SLUG}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n".encode())
            held.append(stream)

        for path in ("/healthz", "/login"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_WITHIN)
            conn.request("GET", path)
            assert conn.getresponse().status == 200, path  # a timeout here: the site is down
            conn.close()

        answers = [status_line(stream) for stream in held]
        opened = [kind for status, kind in answers if status == 200]
        refused = [(status, kind) for status, kind in answers if status != 200]
        assert all(kind.startswith("text/event-stream") for kind in opened)
        assert 0 < len(opened) <= streams.MAX_OPEN_STREAMS
        assert {status for status, _ in refused} <= {429, 503}
        assert all(kind.startswith("application/problem+json") for _, kind in refused)
    finally:
        for stream in held:
            stream.close()


def test_a_stopping_server_ends_its_streams_at_once(serving: Served) -> None:
    """SIGTERM (a stop, a deploy): gunicorn waits for the requests in flight up to its
    graceful timeout (20 s), and a stream lasts two minutes. The streams end at once with
    their ``timeout`` event (the page reconnects to the next server), and the server is
    gone in seconds, not after the timeout."""
    [(attempt, cookie)] = waiting_attempts(served_settings(serving.app), 1)
    stream = socket.create_connection(("127.0.0.1", serving.port), timeout=ANSWER_WITHIN)
    stream.sendall(f"GET /a/{attempt}/c/{SLUG}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n".encode())
    assert status_line(stream)[0] == 200
    stopped = time.monotonic()
    serving.server.send_signal(signal.SIGTERM)
    received = b""
    while b"event: timeout" not in received:
        chunk = stream.recv(4096)
        assert chunk, f"the stream closed without its timeout event: {received!r}"
        received += chunk
    serving.server.wait(timeout=15)
    took = time.monotonic() - stopped
    stream.close()
    assert took < GRACEFUL_TIMEOUT_S / 2, f"the server took {took:.1f} s to stop"


# --- the caps: per attempt and per server -----------------------------------------------------

def test_an_attempt_holds_at_most_its_share_of_streams(app: Flask, client: FlaskClient,
                                                       attempt: str) -> None:
    submit(client, attempt)
    url = f"/a/{attempt}/c/{SLUG}/events"
    held = [client.get(url, buffered=False) for _ in range(streams.MAX_STREAMS_PER_ATTEMPT)]
    assert [r.status_code for r in held] == [200] * streams.MAX_STREAMS_PER_ATTEMPT
    refused = client.get(url, buffered=False)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.json is not None and refused.json["type"] == "/api/problems/too-many-streams"
    assert int(refused.headers["Retry-After"]) >= 1
    held.pop().close()  # a tab closed: its slot is free again
    again = client.get(url, buffered=False)
    assert again.status_code == 200
    # One thread holds them all here: close them in the reverse order of opening, as each
    # keeps its request context until closed (a server gives each stream its own thread).
    for response in reversed((*held, again)):
        response.close()
    with app.app_context():
        assert streams.slots().open_count() == 0


def test_a_full_server_refuses_streams_and_the_page_can_poll(
        app: Flask, client: FlaskClient, attempt: str, make_invite: Callable[..., NewInvite],
        start: Callable[[FlaskClient, NewInvite], str], monkeypatch: Any) -> None:
    with app.app_context():
        monkeypatch.setattr(streams.slots(), "total", 1)
    submit(client, attempt)
    first = client.get(f"/a/{attempt}/c/{SLUG}/events", buffered=False)
    assert first.status_code == 200
    other = app.test_client()
    other_attempt = start(other, make_invite("Oli Other", "oli@example.org"))
    submit(other, other_attempt)
    refused = other.get(f"/a/{other_attempt}/c/{SLUG}/events", buffered=False)
    assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
    assert refused.json is not None and refused.json["type"] == "/api/problems/server-busy"
    assert int(refused.headers["Retry-After"]) >= 1
    # What the page falls back to holds no stream: the same state, polled.
    polled = other.get(f"/a/{other_attempt}/c/{SLUG}/state")
    assert polled.status_code == 200 and polled.json is not None
    assert polled.json["submissions"][0]["status"] == "queued"
    first.close()
    freed = other.get(f"/a/{other_attempt}/c/{SLUG}/events", buffered=False)
    assert freed.status_code == 200
    freed.close()


def test_a_stream_that_ends_gives_its_slot_back(app: Flask, client: FlaskClient,
                                                attempt: str) -> None:
    submission_id = submit(client, attempt)
    grade(app, submission_id, 50.0)  # final at once: the stream sends it and ends
    response = client.get(f"/a/{attempt}/c/{SLUG}/events", buffered=False)
    assert [name for name, _ in events(response.response)][-1] == "final"  # type: ignore[arg-type]
    response.close()
    with app.app_context():
        assert streams.slots().open_count() == 0
