"""The report's kind-specific parts: executed notebooks (sanitised), probe tables, query
shapes, public-check activity; and the artefacts kept to show them."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from flask import Flask
from flask.testing import FlaskClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.kinds.deployment.report import ProbeTable, percentile, probe_table
from heldout.graders.kinds.notebook.render import ALLOWED_TAGS, render_html, sanitise
from heldout.graders.result import Check, RunStats
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, EvaluationRecord, PublicRun, Submission, utcnow
from heldout.platform.remote_files import FilesUnavailable
from heldout.platform.services import assessments, grading
from heldout.platform.services.jobs import backoff
from heldout.platform.tasks import grading_settings
from tests.platform.conftest import PASSWORD, NewInvite, Users, make_app, start_attempt

REPO = Path(__file__).resolve().parents[2]
SLUGS = ("churn-eda-notebook", "churn-service", "retention-cohorts")
NOTEBOOK = "churn-eda-notebook"
SERVICE = "churn-service"
SQL = "retention-cohorts"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")
HOSTILE_HTML = (
    "<b onclick='steal()'>bold</b><script>window.pwned=1</script>"
    "<iframe src='http://evil.example/frame'></iframe>"
    "<link rel=stylesheet href='http://evil.example/x.css'>"
    "<a href='javascript:alert(3)'>js link</a><a href='https://docs.example.org/x'>docs</a>"
    "<img src=x onerror=alert(4)><img src='http://evil.example/track.png'>"
    "<style>body{display:none}</style><div style='position:fixed;top:0'>overlay</div>"
    "<span class='notice notice-error total-value'>fake score</span>"
    "<form action='/logout' method=post><button>go</button></form>"
)
HOSTILE_SVG = ("<svg xmlns='http://www.w3.org/2000/svg' onload='alert(5)'><script>alert(6)</script>"
               "<rect width='10' height='10'/></svg>")
EMPTY_NOTEBOOK = nbformat.writes(new_notebook()).encode("utf-8")
TABLE_HTML = ("<table class='dataframe'><thead><tr><th>plan</th><th>churn_rate</th></tr></thead>"
              "<tbody><tr><td>basic</td><td>0.31</td></tr></tbody></table>")


@pytest.fixture(scope="module")
def kinds_challenges(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("challenges")
    for slug in SLUGS:
        shutil.copytree(REPO / "challenges" / slug, root / slug)
    return root


@pytest.fixture
def app(tmp_path: Path, kinds_challenges: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, kinds_challenges)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def assessment_id(app: Flask, users: Users) -> int:
    with app.app_context():
        return assessments.create_assessment(
            name="Kinds", challenge_slugs=list(SLUGS), time_limit_minutes=120, instructions="",
            expires_at=None, show_scores=True, created_by_id=users.recruiter).id


def hostile_notebook() -> bytes:
    notebook = new_notebook(cells=[
        new_markdown_cell("# Churn analysis\n\n<script>window.md=1</script>\n\n[click](javascript:alert(1))"),
        new_code_cell("print('rows', 1000)", execution_count=1, outputs=[
            new_output("stream", name="stdout", text="rows 1000\n")]),
        new_code_cell("df.head()", execution_count=2, outputs=[
            new_output("execute_result", execution_count=2,
                       data={"text/html": TABLE_HTML, "text/plain": "plan churn_rate"})]),
        new_code_cell("plot()", execution_count=3, outputs=[
            new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]),
        new_code_cell("HTML(payload)", execution_count=4, outputs=[
            new_output("display_data", data={"text/html": HOSTILE_HTML}),
            new_output("display_data", data={"application/javascript": "window.js=1"}),
            new_output("display_data", data={"image/svg+xml": HOSTILE_SVG})]),
    ])
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    text: str = nbformat.writes(notebook)
    return text.encode("utf-8")


def _evaluator(artefacts: Mapping[str, bytes]) -> Callable[[Bundle, Path], GradedResult]:
    """A grader stand-in returning a fixed evaluation with ``artefacts`` (the real graders
    run in the Docker tests below)."""

    def evaluate(bundle: Bundle, submission: Path) -> GradedResult:
        return GradedResult(
            challenge=bundle.slug, version=bundle.version, status="graded", score=70.0,
            checks=(Check("runs-clean", "run", True, 0, 0, "every cell ran"),),
            run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=3.0,
                         peak_memory_mb=100, output_bytes=10, stdout_tail="", stderr_tail=""),
            artefacts=artefacts)

    return evaluate


def _submit(client: FlaskClient, attempt: str, slug: str, name: str, data: bytes) -> None:
    response = client.post(f"/a/{attempt}/c/{slug}/submit",
                           data={"files": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.text


def _grade_latest(app: Flask, evaluate: Callable[[Bundle, Path], GradedResult] | None) -> int:
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id).order_by(Submission.id.desc())
                                           ).first()
        assert submission_id is not None
        outcome = grading.grade_submission(submission_id, grading_settings(), evaluate=evaluate)
        assert outcome.status == "graded", outcome.detail
        return submission_id


def _report(app: Flask, attempt: str) -> str:
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com", "password": PASSWORD})
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id).where(Attempt.public_id == attempt)
                                        ).one()
    response = staff.get(f"/attempts/{attempt_id}/report")
    assert response.status_code == 200
    return response.text


def _section(page: str, html: ModuleType, title_start: str) -> Any:
    for section in html.parse(page).find_all("section", cls="challenge-result"):
        if section.one("h2").text().startswith(title_start):
            return section
    raise AssertionError(f"no section {title_start!r}")


def _notebook_frame(page: str) -> str:
    """The notebook's frame, as raw HTML (sanitising strips comments: the end marker is ours)."""
    start = page.index('<div class="nb-frame"')
    return page[start:page.index("<!-- end of the executed notebook", start)]


