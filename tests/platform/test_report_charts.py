"""The report's charts (inline SVG with the right values marked), the diff against the
starter, highlighted and escaped code, and every submission openable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from heldout.graders.bundle import Bundle
from heldout.graders.result import Check, RunStats
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Attempt, DraftSnapshot, Submission
from heldout.platform.services import charts, grading
from heldout.platform.tasks import grading_settings
from tests.platform import review_seed as seed

SLUG = "churn-prediction"
REPO = Path(__file__).resolve().parents[2]
STARTER = (REPO / "challenges" / SLUG / "starter" / "solution.py").read_text()
FIRST = STARTER.replace("fillna(overall_rate)", "fillna(0.5)")
SECOND = STARTER.replace("    # Churn rate per contract type", "    html = '</pre><script>x()</script>'\n"
                         "    # Churn rate per contract type")




def _graded_as(score: float, auc: float) -> Callable[[Bundle, Path], GradedResult]:
    def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
        return GradedResult(
            challenge=bundle.slug, version=bundle.version, status="graded", score=score,
            checks=(Check("roc_auc", "metric", True, score, 100, f"roc_auc {auc}"),
                    Check("predictions", "test", True, 0, 0, "one per id")),
            metrics={"roc_auc": auc},
            run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=4.0,
                         cpu_seconds=3.5, peak_memory_mb=200, output_bytes=10,
                         stdout_tail="", stderr_tail="", limit=None))
    return evaluate


@pytest.fixture
def report_setup(app: Flask, client: FlaskClient, attempt: str, users: Any,
                 assessment_id: int) -> dict[str, Any]:
    """The candidate submits twice (graded 60 then 88); three others of the same version
    scored 20, 55 and 95."""
    ids = []
    for code, (score, auc) in ((FIRST, (60.0, 0.80)), (SECOND, (88.0, 0.8512))):
        assert client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": code}).status_code \
            in (200, 302)
        with app.app_context():
            submission_id = max(db.session.scalars(select(Submission.id)))
            grading.grade_submission(submission_id, grading_settings(),
                                     evaluate=_graded_as(score, auc))
            ids.append(submission_id)
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
        for index, score in enumerate((20.0, 55.0, 95.0)):
            seed.candidate(assessment_id, users.recruiter, f"Other {index}",
                           {SLUG: [seed.Graded(score)]}, index=index)
        db.session.commit()
    return {"attempt_id": attempt_id, "submissions": ids}


def _staff(app: Flask, role: str = "interviewer") -> FlaskClient:
    client = app.test_client()
    client.post("/login", data={"email": f"{role}@example.com",
                                "password": "correct horse battery"})
    return client


def test_distribution_marks_this_candidate(app: Flask, report_setup: dict[str, Any],
                                           html: ModuleType) -> None:
    page = _staff(app).get(f"/attempts/{report_setup['attempt_id']}/report").text
    tree = html.parse(page)
    (chart,) = tree.find_all("svg", cls="chart-distribution")
    assert chart.attrs["data-marked"] == "88" and chart.attrs["data-count"] == "4"
    assert chart.attrs["role"] == "img"
    assert chart.find_all("title")[0].text() == \
        "Score distribution of this team's candidates of this version"
    bars = chart.find_all("rect", cls="bar")
    assert len(bars) == 10
    # 88 falls in the 80-90 bin, the only one marked.
    assert [i for i, bar in enumerate(bars) if "marked" in bar.classes] == [8]
    assert "this candidate 88" in chart.text()
    # Percentile: 2 of the 3 others scored lower.
    assert "66.7 percentile among 3 other candidates" in \
        tree.one(cls="challenge-percentile").text()
    assert tree.one(cls="percentile-value").text() == "66.7"


def test_metric_axis_against_baseline_and_target(app: Flask, report_setup: dict[str, Any],
                                                 html: ModuleType) -> None:
    tree = html.parse(_staff(app).get(f"/attempts/{report_setup['attempt_id']}/report").text)
    (axis,) = tree.find_all("svg", cls="chart-metric")
    # churn-prediction's challenge.toml: baseline 0.70, target 0.87.
    assert (axis.attrs["data-metric"], axis.attrs["data-baseline"], axis.attrs["data-target"],
            axis.attrs["data-value"]) == ("roc_auc", "0.7", "0.87", "0.8512")
    text = axis.text()
    assert "baseline 0.7" in text and "target 0.87" in text and "candidate 0.8512" in text
    (points,) = tree.find_all("svg", cls="chart-points")
    assert (points.attrs["data-earned"], points.attrs["data-possible"]) == ("88", "100")


def test_timeline_and_skills(app: Flask, report_setup: dict[str, Any],
                             html: ModuleType) -> None:
    tree = html.parse(_staff(app).get(f"/attempts/{report_setup['attempt_id']}/report").text)
    (line,) = tree.find_all("svg", cls="chart-timeline")
    assert line.attrs["data-submissions"] == "2"
    assert [c.text() for c in line.find_all("circle")][-1].endswith(": 88")
    (skills,) = tree.find_all("svg", cls="chart-skills")
    assert skills.attrs["data-skills"] == "4"
    text = skills.text()
    for tag in ("binary classification", "feature engineering", "missing values",
                "scikit-learn"):
        assert tag in text
    assert text.count("88") >= 4  # one challenge: every tag scores its 88


def test_diff_against_the_starter_and_highlighted_escaped_code(
        app: Flask, report_setup: dict[str, Any], html: ModuleType) -> None:
    page = _staff(app).get(f"/attempts/{report_setup['attempt_id']}/report").text
    tree = html.parse(page)
    (diff,) = tree.find_all("pre", cls="diff")
    added = [s.text() for s in diff.find_all("span", cls="add")]
    removed = [s.text() for s in diff.find_all("span", cls="del")]
    # One line added, none removed (text() folds the indentation's spaces).
    assert added == ["+ html = '</pre><script>x()</script>'"] and removed == []
    assert "starter/solution.py" in diff.text()
    # Pygments highlighted the counted submission; the candidate's markup stays text.
    assert tree.find_all("div", cls="highlight")
    assert "<script>x()" not in page
    assert "&lt;/pre&gt;&lt;script&gt;" in page or "&lt;script&gt;" in page


def test_every_submission_is_openable(app: Flask, report_setup: dict[str, Any],
                                      html: ModuleType) -> None:
    staff = _staff(app, "recruiter")
    attempt_id = report_setup["attempt_id"]
    first, second = report_setup["submissions"]
    tree = html.parse(staff.get(f"/attempts/{attempt_id}/report").text)
    links = {a.attrs["href"] for a in tree.one("table", cls="submissions").find_all("a")}
    assert links == {f"/attempts/{attempt_id}/submissions/{first}",
                     f"/attempts/{attempt_id}/submissions/{second}"}
    older = html.parse(staff.get(f"/attempts/{attempt_id}/submissions/{first}").text)
    assert "fillna" in older.one("div", cls="highlight").text()
    assert "0.5" in older.one("pre", cls="diff").text()
    assert "1 of 2" in older.text() and "no" in older.text()
    assert [s.text() for s in older.one("pre", cls="diff").find_all("span", cls="add")] == \
        ["+ probability = test[\"contract\"].map(rate_by_contract).fillna(0.5)"]
    newer = staff.get(f"/attempts/{attempt_id}/submissions/{second}").text
    assert "yes, this is the one that counts" in newer
    # A submission id under another attempt's URL is not found.
    assert staff.get(f"/attempts/{attempt_id + 1}/submissions/{first}").status_code == 404


def test_draft_saves_on_the_timeline_and_played_back(app: Flask, report_setup: dict[str, Any],
                                                     html: ModuleType) -> None:
    staff = _staff(app)
    url = f"/attempts/{report_setup['attempt_id']}/report"
    assert "No draft saves of this challenge" in staff.get(url).text
    with app.app_context():
        attempt = db.session.get(Attempt, report_setup["attempt_id"])
        assert attempt is not None
        challenge_id = attempt.submissions[0].challenge_id
        for minute, text in ((3, "print(1)"), (9, "print('<b>2</b>')")):
            db.session.add(DraftSnapshot(attempt_id=attempt.id, challenge_id=challenge_id,
                                         name="solution.py", content=text,
                                         taken_at=attempt.started_at + timedelta(minutes=minute)))
        db.session.commit()
    page = staff.get(url).text
    tree = html.parse(page)
    (line,) = tree.find_all("svg", cls="chart-timeline")
    assert (line.attrs["data-submissions"], line.attrs["data-drafts"]) == ("2", "2")
    assert len(line.find_all("rect", cls="draft")) == 2
    frames = tree.one("details", cls="playback").find_all("li")
    assert [f.one("pre").text() for f in frames] == ["print(1)", "print('<b>2</b>')"]
    assert "3 min 00 s in" in frames[0].text()
    assert "&lt;b&gt;2&lt;/b&gt;" in page


def test_best_submission_counts_where_the_assessment_says_so(
        app: Flask, report_setup: dict[str, Any], assessment_id: int, html: ModuleType) -> None:
    with app.app_context():
        db.session.execute(update(Assessment).where(Assessment.id == assessment_id)
                           .values(counting="best"))
        db.session.commit()
    # Graded 60 then 88: make the later one worse.
    with app.app_context():
        latest = db.session.get(Submission, report_setup["submissions"][1])
        assert latest is not None and latest.evaluation is not None
        latest.evaluation.score = 30.0
        db.session.commit()
    tree = html.parse(_staff(app).get(f"/attempts/{report_setup['attempt_id']}/report").text)
    assert tree.one(cls="total-value").text() == "60"
    assert "best graded submission" in tree.text()


def test_chart_text_is_escaped() -> None:
    svg = str(charts.skills_profile([("<script>", 50.0)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    axis = charts.metric_axis(charts.MetricScaleView("log_loss", "Log <loss>", 0.7, 0.3,
                                                     False, 0.45))
    assert "Log &lt;loss&gt;" in str(axis) and 'data-value="0.45"' in str(axis)


def test_timeline_places_points_in_time() -> None:
    start = seed.START
    svg = str(charts.timeline([charts.TimelinePoint(start + timedelta(minutes=30), 50.0, "s1")],
                              start, start + timedelta(minutes=60)))
    # Half-way along the plot (34 + 492 / 2 = 280) and half-way up (12 + 88 / 2 = 56).
    assert 'cx="280" cy="56"' in svg
