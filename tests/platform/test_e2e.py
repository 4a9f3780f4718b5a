"""The walking skeleton end to end: invite → submission → real queue and sandbox → report."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.processes import stop_processes
from heldout.platform.services import accounts, catalogue
from heldout.platform.templating import format_score

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"
SERVICE = "churn-service"
PASSWORD = "correct horse battery"
GRADING_TIMEOUT_S = 300

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def challenges_dir(challenges_dir: Path) -> Path:
    """churn-prediction (the conftest's copy) and the deployment challenge."""
    if not (challenges_dir / SERVICE).exists():
        shutil.copytree(REPO / "challenges" / SERVICE, challenges_dir / SERVICE)
    return challenges_dir


@pytest.fixture
def settings(tmp_path: Path, challenges_dir: Path) -> dict[str, str]:
    return {"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": "e2e-secret",
            "HELDOUT_DATA_DIR": str(tmp_path / "var"),
            "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
            "HELDOUT_BASE_URL": "http://heldout.test"}


@pytest.fixture
def app(settings: dict[str, str]) -> Iterator[Flask]:
    # The default queue: SqliteHuey in the data directory, shared with the worker process.
    app = create_app(settings)
    with app.app_context():
        flask_migrate.upgrade()
        catalogue.load_challenges(Path(settings["HELDOUT_CHALLENGES_DIR"]))
        accounts.create_user("recruiter@example.com", "Rita", "recruiter", PASSWORD)
        accounts.create_user("interviewer@example.com", "Ivan", "interviewer", PASSWORD)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def worker(settings: dict[str, str], sandbox_image: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, **settings, "HELDOUT_WORKERS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "heldout.platform", "worker"], env=env,
                               cwd=REPO)
    yield process
    stop_processes([(process, signal.SIGINT)])


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def login(client: FlaskClient, email: str) -> None:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302


def poll(client: FlaskClient, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + GRADING_TIMEOUT_S
    seen: list[str] = []
    while time.monotonic() < deadline:
        status = client.get(url, headers={"Accept": "application/json"}).json
        assert status is not None
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        if status["final"]:
            assert seen[0] in ("queued", "running")
            return dict(status)
        time.sleep(0.5)
    raise AssertionError(f"not graded within {GRADING_TIMEOUT_S} s; statuses seen: {seen}")


def started_attempt(app: Flask, slug: str, assessment: str, name: str, email: str
                    ) -> tuple[FlaskClient, str, str]:
    """A recruiter builds an assessment of ``slug`` and invites one candidate, who opens the
    link and starts: the candidate's client, their overview URL and the assessment's URL."""
    recruiter = app.test_client()
    login(recruiter, "recruiter@example.com")
    page = recruiter.get("/assessments/new").text
    response = recruiter.post("/assessments/new", data={
        "csrf_token": csrf(page), "name": assessment, "challenges": [slug],
        "time_limit_minutes": "90", "show_scores": "on"})
    assert response.status_code == 302
    assessment_url = response.headers["Location"]
    page = recruiter.get(assessment_url).text
    response = recruiter.post(f"{assessment_url}/invites", data={
        "csrf_token": csrf(page), "candidate_name": name,
        "candidate_email": email}, follow_redirects=True)
    assert response.status_code == 200
    link = re.search(r'value="http://heldout\.test(/i/[^"]+)"', response.text)
    assert link

    candidate = app.test_client()
    page = candidate.get(link.group(1), follow_redirects=True).text
    assert assessment in page
    response = candidate.post(link.group(1), data={"csrf_token": csrf(page), "consent": "on"})
    assert response.status_code == 302
    return candidate, response.headers["Location"], assessment_url


def test_invite_to_graded_report(app: Flask, worker: subprocess.Popen[bytes], html: ModuleType) -> None:
    candidate, overview, assessment_url = started_attempt(
        app, SLUG, "E2E take-home", "Erin E2E", "erin@example.org")
    workspace = candidate.get(f"{overview}c/{SLUG}").text
    code = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_text()
    response = candidate.post(f"{overview}c/{SLUG}/submit",
                              data={"csrf_token": csrf(workspace), "code": code})
    assert response.status_code == 302
    page = candidate.get(response.headers["Location"]).text
    status_url = re.search(r'data-status-url="([^"]+)"', page)
    assert status_url, "the page polls the submission's status"

    status = poll(candidate, status_url.group(1))
    assert worker.poll() is None, "the worker died"
    assert status["status"] == "graded", status
    assert status["score"] is not None and status["score"] >= 85

    interviewer = app.test_client()
    login(interviewer, "interviewer@example.com")
    assessment_id = assessment_url.rstrip("/").rsplit("/", 1)[-1]
    page = interviewer.get(f"/assessments/{assessment_id}/candidates").text
    shown = format_score(status["score"])  # as the pages round it
    (row,) = html.table_rows(html.parse(page).one("table", cls="scores"))
    assert row["Candidate"].text().startswith("Erin E2E")
    assert row["Predict customer churn"].text() == shown
    assert row["Total"].text() == shown
    report_url = row["Report"].one("a").attrs["href"]
    report = interviewer.get(report_url).text
    tree = html.parse(report)
    assert tree.one(cls="total-value").text() == shown
    assert tree.one("section", cls="challenge-result").one(cls="score-box").text() == f"{shown} / 100"
    assert "Predict customer churn" in report and "roc_auc" in report
    assert "Peak memory" in report and "HELDOUT_DATA" in report  # run stats and the code


def test_a_passing_deployment_is_not_told_it_crashed(app: Flask, worker: subprocess.Popen[bytes],
                                                     html: ModuleType) -> None:
    """The grader stops a service once its probe is done: that kill is not the candidate's
    crash, on the candidate's status nor in the report (it used to read "Your program
    crashed. It exited with code 137 (signal 9)" beside 100/100)."""
    candidate, overview, assessment_url = started_attempt(
        app, SERVICE, "Service take-home", "Sam Service", "sam@example.org")
    workspace = candidate.get(f"{overview}c/{SERVICE}").text
    reference = REPO / "challenges" / SERVICE / "solutions" / "reference"
    response = candidate.post(
        f"{overview}c/{SERVICE}/submit",
        data={"csrf_token": csrf(workspace),
              "files": [(io.BytesIO(path.read_bytes()), path.name)
                        for path in sorted(reference.glob("*.py"))]},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    page = candidate.get(response.headers["Location"]).text
    status_url = re.search(r'data-status-url="([^"]+)"', page)
    assert status_url
    status = poll(candidate, status_url.group(1))
    assert status["status"] == "graded", status
    assert status["score"] is not None and status["score"] >= 85, status
    state = candidate.get(f"{overview}c/{SERVICE}/state").json
    assert state is not None
    [shown] = state["submissions"]
    assert shown["reasons"] == [], shown["reasons"]
    page = candidate.get(f"{overview}c/{SERVICE}").text
    assert "crashed" not in page and "137" not in page

    interviewer = app.test_client()
    login(interviewer, "interviewer@example.com")
    assessment_id = assessment_url.rstrip("/").rsplit("/", 1)[-1]
    table = interviewer.get(f"/assessments/{assessment_id}/candidates").text
    (row,) = html.table_rows(html.parse(table).one("table", cls="scores"))
    report = interviewer.get(row["Report"].one("a").attrs["href"]).text
    facts = {d.one("dt").text(): d.one("dd").text()
             for d in html.parse(report).one("section", cls="challenge-result")
             .find_all("dl", cls="facts") for d in d.find_all("div")}
    assert facts["Exit code"].startswith("none: still serving when the probe was done"), facts
    assert facts["Limit that ended it"] == "none"
