"""A worker killed mid-run loses nothing: the next worker removes its container and re-runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask

from heldout.platform.app import create_app
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Submission, utcnow
from heldout.platform.processes import stop_processes
from heldout.platform.queue import get_queue
from heldout.platform.services import accounts, assessments, attempts, catalogue, invites, submissions
from heldout.sandbox.engine import LABEL, LABEL_OWNER_PID

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def settings(tmp_path: Path, challenges_dir: Path) -> dict[str, str]:
    return {"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "crash-secret",
            "HELDOUT_DATA_DIR": str(tmp_path / "var"), "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
            "HELDOUT_WORKERS": "1", "HELDOUT_SANDBOX_WARM": "0"}


@pytest.fixture
def app(settings: dict[str, str]) -> Iterator[Flask]:
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade()
        catalogue.load_challenges(Path(settings["HELDOUT_CHALLENGES_DIR"]))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def start_worker(settings: dict[str, str], sandbox_image: str
                 ) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "heldout.platform", "worker"],
                                   env={**os.environ, **settings}, cwd=REPO)
        started.append(process)
        return process

    yield start
    stop_processes([(process, signal.SIGINT) for process in started])


def submit_slow_reference(app: Flask, settings: dict[str, str], challenges_dir: Path) -> int:
    code = (challenges_dir / SLUG / "solutions" / "reference" / "solution.py").read_text()
    slow = "import time\ntime.sleep(6)\n" + code
    with app.app_context():
        user = accounts.create_user("rec@example.com", "Rec", "recruiter", "correct horse battery")
        assessment = assessments.create_assessment(
            name="crash", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=user.id)
        invite = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Cara", candidate_email="c@example.org",
            created_by_id=user.id, secret=settings["HELDOUT_SECRET_KEY"], ttl_days=1, now=utcnow()).invite
        attempt = attempts.start_attempt(invite, consent=True, now=utcnow())
        submission = submissions.submit(
            attempt_public_id=attempt.public_id, challenge_slug=SLUG, files=[],
            blobs=BlobStore(Path(settings["HELDOUT_DATA_DIR"]) / "blobs"), queue=get_queue(),
            bundles=catalogue.get_bundles(), now=utcnow(), pasted_code=slow)
        return submission.id


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_is_recovered(app: Flask, settings: dict[str, str], challenges_dir: Path,
                                    docker_client: Any,
                                    start_worker: Callable[[], subprocess.Popen[bytes]]) -> None:
    submission_id = submit_slow_reference(app, settings, challenges_dir)

    def row() -> Submission:
        with app.app_context():
            found = db.session.get(Submission, submission_id)
            assert found is not None
            db.session.expunge(found)
            return found

    first = start_worker()
    wait_for(lambda: row().status == "running", 60, "the first worker to start the job")
    labels = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={first.pid}"]
    orphan = wait_for(lambda: docker_client.containers.list(filters={"label": labels}), 30,
                      "the job's sandbox container")[0]

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert docker_client.containers.list(all=True, filters={"id": orphan.id}), \
        "the container outlived its worker, as after a real crash"
    assert row().status == "running"

    start_worker()
    graded = wait_for(lambda: row() if row().status in ("graded", "internal_error") else None, 180,
                      "the second worker to re-run the submission")
    assert graded.status == "graded", graded.error
    assert graded.tries == 2
    assert docker_client.containers.list(all=True, filters={"id": orphan.id}) == []
    with app.app_context():
        evaluation = db.session.get(Submission, submission_id).evaluation  # type: ignore[union-attr]
        assert evaluation is not None and evaluation.score is not None and evaluation.score >= 85
