"""Interviewer pages: the candidates table and the candidate report."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check, RunStats
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Submission
from heldout.platform.services import grading
from heldout.platform.tasks import grading_settings

SLUG = "churn-prediction"
CODE = "html = '</pre><script>alert(1)</script>'\n"


def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
    return GradedResult(
        challenge=bundle.slug, version=bundle.version, status="graded", score=88.0,
        checks=(Check("roc_auc", "metric", True, 88, 100, "0.85 of target 0.87"),
                Check("predictions file", "run", False, 0, 0, "2 duplicate ids ignored")),
        metrics={"roc_auc": 0.8512, "log_loss": 0.3888},
        run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=12.5,
                     cpu_seconds=11.0, peak_memory_mb=321, output_bytes=40_000,
                     stdout_tail="fitted", stderr_tail="<warn>", limit=None))


def _graded_attempt(app: Flask, client: FlaskClient, attempt: str) -> int:
    client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        grading.grade_submission(submission_id, grading_settings(), evaluate=evaluate)
        return db.session.scalars(select(Attempt.id)).one()


def test_candidates_table(app: Flask, client: FlaskClient, auth, assessment_id: int,  # type: ignore[no-untyped-def]
                          attempt: str, make_invite, html: ModuleType) -> None:
    make_invite("Not Yet", "later@example.org")
    candidate = client
    attempt_id = _graded_attempt(app, candidate, attempt)
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    page = html.parse(staff.get(f"/assessments/{assessment_id}/candidates").text)
    rows = {}
    for row in html.table_rows(page.one("table", cls="scores")):
        cell = row["Candidate"]  # the name, then the e-mail in a span
        rows[cell.text().removesuffix(cell.one("span").text()).strip()] = row
    assert set(rows) == {"Cara Candidate", "Not Yet"}
    graded, waiting = rows["Cara Candidate"], rows["Not Yet"]
    # The challenge's column and the total show the graded score; one challenge: the same.
    assert graded["Predict customer churn"].text() == "88"
    assert graded["Total"].text() == "88"
    (link,) = graded["Report"].find_all("a")
    assert link.attrs["href"] == f"/attempts/{attempt_id}/report"
    assert waiting["Predict customer churn"].text() == "—"
    assert waiting["Report"].find_all("a") == []


def test_candidates_empty_state(client: FlaskClient, auth, assessment_id: int) -> None:  # type: ignore[no-untyped-def]
    auth.login("interviewer")
    assert "No candidates yet" in client.get(f"/assessments/{assessment_id}/candidates").text


def test_report(app: Flask, client: FlaskClient, attempt: str, users,  # type: ignore[no-untyped-def]
                html: ModuleType) -> None:
    attempt_id = _graded_attempt(app, client, attempt)
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    response = staff.get(f"/attempts/{attempt_id}/report")
    assert response.status_code == 200
    page = response.text
    tree = html.parse(page)
    assert tree.one(cls="total-value").text() == "88"
    (result,) = tree.find_all("section", cls="challenge-result")
    assert result.one("h2").text().startswith("Predict customer churn")
    assert result.one(cls="score-box").text() == "88 / 100"
    for text in ("Cara Candidate", "ML take-home", "Predict customer churn",
                 "0.85 of target 0.87", "2 duplicate ids ignored", "roc_auc", "0.8512",
                 "12.5 s", "321 MB", "Limit that ended it", "of 60 min", "counts"):
        assert text in page, text
    assert '<span class="ok" aria-label="passed">✓</span>' in page
    assert '<span class="ko" aria-label="failed">✗</span>' in page
    # The integrity lines (staff only): the public-vs-final gap, here with no public run.
    integrity = tree.one(cls="integrity")
    assert "Public vs final roc_auc: no public-check run scored it; 0.8512 final" in \
        " ".join(integrity.text().split())
    assert "Review suggested" not in page
    # The candidate's code and output are escaped, never markup.
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "&lt;warn&gt;" in page


def test_report_while_grading_is_pending(app: Flask, client: FlaskClient, attempt: str,  # type: ignore[no-untyped-def]
                                         users) -> None:
    client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": CODE})
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    page = staff.get(f"/attempts/{attempt_id}/report").text
    assert "The total waits for grading" in page
    assert "queued" in page
