"""System health: the real engine, a dead one and a silent one, workers and the backlog."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.config import sandbox_settings
from heldout.platform.extensions import db
from heldout.platform.identity import claim_identity
from heldout.platform.models import Assessment, Invite, Submission, utcnow
from heldout.platform.services import health
from tests.platform.conftest import Auth, NewInvite, Users

REPO = Path(__file__).resolve().parents[2]
ROW = '<tr class="health-row-{level}">\n    <th scope="row">{name}</th>'


def _level(page: str, name: str) -> str:
    for level in ("ok", "warn", "fail"):
        if ROW.format(level=level, name=name) in page:
            return level
    raise AssertionError(f"no row for {name!r} on the page")


@pytest.mark.docker
def test_with_the_real_engine_the_page_says_ok(client: FlaskClient, auth: Auth) -> None:
    auth.login("admin")
    response = client.get("/admin/health")
    assert response.status_code == 200
    page = response.text
    assert _level(page, "engine") == "ok" and "Docker " in page
    assert _level(page, "image") == "ok" and "is built" in page
    assert _level(page, "queue") == "ok" and "0 job(s) waiting" in page
    # No worker runs in this test and nothing waits: a warning with what to do, not a failure.
    assert _level(page, "workers") == "warn" and "heldout worker" in page
    assert _level(page, "oldest queued submission") == "ok"


# Served in a fresh interpreter, so that the engine address and the imports are its own.
SCRIPT = textwrap.dedent("""
    import json, sys, time
    from werkzeug.security import generate_password_hash
    from heldout.platform.app import create_app
    from heldout.platform.extensions import db
    from heldout.platform.models import User

    data_dir, challenges = sys.argv[1], sys.argv[2]
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "k" * 40,
                      "HELDOUT_DATA_DIR": data_dir, "HELDOUT_CHALLENGES_DIR": challenges,
                      "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_BASE_URL": "http://heldout.test",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.create_all()
        db.session.add(User(email="a@example.com", name="A", role="admin",
                            password_hash=generate_password_hash("p" * 12, "pbkdf2:sha256:1000")))
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "a@example.com", "password": "p" * 12})
    docker_before = "docker" in sys.modules
    started = time.monotonic()
    response = client.get("/admin/health")
    print(json.dumps({"status": response.status_code, "seconds": time.monotonic() - started,
                      "docker_at_start": docker_before, "page": response.get_data(as_text=True)}))
