"""At the deadline the worker submits the last saved drafts: exactly once, even when the job
runs twice or two workers race; never for a candidate who finished, nor for work already
submitted; the pages say what happened. One test runs a real worker and the real sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from heldout.platform import worker
from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    DeadlineSubmission,
    Submission,
    utcnow,
)
from heldout.platform.processes import stop_processes
from heldout.platform.queue import get_queue
from heldout.platform.services import accounts, assessments, catalogue, drafts, invites
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.grading import SUBMISSIONS
from heldout.platform.tasks import grading_settings

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"
REFERENCE = REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py"
CODE = "print('my last saved work')\n"


def autosave(client: FlaskClient, attempt: str, text: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/draft",
                           data=json.dumps({"files": [{"name": "solution.py", "content": text}]}),
                           headers={"Content-Type": "application/json",
                                    "Accept": "application/json"})
    assert response.status_code == 200, response.text


def end_time(app: Flask, seconds_ago: float = 1) -> None:
    with app.app_context():
        db.session.execute(update(Attempt).values(
            deadline=utcnow() - timedelta(seconds=seconds_ago)))
        db.session.commit()


def run_job(app: Flask) -> list[drafts.DeadlineOutcome]:
    with app.app_context():
        return drafts.submit_due_drafts(blobs=grading_settings().blobs, queue=get_queue(),
                                        bundles=get_bundles(), now=utcnow())


def submitted_code(app: Flask) -> list[str]:
    with app.app_context():
        blobs = grading_settings().blobs
        return [blobs.get(s.files[0].sha256).decode() for s in
                db.session.scalars(select(Submission).order_by(Submission.id))]


def test_the_job_submits_the_last_draft_exactly_once(app: Flask, client: FlaskClient,
                                                     attempt: str) -> None:
    autosave(client, attempt, "print('first')\n")
    autosave(client, attempt, CODE)
    assert run_job(app) == []  # time is not up yet: nothing happens
    end_time(app)
    done = run_job(app)
    assert len(done) == 1 and done[0].submission_id is not None
    assert run_job(app) == [] and run_job(app) == []  # the job runs every minute
    assert submitted_code(app) == [CODE]
    with app.app_context():
        attempt_row = db.session.scalars(select(Attempt)).one()
        assert attempt_row.finish_reason == "deadline"
        assert attempt_row.finished_at == attempt_row.deadline
        submission = db.session.scalars(select(Submission)).one()
        assert submission.status == "queued"
        # Queued for grading like any submission (the memory queue holds its job).
        assert get_queue().waiting(SUBMISSIONS.kind) == {submission.id}
        claim = db.session.scalars(select(DeadlineSubmission)).one()
        assert claim.submission_id == submission.id
        stamp = submission.created_at.strftime("%H:%M")

    page = client.get(f"/a/{attempt}/done").text
    assert f"Time is up: your last saved work was submitted at {stamp}" in page
    # The workspace now leads to the done page, which says it too.
    workspace = client.get(f"/a/{attempt}/c/{SLUG}")
    assert workspace.status_code == 302 and workspace.headers["Location"].endswith("/done")


def test_two_workers_racing_submit_once(app: Flask, client: FlaskClient, attempt: str) -> None:
    autosave(client, attempt, CODE)
    end_time(app)
    barrier = threading.Barrier(4)
    results: list[list[drafts.DeadlineOutcome]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(run_job(app))
        except BaseException as exc:  # reported below, the thread must not die silently
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sum(len(r) for r in results) == 1
    assert submitted_code(app) == [CODE]


def test_work_already_submitted_is_not_submitted_again(app: Flask, client: FlaskClient,
                                                       attempt: str) -> None:
    autosave(client, attempt, CODE)
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    assert response.status_code == 302
    end_time(app)
    outcomes = run_job(app)
    assert [o.submission_id for o in outcomes] == [None]
    assert "last submission" in outcomes[0].note
    assert submitted_code(app) == [CODE]  # the candidate's own, once


def test_same_text_saved_after_submitting_is_not_a_new_submission(
        app: Flask, client: FlaskClient, attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    assert response.status_code == 302
    autosave(client, attempt, CODE)  # the editor saves what was just submitted
    end_time(app)
    outcomes = run_job(app)
    assert [o.submission_id for o in outcomes] == [None]
    assert submitted_code(app) == [CODE]


def test_newer_draft_than_the_last_submission_is_submitted(app: Flask, client: FlaskClient,
                                                           attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('v1')\n"})
    assert response.status_code == 302
    autosave(client, attempt, CODE)
    end_time(app)
    assert [o.submission_id is not None for o in run_job(app)] == [True]
    assert submitted_code(app) == ["print('v1')\n", CODE]


def test_a_candidate_who_finished_keeps_their_choice(app: Flask, client: FlaskClient,
                                                     attempt: str) -> None:
    autosave(client, attempt, CODE)
    assert client.post(f"/a/{attempt}/finish").status_code == 302
    end_time(app)
    assert run_job(app) == []
    assert submitted_code(app) == []
    page = client.get(f"/a/{attempt}/done").text
    assert "your last saved work was submitted" not in page


def test_an_unusable_draft_is_recorded_not_retried(app: Flask, client: FlaskClient,
                                                   attempt: str) -> None:
    autosave(client, attempt, "   \n")  # nothing but blanks: the submit rules refuse it
    end_time(app)
    outcomes = run_job(app)
    assert [o.submission_id for o in outcomes] == [None]
    assert "empty" in outcomes[0].note
    assert run_job(app) == []


def test_the_done_page_says_it_is_being_submitted_before_the_job_ran(
        app: Flask, client: FlaskClient, attempt: str) -> None:
    autosave(client, attempt, CODE)
    end_time(app)
    page = client.get(f"/a/{attempt}/done").text
    assert "is being submitted for you" in page
    assert "data-reload-while-pending" in page


def test_the_periodic_task_is_registered_and_runs(app: Flask, client: FlaskClient,
                                                  attempt: str) -> None:
    autosave(client, attempt, CODE)
    end_time(app)
    with app.app_context():
        tasks = get_queue().tasks
        # Due on every minute's tick, beside the watchdog.
        due = {task.name for task in tasks.huey.read_periodic(utcnow().replace(tzinfo=None))}
        assert {"submit_at_deadline", "watchdog"} <= due
        tasks.deadline_job.call_local()
    assert submitted_code(app) == [CODE]


def test_the_workers_duties_submit_within_seconds_and_survive_a_failure(
        app: Flask, client: FlaskClient, attempt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker's own clock runs the deadline submitter (and the watchdog) every
    # HELDOUT_DUTIES_SECONDS, not only on the queue's minute tick; a duty that fails (the
    # database away, say) is logged and tried again at the next turn.
    autosave(client, attempt, CODE)
    end_time(app)
    calls = {"n": 0}
    real = drafts.submit_due_drafts

    def flaky(**kwargs: Any) -> list[drafts.DeadlineOutcome]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database away")
        return real(**kwargs)

    monkeypatch.setattr(drafts, "submit_due_drafts", flaky)
    duties = worker.Duties(app, 0.05)
    duties.start()
    try:
        limit = time.monotonic() + 30
        while not submitted_code(app) and time.monotonic() < limit:
            time.sleep(0.05)
    finally:
        duties.stop()
    assert calls["n"] >= 2
    assert submitted_code(app) == [CODE]  # once, however many turns ran


# --- a real worker process, the real queue and the real sandbox ----------------------------

@pytest.fixture
def settings(tmp_path: Path, challenges_dir: Path) -> dict[str, str]:
    return {"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "deadline-secret",
            "HELDOUT_DATA_DIR": str(tmp_path / "var"),
            "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
            "HELDOUT_BASE_URL": "http://heldout.test"}


@pytest.fixture
def served_app(settings: dict[str, str]) -> Iterator[Flask]:
    # The default queue: SqliteHuey, shared with the worker. Forms unchecked here: the
    # CSRF rules of autosave are test_drafts.py's.
    app = create_app({**settings, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        flask_migrate.upgrade(revision="heads")  # every branch, while one is being re-chained
        catalogue.load_challenges(Path(settings["HELDOUT_CHALLENGES_DIR"]))
        accounts.create_user("recruiter@example.com", "Rita", "recruiter", "x" * 12)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.docker
@pytest.mark.slow
def test_a_real_worker_submits_and_grades_the_draft_at_the_deadline(
        served_app: Flask, settings: dict[str, str], sandbox_image: str) -> None:
    app = served_app
    with app.app_context():
        recruiter_id = accounts.user_by_email("recruiter@example.com").id
        assessment = assessments.create_assessment(
            name="Timed", challenge_slugs=[SLUG], time_limit_minutes=5, instructions="",
            expires_at=None, show_scores=True, created_by_id=recruiter_id)
        made = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Dee Deadline",
            candidate_email="dee@example.org", created_by_id=recruiter_id,
            secret=app.config["SECRET_KEY"], ttl_days=14, now=utcnow())
    client = app.test_client()
    response = client.post(f"/i/{made.token}", data={"consent": "on"})
    assert response.status_code == 302
    attempt = response.headers["Location"].split("/")[2]
    autosave(client, attempt, REFERENCE.read_text())
    end_time(app, seconds_ago=5)

    env: dict[str, Any] = {**os.environ, **settings, "HELDOUT_WORKERS": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "heldout.platform", "worker"], env=env,
                              cwd=REPO)
    try:
        # The periodic job ticks each minute; then the grading of the reference.
        limit = time.monotonic() + 360
        status = None
        while time.monotonic() < limit:
            assert worker.poll() is None, "the worker died"
            with app.app_context():
                rows = db.session.scalars(select(Submission)).all()
                status = rows[0].status if rows else None
                if status == "graded":
                    break
                db.session.remove()
            time.sleep(2)
        assert status == "graded", f"not graded in time (last status {status})"
        with app.app_context():
            submission = db.session.scalars(select(Submission)).one()
            assert submission.evaluation is not None
            assert submission.evaluation.score is not None and submission.evaluation.score >= 85
            claim = db.session.scalars(select(DeadlineSubmission)).one()
            assert claim.submission_id == submission.id
        page = client.get(f"/a/{attempt}/done").text
        assert "Time is up: your last saved work was submitted at" in page
    finally:
        stop_processes([(worker, signal.SIGINT)])