def assert_inert(frame: str, html: ModuleType) -> None:
    """No element that runs, loads or submits anything; only allow-listed tags and
    attributes (escaped text, such as a cell's source quoting markup, is only text)."""
    for raw in ("<script", "<iframe", "<style", "<form", "<svg", "<link", "<object", "<embed"):
        assert raw not in frame.lower(), raw
    [box] = html.parse(frame).find_all("div", cls="nb-frame")
    elements = list(box.iter())
    assert elements
    for element in elements:
        assert element.tag in ALLOWED_TAGS, element.tag
        for name, value in element.attrs.items():
            assert not name.startswith("on") and name != "style", (element.tag, name)
            if name == "href":
                assert value.startswith(("https://", "http://", "mailto:")), value
            if name == "src":
                assert value.startswith("data:image/"), value[:40]
            if name == "class":
                assert all(c.startswith("nb-") for c in value.split()), value


# --- the kinds' templates -----------------------------------------------------------------

def test_a_page_can_load_a_kinds_declared_part_templates_and_nothing_else(app: Flask) -> None:
    from jinja2 import TemplateNotFound

    from heldout.graders.kinds import KINDS
    from heldout.platform.templating import kind_template

    names = [kind_template(kind, part) for kind in KINDS.known()
             for part in KINDS.get(kind).report_parts]
    assert sorted(names) == ["kinds/deployment/report.html", "kinds/notebook/report.html",
                             "kinds/sql/report.html"]
    for name in names:
        assert app.jinja_env.get_template(name).filename is not None
    for name in ("kinds/sql/__init__.py", "kinds/sql/sql_harness.py", "kinds/sql/../sql/report.html",
                 "kinds/nosuch/report.html", "kinds/sql", "kinds/function/report.html"):
        with pytest.raises(TemplateNotFound):
            app.jinja_env.get_template(name)


def test_every_labelled_check_is_explained_by_its_type() -> None:
    from heldout.graders.checks import CHECKS
    from heldout.platform.services import public_runs, reports

    for name, kind, type_name in (("query: retention", "test", "query"),
                                  ("tests: notebook cells", "test", "tests"),
                                  ("roc_auc", "metric", "metric"), ("runs-clean", "run", "runs-clean")):
        assert reports.check_explanation(name, kind) == CHECKS.get(type_name).explanation
        assert public_runs.explanation(name, kind)
    assert reports.check_explanation("made-up", "test") == ""


# --- sanitising -------------------------------------------------------------------------