""")


def _serve_health(tmp_path: Path, docker_host: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "var"), str(REPO / "challenges")],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": docker_host, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.sqlite_only("the subject is the engine probe's timeout, the same on "
                        "either database")
def test_an_unreachable_engine_fails_fast(tmp_path: Path) -> None:
    # A socket file nobody listens on: connecting is refused at once.
    path = tmp_path / "closed.sock"
    closed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    closed.bind(str(path))
    closed.close()
    result = _serve_health(tmp_path, f"unix://{path}")
    page = str(result["page"])
    assert result["status"] == 200 and result["docker_at_start"] is False
    assert _level(page, "engine") == "fail" and _level(page, "image") == "fail"
    assert "dockerd" in page and float(str(result["seconds"])) < 5


@pytest.fixture
def silent_engine(tmp_path: Path) -> Iterator[Path]:
    """A socket that accepts connections and never answers (a hung engine)."""
    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.sqlite_only("the subject is the engine probe's timeout, the same on "
                        "either database")
def test_a_silent_engine_does_not_hang_the_page(tmp_path: Path, silent_engine: Path) -> None:
    result = _serve_health(tmp_path, f"unix://{silent_engine}")
    page = str(result["page"])
    assert result["status"] == 200
    assert _level(page, "engine") == "fail" and "did not answer" in page
    seconds = float(str(result["seconds"]))
    assert health.PROBE_TIMEOUT_S - 0.5 < seconds < health.PROBE_TIMEOUT_S + 3


def test_a_queue_that_fails_or_hangs_is_a_failure() -> None:
    def broken() -> int:
        raise ConnectionError("redis is down")

    def stuck() -> int:
        time.sleep(5)
        return 0

    assert health.queue_check(broken, "redis://q").level == "fail"
    started = time.monotonic()
    check = health.queue_check(stuck, "redis://q", timeout=0.3)
    assert check.level == "fail" and "no answer within 0.3 s" in check.detail
    assert time.monotonic() - started < 2
    assert health.queue_check(lambda: health.QUEUE_WARN_DEPTH + 1, "memory://").level == "warn"
    assert health.queue_check(lambda: 3, "memory://").detail == "3 job(s) waiting"


def test_a_running_worker_is_seen_through_its_identity_lock(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    assert health.local_workers(data_dir) == []
    identity, lock = claim_identity(data_dir)
    try:
        assert health.local_workers(data_dir) == [identity.worker_id]
        # Looking took no lock: the identity is still the worker's alone.
        second, second_lock = claim_identity(data_dir)
        assert not second.exclusive
        second_lock.close()
    finally:
        lock.close()
    assert health.local_workers(data_dir) == []


def _queued_submission(app: Flask, invite: NewInvite, age: timedelta,
                       lease_owner: str | None = None) -> None:
    with app.app_context():
        invite_row = db.session.get(Invite, invite.id)
        assert invite_row is not None
        assessment = db.session.get(Assessment, invite_row.assessment_id)
        assert assessment is not None
        now = utcnow()
        attempt = invite_row.attempt
        assert attempt is not None
        challenge = assessment.challenges[0]
        db.session.add(Submission(
            attempt=attempt, challenge_id=challenge.id, challenge_slug=challenge.slug,
            challenge_version=challenge.version, created_at=now - age,
            status="running" if lease_owner else "queued", lease_owner=lease_owner,
            lease_expires_at=now + timedelta(minutes=5) if lease_owner else None))
        db.session.commit()


def test_the_backlog_and_the_workers_holding_jobs(app: Flask, users: Users, invite: NewInvite,
                                                  attempt: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with app.app_context():
        [workers, backlog] = health.worker_and_backlog_checks(data_dir, utcnow())
    assert backlog.level == "ok" and workers.level == "warn"

    _queued_submission(app, invite, timedelta(minutes=7))
    with app.app_context():
        [workers, backlog] = health.worker_and_backlog_checks(data_dir, utcnow())
    # Submissions wait and no worker is alive: that is a failure, with what to start.
    assert workers.level == "fail" and "heldout worker" in workers.action
    assert backlog.level == "warn" and backlog.detail == "Waiting for 7 min."

    _queued_submission(app, invite, timedelta(minutes=45))
    _queued_submission(app, invite, timedelta(seconds=5), lease_owner="worker-abc:life:1")
    with app.app_context():
        [workers, backlog] = health.worker_and_backlog_checks(data_dir, utcnow())
    assert workers.level == "ok" and "worker-abc" in workers.detail
    assert backlog.level == "fail" and backlog.detail == "Waiting for 45 min."


def test_a_silent_engine_and_a_stuck_queue_cost_one_timeout_not_two(
        app: Flask, tmp_path: Path, silent_engine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "DOCKER_HOST", f"unix://{silent_engine}")

    def stuck() -> int:
        time.sleep(10)
        return 0

    with app.app_context():
        started = time.monotonic()
        report = health.system_health(data_dir=tmp_path, sandbox=sandbox_settings(app.config),
                                      queue_depth=stuck, queue_url="redis://q", now=utcnow(),
                                      timeout=1.0)
        elapsed = time.monotonic() - started
    levels = {c.name: c.level for c in report.checks}
    assert levels["engine"] == "fail" and levels["queue"] == "fail" and report.level == "fail"
    assert elapsed < 1.9, elapsed
