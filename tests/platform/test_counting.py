"""Which submission counts: the last graded one (the default) or the best score, said to the
candidate before they submit; a late crash says why it failed and, when the best counts,
never replaces an earlier better score."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check, RunStats
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Submission
from heldout.platform.services import grading, live, scoring
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import PASSWORD

SLUG = "churn-prediction"


def good(bundle: Bundle, submission: Path) -> GradedResult:
    return GradedResult(
        challenge=bundle.slug, version=bundle.version, status="graded", score=92.0,
        checks=(Check("roc_auc", "metric", True, 92, 100, "0.86"), Check("run", "run", True, 0, 0, "exit 0")),
        metrics={"roc_auc": 0.86},
        run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=4.0,
                     cpu_seconds=3.5, peak_memory_mb=200, output_bytes=9000, stdout_tail="",
                     stderr_tail="", limit=None))


def run_stats(**changes: object) -> RunStats:
    base = {"exit_code": 0, "timed_out": False, "oom_killed": False, "wall_seconds": 4.0,
            "cpu_seconds": 3.5, "peak_memory_mb": 200, "output_bytes": 0, "stdout_tail": "",
            "stderr_tail": "Traceback (most recent call last): secret", "limit": None}
    base.update(changes)
    return RunStats(**base)  # type: ignore[arg-type]


def failing(run: RunStats, checks: tuple[Check, ...] = ()) -> Callable[[Bundle, Path], GradedResult]:
    def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
        return GradedResult(challenge=bundle.slug, version=bundle.version, status="graded",
                            score=0.0, checks=(*checks, Check("run", "run", False, 0, 0, "failed")),
                            metrics={}, run=run)
    return evaluate


def crash(bundle: Bundle, submission: Path) -> GradedResult:
    return failing(run_stats(exit_code=1))(bundle, submission)


def submit_and_grade(app: Flask, client: FlaskClient, attempt: str,
                     evaluate: Callable[[Bundle, Path], GradedResult],
                     code: str = "print('x')\n") -> int:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": code})
    assert response.status_code == 302
    with app.app_context():
        submission_id = max(db.session.scalars(select(Submission.id)))
        outcome = grading.grade_submission(submission_id, grading_settings(), evaluate=evaluate)
        assert outcome.status == "graded"
    return submission_id


def set_counting(app: Flask, counting: str) -> None:
    with app.app_context():
        db.session.execute(update(Assessment).values(counting=counting))
        db.session.commit()


def state(client: FlaskClient, attempt: str) -> dict[str, object]:
    answer = client.get(f"/a/{attempt}/c/{SLUG}/state", headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json is not None
    return dict(answer.json)


def test_last_counts_by_default_and_the_crash_says_why(app: Flask, client: FlaskClient,
                                                      attempt: str) -> None:
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "your last graded submission counts" in page  # before anything is submitted
    first = submit_and_grade(app, client, attempt, good)
    late = submit_and_grade(app, client, attempt, crash)
    with app.app_context():
        history = list(db.session.scalars(select(Submission).order_by(Submission.id)))
        counted = scoring.counted_submission(history, "last")
        assert counted is not None and counted.id == late
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    by_id = {s["id"]: s for s in shown}
    assert by_id[late]["counts"] is True and by_id[first]["counts"] is False
    assert by_id[late]["score"] == 0.0  # not hidden: the candidate sees it counted
    assert [r["title"] for r in by_id[late]["reasons"]] == ["Your program crashed"]
    assert "Run public checks" in by_id[late]["reasons"][0]["advice"]
    assert by_id[first]["count_note"] == "A later submission counts (the last graded one counts)."
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "Your program crashed." in page and "This is the submission that counts." in page
    # A graded run's error output came from hidden data: never shown to the candidate.
    assert "secret" not in page


def test_best_keeps_the_earlier_better_score(app: Flask, client: FlaskClient,
                                             attempt: str) -> None:
    set_counting(app, "best")
    page = client.get(f"/a/{attempt}/c/{SLUG}").text
    assert "your best-scoring submission counts" in page
    first = submit_and_grade(app, client, attempt, good)
    late = submit_and_grade(app, client, attempt, crash)
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    by_id = {s["id"]: s for s in shown}
    assert by_id[first]["counts"] is True and by_id[late]["counts"] is False
    assert by_id[late]["count_note"] == ("An earlier submission scored higher, and it still "
                                         "counts (best counts).")
    with app.app_context():
        history = list(db.session.scalars(select(Submission).order_by(Submission.id)))
        counted = scoring.counted_submission(history, "best")
        assert counted is not None and counted.id == first
        assert counted.evaluation is not None and counted.evaluation.score == 92.0


def test_best_says_a_later_better_run_counts(app: Flask, client: FlaskClient,
                                             attempt: str) -> None:
    set_counting(app, "best")
    first = submit_and_grade(app, client, attempt, crash)
    later = submit_and_grade(app, client, attempt, good)
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    by_id = {s["id"]: s for s in shown}
    assert by_id[later]["counts"] is True
    assert by_id[first]["count_note"] == "A later submission scored higher, and it counts " \
        "(best counts)."


def test_best_takes_the_earliest_of_equal_scores(app: Flask, client: FlaskClient,
                                                 attempt: str) -> None:
    first = submit_and_grade(app, client, attempt, good)
    submit_and_grade(app, client, attempt, good)
    with app.app_context():
        history = list(db.session.scalars(select(Submission).order_by(Submission.id)))
        counted = scoring.counted_submission(history, "best")
        assert counted is not None and counted.id == first


def test_a_tie_under_best_names_the_same_submission_everywhere(
        app: Flask, client: FlaskClient, attempt: str, assessment_id: int,
        html: ModuleType) -> None:
    """The earliest of equal best scores counts: on the candidate's page, the report, the
    candidates table and both exports (they once took the latest: an interviewer read other
    code than the candidate was told counts)."""
    set_counting(app, "best")
    first = submit_and_grade(app, client, attempt, good, "print('first take')\n")
    second = submit_and_grade(app, client, attempt, good, "print('second take')\n")
    assert first < second
    # The candidate's page: the live state and the page itself.
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    by_id = {s["id"]: s for s in shown}
    assert by_id[first]["counts"] is True and by_id[second]["counts"] is False
    assert by_id[second]["count_note"] == ("An earlier submission reached the same score "
                                           "first, and it still counts (best counts).")
    workspace = html.parse(client.get(f"/a/{attempt}/c/{SLUG}").text)
    assert [li.attrs["data-id"] for li in workspace.find_all("li", cls="counts")] == [str(first)]

    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com", "password": PASSWORD})
    with app.app_context():
        attempt_id = db.session.scalars(select(Submission.attempt_id)).first()
    report = html.parse(staff.get(f"/attempts/{attempt_id}/report").text)
    tagged = [row for row in report.one("table", cls="submissions").find_all("tr")
              if any(t.text() == "counts" for t in row.find_all("span", cls="tag"))]
    assert [row.find_all("td")[0].text().split()[0] for row in tagged] == [str(first)]
    code = report.one("section", cls="challenge-result").text()
    assert f"submission #{first}, the one that counts" in code
    assert "first take" in code and "second take" not in code

    table = html.parse(staff.get(f"/assessments/{assessment_id}/candidates").text)
    (counted,) = table.one("table", cls="scores").find_all("a", cls="counted")
    assert counted.attrs["data-submission"] == str(first)
    assert counted.attrs["href"] == f"/attempts/{attempt_id}/submissions/{first}"
    rows = list(csv.DictReader(io.StringIO(staff.get(
        f"/assessments/{assessment_id}/candidates.csv").text)))
    assert [r[f"submission:{SLUG}"] for r in rows] == [str(first)]
    data = json.loads(staff.get(f"/assessments/{assessment_id}/candidates.json").text)
    assert [c["submissions"] for c in data["candidates"]] == [{SLUG: first}]


def test_nothing_counts_while_nothing_is_graded(app: Flask, client: FlaskClient,
                                                attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('x')\n"})
    assert response.status_code == 302
    with app.app_context():
        history = list(db.session.scalars(select(Submission)))
        assert scoring.counted_submission(history, "last") is None
        assert scoring.counted_submission(history, "best") is None


@pytest.mark.parametrize(("run", "title", "advice"), [
    (run_stats(timed_out=True, limit="time", wall_seconds=300.0), "Time limit reached", "endless loop"),
    (run_stats(oom_killed=True, limit="memory", peak_memory_mb=2048), "Out of memory", "chunks"),
    (run_stats(exit_code=137, signal=9), "Your program crashed", "traceback"),
])
def test_each_failure_is_named_with_what_to_try(app: Flask, client: FlaskClient, attempt: str,
                                                run: RunStats, title: str, advice: str) -> None:
    submit_and_grade(app, client, attempt, failing(run))
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    reasons = shown[0]["reasons"]
    assert [r["title"] for r in reasons] == [title]
    assert advice in reasons[0]["advice"]


def test_a_bad_output_file_is_named(app: Flask, client: FlaskClient, attempt: str) -> None:
    bad_file = Check("predictions", "run", False, 0, 0, "predictions.csv: column 'proba' is missing")
    submit_and_grade(app, client, attempt, failing(run_stats(), (bad_file,)))
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    reasons = shown[0]["reasons"]
    assert [r["title"] for r in reasons] == ["The output file could not be used"]
    assert "column 'proba' is missing" in reasons[0]["detail"]


def test_a_platform_error_says_it_is_retried_never_a_zero(app: Flask, client: FlaskClient,
                                                          attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('x')\n"})
    assert response.status_code == 302

    def broken(bundle: Bundle, submission: Path) -> GradedResult:
        return GradedResult.internal_error(bundle.slug, bundle.version, "engine went away")

    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        grading.grade_submission(submission_id, grading_settings(), evaluate=broken)
    shown = state(client, attempt)["submissions"]
    assert isinstance(shown, list)
    assert shown[0]["status"] == "internal_error" and shown[0]["score"] is None
    assert "retried" in shown[0]["message"] and "not counted against you" in shown[0]["message"]
    assert shown[0]["counts"] is False and shown[0]["reasons"] == []


def test_the_counting_sentence(app: Flask) -> None:
    assert "last graded" in live.counting_sentence("last")
    assert "best-scoring" in live.counting_sentence("best")