def test_sanitiser_removes_every_active_or_external_part() -> None:
    clean = sanitise(HOSTILE_HTML + HOSTILE_SVG)
    lowered = clean.lower()
    for banned in ("<script", "onclick", "onerror", "onload", "javascript:", "<iframe", "<link",
                   "evil.example", "<style", "style=", "<svg", "<form", "<button", "alert(",
                   "pwned", "notice", "total-value"):
        assert banned not in lowered, (banned, clean)
    # What is left is the text, and the ordinary link out with a safe rel.
    assert "<b>bold</b>" in clean and "fake score" in clean and "overlay" in clean
    assert 'href="https://docs.example.org/x"' in clean and "noopener" in clean


def test_links_in_candidate_output_open_apart_from_the_report(html: ModuleType) -> None:
    """A link in notebook output opened in the reviewer's own tab, in place of the report
    (a page dressed as a sign-in could follow); its target and rel are now the platform's."""
    clean = sanitise('<p><a href="https://docs.example.org/x" target="_self" rel="opener">'
                     'docs</a> <a href="/admin/users">here</a></p>')
    links = html.parse(clean).find_all("a")
    assert [link.attrs for link in links] == [
        {"href": "https://docs.example.org/x", "rel": "noopener noreferrer nofollow",
         "target": "_blank"},
        {"rel": "noopener noreferrer nofollow", "target": "_blank"},  # no href: goes nowhere
    ]


def test_rendered_notebook_keeps_text_tables_and_png_and_nothing_active() -> None:
    rendered = render_html(hostile_notebook())
    assert rendered.problem is None and rendered.cells == 5
    out = rendered.html
    assert "rows 1000" in out and "Churn analysis" in out
    assert "<th>plan</th>" in out and "<td>0.31</td>" in out and 'class="nb-dataframe"' in out
    assert f'src="data:image/png;base64,{PNG}"' in out
    # The SVG becomes an image (an SVG image runs no script); its markup is never inline.
    assert 'src="data:image/svg+xml;base64,' in out and "<svg" not in out
    for banned in ("<script", "window.", "onerror", "onclick", "javascript:", "<iframe",
                   "<link", "evil.example", "<style", "style="):
        assert banned not in out, banned
    # Only nbconvert's own structure classes, renamed: none of the page's classes.
    classes = {c for chunk in out.split('class="')[1:] for c in chunk.split('"')[0].split()}
    assert classes and all(c.startswith("nb-") for c in classes), classes


def test_a_broken_notebook_says_why_instead_of_rendering() -> None:
    rendered = render_html(b'{"cells": "not a list"')
    assert rendered.html == "" and rendered.problem and "not a readable notebook" in rendered.problem


# --- persisted artefacts through the worker and the report ------------------------------

def test_the_report_renders_the_kept_notebook_sanitised(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    data = hostile_notebook()
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", data)
    submission_id = _grade_latest(app, _evaluator({"executed.ipynb": data}))
    digest = hashlib.sha256(data).hexdigest()
    with app.app_context():
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission_id)).one()
        assert record.artefacts == [{"name": "executed.ipynb", "sha256": digest,
                                     "size": len(data)}]
        assert BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs").get(digest) == data

    page = _report(app, attempt)
    frame = _notebook_frame(page)
    assert "rows 1000" in frame and "<td>0.31</td>" in frame and "data:image/png;base64," in frame
    assert frame.count('class="nb-cell') == 5
    for banned in ("onerror", "onclick", "javascript:", "evil.example", "style=", "window."):
        assert banned not in frame, banned  # no source cell quotes them here: all removed
    assert_inert(frame, html)
    section = _section(page, html, "Explore churn")
    assert "Executed notebook" in section.text() and "5 cells" in section.text()
    # Second line of defence: the page's policy runs no inline script and loads nothing
    # from elsewhere, whatever a sanitiser might miss.
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com", "password": PASSWORD})
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
    policy = staff.get(f"/attempts/{attempt_id}/report").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert "script-src" not in policy or "script-src 'self'" in policy


def test_a_notebook_is_rendered_once_and_cached_by_blob_hash(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users) -> None:
    attempt = start_attempt(client, invite)
    data = hostile_notebook()
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", data)
    _grade_latest(app, _evaluator({"executed.ipynb": data}))
    _report(app, attempt)
    digest = hashlib.sha256(data).hexdigest()
    [cached] = (Path(app.config["HELDOUT_DATA_DIR"]) / "rendered").glob(f"{digest}.v*.json")
    # Served from the cache from now on: a marker written into it shows up in the report.
    kept = json.loads(cached.read_text())
    kept["html"] = kept["html"].replace("rows 1000", "rows from the cache")
    cached.write_text(json.dumps(kept))
    assert "rows from the cache" in _report(app, attempt)


def test_an_artefact_over_the_cap_is_listed_not_kept(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grading, "MAX_ARTEFACT_BYTES", 1000)
    attempt = start_attempt(client, invite)
    data = hostile_notebook()
    assert len(data) > 1000
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", EMPTY_NOTEBOOK)
    submission_id = _grade_latest(app, _evaluator({"executed.ipynb": data}))
    with app.app_context():
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission_id)).one()
        [entry] = record.artefacts
        assert entry["sha256"] is None and entry["size"] == len(data)
        assert "not kept" in entry["note"]
    blobs = Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"
    assert not (blobs / hashlib.sha256(data).hexdigest()[:2]
                / hashlib.sha256(data).hexdigest()).exists()
    page = _report(app, attempt)
    assert "executed.ipynb" in page and "not kept: over the" in page
    assert "nb-frame" not in page


def test_artefacts_a_remote_worker_cannot_send_back_make_a_retried_platform_error(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users) -> None:
    # A worker on another host stores artefacts through the web app; when that fails, the
    # submission is a platform error due for a retry, not "running" until its lease ends,
    # and no score is recorded without its artefacts.
    class Unreachable(BlobStore):
        def put(self, data: bytes) -> str:
            raise FilesUnavailable("PUT /internal/v1/blobs/…: connection refused")

    attempt = start_attempt(client, invite)
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", EMPTY_NOTEBOOK)
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        settings = dataclasses.replace(
            grading_settings(), blobs=Unreachable(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"))
        outcome = grading.grade_submission(submission_id, settings,
                                           evaluate=_evaluator({"executed.ipynb": b"{}"}))
        assert outcome.status == "internal_error" and outcome.retry_in == backoff(1)
        submission = db.session.get(Submission, submission_id)
        assert submission is not None
        assert submission.status == "internal_error" and submission.lease_owner is None
        assert submission.retry_at is not None and "artefacts could not be stored" in (
            submission.error or "")
        assert submission.evaluation is None


# --- deployment probe table --------------------------------------------------------------

PROBE = {
    "startup_seconds": 1.2,
    "rows": [
        {"request": "predict #1", "kind": "predict", "status": 200, "latency_ms": 12.0,
         "correct": "yes", "error": ""},
        {"request": "predict #2", "kind": "predict", "status": 200, "latency_ms": 30.0,
         "correct": "no", "error": "",
         "why": "wrong class: 0.7 is positive at the threshold 0.5; the label is negative"},
        {"request": "missing field <tenure>", "kind": "invalid", "status": 500,
         "latency_ms": 4.0, "correct": "no", "error": "<b>Internal Server Error</b>"},
        {"request": "burst #1", "kind": "burst", "status": None, "latency_ms": None,
         "correct": "no", "error": "connection reset"},
    ],
    "latency_p50_ms": 21.0,
    "latency_p95_ms": 260.0,
}


def test_the_report_shows_the_probe_table_with_latency_against_targets(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    _submit(client, attempt, SERVICE, "app.py", b"app = None\n")
    _grade_latest(app, _evaluator({"probe.json": json.dumps(PROBE).encode()}))
    page = _report(app, attempt)
    table = next(t for s in html.parse(page).find_all("section", cls="challenge-result")
                 for t in s.find_all("table", cls="probe-table"))
    rows = html.table_rows(table)
    assert [r["Status"].text() for r in rows] == ["200", "200", "500", "—"]
    assert [r["Latency"].text() for r in rows] == ["12.0 ms", "30.0 ms", "4.0 ms", "—"]
    assert [r["Correct"].text()[:1] for r in rows] == ["✓", "✗", "✗", "✗"]
    assert rows[1]["Correct"].text() == ("✗ wrong class: 0.7 is positive at the threshold 0.5; "
                                         "the label is negative")
    assert rows[2]["Request"].text().startswith("missing field <tenure>")  # escaped, shown
    assert "&lt;tenure&gt;" in page and "&lt;b&gt;Internal Server Error" in page
    # The grader's percentiles, against the bundle's targets (p50 50 ms, p95 200 ms).
    latency = {d.one("dt").text(): d.one("dd").text()
               for d in html.parse(page).one("dl", cls="probe-latency").find_all("div")}
    p50, p95 = latency["p50 latency"], latency["p95 latency"]
    assert p50.startswith("21.0 ms target 50 ms") and p50.endswith("✓")
    assert p95.startswith("260.0 ms target 200 ms") and p95.endswith("✗")
    assert "1 of 4 answered correctly" in page


def test_probe_artefact_as_a_plain_list_and_percentiles() -> None:
    rows = [{"label": f"r{i}", "status": 200, "latency_ms": float(i), "correct": True}
            for i in range(1, 21)]
    table = probe_table(json.dumps(rows).encode(), (10.0, 18.0))
    assert table.p50_ms == 10.0 and table.p95_ms == 19.0
    assert table.p50_met is True and table.p95_met is False
    assert percentile([5.0], 0.95) == 5.0
    assert ProbeTable(()).p50_ms is None and ProbeTable(()).p95_met is None
    with pytest.raises(ValueError, match="not a list"):
        probe_table(b'{"rows": 3}')


# --- sql query shapes --------------------------------------------------------------------

SHAPES = [
    {"name": "cohort_sizes", "status": "ok", "columns": ["cohort_month", "users"],
     "types": ["DATE", "BIGINT"], "rows": 12, "truncated": False,
     "expected_columns": ["cohort_month", "users"], "expected_types": ["DATE", "BIGINT"],
     "expected_rows": 12, "ordered": True, "matched": True},
    {"name": "retention", "status": "ok", "columns": ["cohort_month", "<rate>"],
     "types": ["DATE", "VARCHAR"], "rows": 40, "truncated": False,
     "expected_columns": ["cohort_month", "month_number", "retention"],
     "expected_types": ["DATE", "INTEGER", "DOUBLE"], "expected_rows": 78, "ordered": False,
     "matched": False},
    {"name": "top_plans", "status": "error", "columns": None, "types": None, "rows": None,
     "truncated": False, "expected_columns": ["plan"], "expected_types": ["VARCHAR"],
     "expected_rows": 3, "ordered": False, "matched": False},
]


def test_the_report_shows_each_querys_shape_next_to_the_expected_one(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    _submit(client, attempt, SQL, "query.sql", b"-- name: cohort_sizes\nSELECT 1;\n")
    _grade_latest(app, _evaluator({"queries.json": json.dumps(SHAPES).encode()}))
    page = _report(app, attempt)
    tree = html.parse(page)
    tables = {t.attrs["data-query"]: t for t in tree.find_all("table", cls="query-shape")}
    assert list(tables) == ["cohort_sizes", "retention", "top_plans"]
    good, bad, failed = (tables[n] for n in ("cohort_sizes", "retention", "top_plans"))
    assert "12 rows, expected 12 rows, order graded" in good.one("caption").text()
    assert "✓" in good.one("caption").text() and "✗" in bad.one("caption").text()
    rows = html.table_rows(bad)
    assert [(r["Expected column"].text(), r["Result column"].text()) for r in rows] == [
        ("cohort_month", "cohort_month"), ("month_number", "<rate>"), ("retention", "—")]
    assert [r["Expected type"].text() for r in rows] == ["DATE", "INTEGER", "DOUBLE"]
    assert "40 rows, expected 78 rows" in bad.one("caption").text()
    assert "no result (error)" in failed.one("caption").text()
    assert "&lt;rate&gt;" in page


# --- public runs as activity -------------------------------------------------------------

def test_public_runs_show_as_activity_never_as_submissions(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    _submit(client, attempt, SQL, "query.sql", b"-- name: cohort_sizes\nSELECT 1;\n")
    _grade_latest(app, _evaluator({}))
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", EMPTY_NOTEBOOK)
    _grade_latest(app, _evaluator({}))
    with app.app_context():
        row = db.session.scalars(select(Attempt).where(Attempt.public_id == attempt)).one()
        sql_challenge = next(c for c in row.invite.assessment.challenges if c.slug == SQL)
        service = next(c for c in row.invite.assessment.challenges if c.slug == SERVICE)
        start = utcnow() - timedelta(minutes=30)
        for minutes, status in ((0, "graded"), (5, "graded"), (9, "internal_error")):
            db.session.add(PublicRun(attempt_id=row.id, challenge_id=sql_challenge.id,
                                     challenge_slug=SQL, challenge_version=sql_challenge.version,
                                     status=status, files=[],
                                     created_at=start + timedelta(minutes=minutes)))
        db.session.add(PublicRun(attempt_id=row.id, challenge_id=service.id,
                                 challenge_slug=SERVICE, challenge_version=service.version,
                                 status="graded", files=[], created_at=start))
        db.session.commit()
    page = _report(app, attempt)
    sections = html.parse(page).find_all("section", cls="challenge-result")
    by_title = {s.one("h2").text(): s for s in sections}
    sql_section = next(s for t, s in by_title.items() if "ohort" in t or "etention" in t)
    activity = sql_section.one(cls="public-activity").text()
    assert activity.startswith("3 public-check runs while working")
    assert len(sql_section.one("ol", cls="activity-times").find_all("li")) == 3
    # Still one submission in its history: public runs are not submissions.
    [history] = [rows for table in sql_section.find_all("table")
                 if (rows := html.table_rows(table)) and "Submitted" in rows[0]]
    assert len(history) == 1
    # Public checks on a challenge never submitted still show, as activity.
    service_section = next(s for t, s in by_title.items() if "Not submitted." in s.text())
    assert service_section.one(cls="public-activity").text().startswith(
        "1 public-check run while working")
    notebook_section = next(s for t, s in by_title.items() if t.startswith("Explore churn"))
    assert "No public checks were run on this challenge." in notebook_section.text()
    assert notebook_section.find_all(cls="public-activity") == []


# --- the real worker, graders and sandbox ------------------------------------------------

@pytest.mark.docker
def test_notebook_challenge_end_to_end_in_the_real_sandbox(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        sandbox_image: str, html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    reference = REPO / "challenges" / NOTEBOOK / "solutions" / "reference" / "analysis.ipynb"
    submitted = nbformat.reads(reference.read_text(), as_version=4)
    # A candidate's output carrying markup: it must come back sanitised, not active.
    submitted.cells.append(new_code_cell(
        "from IPython.display import HTML, display\n"
        f"display(HTML({HOSTILE_HTML!r}))\nprint('<script>alert(7)</script>')"))
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", nbformat.writes(submitted).encode())
    submission_id = _grade_latest(app, None)  # the real graders and Docker sandbox
    with app.app_context():
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission_id)).one()
        assert record.score is not None and record.score >= 90, record.checks
        [entry] = [a for a in record.artefacts if a["name"] == "executed.ipynb"]
        executed = BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs").get(entry["sha256"])
    ran = nbformat.reads(executed.decode(), as_version=4)
    assert any(cell.get("outputs") for cell in ran.cells if cell.cell_type == "code")

    page = _report(app, attempt)
    frame = _notebook_frame(page)
    code_cells = [c for c in ran.cells if c.cell_type == "code"]
    assert frame.count('class="nb-cell') >= len(code_cells)
    # The executed outputs are there: the printed script tag as text, the HTML's safe text.
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in frame
    assert "<b>bold</b>" in frame and "fake score" in frame
    assert_inert(frame, html)
    # Every cell as it ran: each code cell's first line, and each printed output, in order.
    shown = re.sub(r"\s+", "", html.parse(frame).text())
    position = 0
    for cell in code_cells:
        first_line = re.sub(r"\s+", "", cell.source.strip().splitlines()[0]) if cell.source.strip() else ""
        found = shown.find(first_line, position)
        assert found >= 0, first_line
        position = found
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("text", "").strip():
                assert re.sub(r"\s+", "", output["text"])[:60] in shown, output["text"][:60]


@pytest.mark.docker
def test_sql_challenge_keeps_shapes_without_hidden_values(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        sandbox_image: str, html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    reference = REPO / "challenges" / SQL / "solutions" / "reference" / "query.sql"
    _submit(client, attempt, SQL, "query.sql", reference.read_bytes())
    submission_id = _grade_latest(app, None)
    with app.app_context():
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission_id)).one()
        [entry] = [a for a in record.artefacts if a["name"] == "queries.json"]
        shapes = json.loads(BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
                            .get(entry["sha256"]))
    assert shapes and all(s["matched"] for s in shapes), shapes
    expected_dir = REPO / "challenges" / SQL / "hidden" / "expected"
    text = json.dumps(shapes)
    for s in shapes:
        expected = json.loads((expected_dir / f"{s['name']}.json").read_text())
        assert s["expected_rows"] == len(expected["rows"]) == s["rows"]
        assert s["expected_columns"] == [c["name"] for c in expected["columns"]]
        # No hidden value is in the artefact: only names, types and counts.
        values = {json.dumps(v) for row in expected["rows"] for v in row
                  if isinstance(v, float) or (isinstance(v, str) and len(v) > 3)}
        assert not [v for v in values if v in text]
    page = _report(app, attempt)
    assert len(html.parse(page).find_all("table", cls="query-shape")) == len(shapes)


@pytest.mark.docker
def test_deployment_challenge_probe_table_end_to_end_in_the_real_sandbox(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        sandbox_image: str, html: ModuleType) -> None:
    attempt = start_attempt(client, invite)
    reference = REPO / "challenges" / SERVICE / "solutions" / "reference"
    response = client.post(
        f"/a/{attempt}/c/{SERVICE}/submit",
        data={"files": [(io.BytesIO(path.read_bytes()), path.name)
                        for path in sorted(reference.glob("*.py"))]},
        content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.text
    submission_id = _grade_latest(app, None)  # real build step, service and probe
    with app.app_context():
        record = db.session.scalars(select(EvaluationRecord).where(
            EvaluationRecord.submission_id == submission_id)).one()
        assert record.score is not None and record.score >= 85, record.checks
        [entry] = [a for a in record.artefacts if a["name"] == "probe.json"]
        probe = json.loads(BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs")
                           .get(entry["sha256"]))
    page = _report(app, attempt)
    [table] = html.parse(page).find_all("table", cls="probe-table")
    rows = html.table_rows(table)
    assert len(rows) == len(probe["rows"]) > 10
    assert [r["Status"].text() for r in rows] == [
        "—" if p["status"] is None else str(p["status"]) for p in probe["rows"]]
    assert [r["Correct"].text() for r in rows] == [
        "✓" if p["correct"] == "yes" else f"✗ {p['why']}".strip() for p in probe["rows"]]
    latency = {d.one("dt").text(): d.one("dd").text()
               for d in html.parse(page).one("dl", cls="probe-latency").find_all("div")}
    assert latency["p50 latency"].startswith(f"{probe['latency_p50_ms']:.1f} ms target 50 ms")
    assert latency["p95 latency"].startswith(f"{probe['latency_p95_ms']:.1f} ms target 200 ms")


def test_the_report_navigates_and_collapses_its_long_parts(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, assessment_id: int, invite: NewInvite, users,
        html: ModuleType) -> None:
    """Issue 19: a contents list, long lists collapsed with counts, the notebook shown once
    (executed, not also as raw JSON), gates read passed/failed rather than 0 / 0."""
    attempt = start_attempt(client, invite)
    _submit(client, attempt, NOTEBOOK, "analysis.ipynb", hostile_notebook())
    _grade_latest(app, _evaluator({"executed.ipynb": hostile_notebook()}))
    _submit(client, attempt, SERVICE, "app.py", b"app = None\n")
    _grade_latest(app, _evaluator({"probe.json": json.dumps(PROBE).encode()}))
    page = _report(app, attempt)
    tree = html.parse(page)
    contents = tree.one("nav", cls="report-contents")
    sections = tree.find_all("section", cls="challenge-result")
    assert len(sections) > 1
    links = [a.attrs["href"] for a in contents.find_all("a")]
    assert links == ["#" + s.one("h2").attrs["id"] for s in sections]

    notebook = _section(page, html, "Explore churn")
    files = notebook.one("details", cls="file-list")
    assert files.one("summary").text().startswith("0 files")
    assert "shown executed above" in files.one("summary").text()
    assert not [h for h in notebook.find_all("h4") if "analysis.ipynb" in h.text()]
    checks = html.table_rows(notebook.one("table", cls="checks"))
    gate = next(r for r in checks if r["Check"].text() == "runs-clean")
    assert gate["Points"].text() == "passed" and "0 / 0" not in page

    probes = tree.one("details", cls="probe-list")
    assert "open" not in probes.attrs
    sent = PROBE["rows"]
    assert isinstance(sent, list)
    assert probes.one("summary").text() == f"{len(sent)} requests"
    assert probes.one("table", cls="probe-table")
