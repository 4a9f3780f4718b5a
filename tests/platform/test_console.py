"""The run console: a public run of another mode, over HTTP, the queue and the real sandbox."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.graders.console_input import MAX_INPUT_CHARS
from heldout.graders.result import Evaluation
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, PublicRun, Submission
from heldout.platform.queue import get_queue
from heldout.platform.services import assessments
from heldout.platform.services.public_runs import PUBLIC_RUNS
from heldout.platform.services.scoring import GradingStatus
from tests.platform.conftest import Users, make_app, start_attempt

REPO = Path(__file__).resolve().parents[2]
SLUGS = ("retention-cohorts", "metrics-from-scratch", "churn-service", "churn-prediction",
         "churn-eda-notebook")
SQL, FUNCTION, SERVICE, TRAINING, NOTEBOOK = SLUGS


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("challenges")
    for slug in SLUGS:
        shutil.copytree(REPO / "challenges" / slug, root / slug)
    return root


@pytest.fixture
def app(tmp_path: Path, every_kind: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    app = make_app(tmp_path, every_kind, **getattr(request, "param", {}))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def assessment_id(app: Flask, users: Users) -> int:
    with app.app_context():
        return assessments.create_assessment(
            name="Every kind", challenge_slugs=list(SLUGS), time_limit_minutes=120,
            instructions="", expires_at=None, show_scores=True,
            created_by_id=users.recruiter).id


def _console(client: FlaskClient, attempt: str, slug: str, **fields: Any) -> Any:
    return client.post(f"/a/{attempt}/c/{slug}/console", data=fields)


def _runs(app: Flask) -> list[PublicRun]:
    with app.app_context():
        rows = list(db.session.scalars(select(PublicRun).order_by(PublicRun.id)))
        db.session.expunge_all()
        return rows


def _finish(app: Flask, run: PublicRun) -> None:
    with app.app_context():
        row = db.session.get(PublicRun, run.id)
        assert row is not None
        row.status = GradingStatus.GRADED
        row.evaluation = Evaluation(row.challenge_slug, row.challenge_version, "graded", 0.0,
                                    split="public").as_dict()
        db.session.commit()


# --- over HTTP ----------------------------------------------------------------------------

def test_the_console_is_in_the_output_tab_per_kind(client: FlaskClient, attempt: str) -> None:
    page = client.get(f"/a/{attempt}/c/{SQL}").text
    assert f'action="/a/{attempt}/c/{SQL}/console"' in page
    assert 'name="query"' in page and "SELECT * FROM users LIMIT 10" in page
    assert "Runs one query against the public tables" in page
    page = client.get(f"/a/{attempt}/c/{FUNCTION}").text
    assert 'name="function"' in page and 'name="arguments"' in page
    assert '<option value="roc_auc">' in page
    page = client.get(f"/a/{attempt}/c/{SERVICE}").text
    assert 'name="method"' in page and 'value="/predict"' in page
    page = client.get(f"/a/{attempt}/c/{TRAINING}").text
    assert "Runs your entrypoint (solution.py) on the public data" in page
    assert 'name="query"' not in page and 'name="arguments"' not in page


def test_a_console_run_is_a_queued_public_run_never_a_submission(
        app: Flask, client: FlaskClient, attempt: str) -> None:
    response = _console(client, attempt, FUNCTION, function="roc_auc",
                        arguments="[0, 1], [0.2, 0.9]", code="def roc_auc(y, s):\n    return 1\n")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/a/{attempt}/c/{FUNCTION}#run-output")
    [run] = _runs(app)
    assert run.status == "queued" and run.console is not None
    assert (run.console["mode"], run.console["function"], run.console["args"]) == (
        "call", "roc_auc", [[0, 1], [0.2, 0.9]])
    assert [f["name"] for f in run.files] == ["solution.py"]
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []
        assert [(t.name, t.args) for t in get_queue().huey.pending()] == [
            (PUBLIC_RUNS.kind, (run.id,))]
    page = client.get(f"/a/{attempt}/c/{FUNCTION}").text
    # Followed live like a public run; the checks' panel still says they were never run.
    assert f'data-public-run-url="/a/{attempt}/public-runs/{run.id}"' in page
    assert "Not run yet" in page
    state = client.get(f"/a/{attempt}/c/{FUNCTION}/state").json
    assert state is not None and state["public_run"] is None
    assert state["console_run"]["id"] == run.id and state["final"] is False
    status = client.get(f"/a/{attempt}/public-runs/{run.id}").json
    assert status is not None and "console-run" in status["html"]
    # And a run of the checks is not taken for a console run.
    _finish(app, run)
    assert client.post(f"/a/{attempt}/c/{FUNCTION}/public-run",
                       data={"code": "x = 1\n"}).status_code == 302
    checks = _runs(app)[-1]
    assert checks.console is None
    with app.app_context():
        assert db.session.scalars(select(PublicRun).where(PublicRun.console.is_(None))).all()
    page = client.get(f"/a/{attempt}/c/{FUNCTION}").text
    assert "Not run yet" not in page and f'data-console-run-id="{run.id}"' in page


def test_without_the_editors_text_the_saved_draft_runs(app: Flask, client: FlaskClient,
                                                      attempt: str) -> None:
    saved = client.post(f"/a/{attempt}/c/{FUNCTION}/draft", json={
        "files": [{"name": "solution.py", "content": "def roc_auc(y, s):\n    return 2\n"}]})
    assert saved.status_code == 200
    assert _console(client, attempt, FUNCTION, function="roc_auc",
                    arguments="[0], [1]").status_code == 302
    [run] = _runs(app)
    with app.app_context():
        from heldout.platform.views.common import blob_store

        assert b"return 2" in blob_store().get(run.files[0]["sha256"])


@pytest.mark.parametrize("slug, fields, says", [
    (FUNCTION, {"function": "roc_auc", "arguments": "__import__('os').system('id')"},
     "is not a literal"),
    (FUNCTION, {"function": "roc_auc", "arguments": "[1, 2"}, "could not be read"),
    (FUNCTION, {"function": "os.system", "arguments": ""}, "Name the function"),
    (SQL, {"query": ""}, "Type a query"),
    (SQL, {"query": "SELECT 1 " * MAX_INPUT_CHARS}, "the console takes up to"),
    (SERVICE, {"method": "POST", "path": "/predict", "body": "{not json"}, "not JSON"),
    (SERVICE, {"method": "GET", "path": "http://169.254.169.254/"}, "must start with /"),
])
def test_malformed_input_is_refused_clearly_and_nothing_runs(
        app: Flask, client: FlaskClient, attempt: str, slug: str, fields: dict[str, str],
        says: str) -> None:
    response = _console(client, attempt, slug, **fields)
    assert response.status_code == 400
    assert says in response.text.replace("&#34;", '"').replace("&#39;", "'")
    assert "Nothing was run" in response.text
    if "query" in fields and len(fields["query"]) < 100:
        assert f">{fields['query']}</textarea>" in response.text  # what was typed stays
    assert _runs(app) == []


def test_one_run_at_a_time_shared_with_the_public_checks(app: Flask, client: FlaskClient,
                                                        attempt: str) -> None:
    assert client.post(f"/a/{attempt}/c/{SQL}/public-run",
                       data={"code": "-- name: x\nselect 1"}).status_code == 302
    response = _console(client, attempt, SQL, query="SELECT 42")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "has not finished yet" in response.text
    assert ">SELECT 42</textarea>" in response.text
    [checks] = _runs(app)
    _finish(app, checks)
    assert _console(client, attempt, SQL, query="SELECT 42").status_code == 302
    assert client.post(f"/a/{attempt}/c/{SQL}/public-run",
                       data={"code": "-- name: x\nselect 1"}).status_code == 429


@pytest.mark.parametrize("app", [{"HELDOUT_PUBLIC_RUN_LIMIT": "2 per minute"}], indirect=True)
def test_rate_limited_with_the_public_checks(app: Flask, client: FlaskClient,
                                            attempt: str) -> None:
    for _ in range(2):
        assert _console(client, attempt, SQL, query="SELECT 1").status_code == 302
        _finish(app, _runs(app)[-1])
    response = _console(client, attempt, SQL, query="SELECT 2")
    assert response.status_code == 429 and "limited to 2 per minute" in response.text
    assert len(_runs(app)) == 2


def test_only_the_attempts_browser_reaches_it(app: Flask, client: FlaskClient, attempt: str,
                                              make_invite: Any) -> None:
    assert _console(client, attempt, SQL, query="SELECT 1").status_code == 302
    [run] = _runs(app)
    stranger = app.test_client()
    assert _console(stranger, attempt, SQL, query="SELECT 1").status_code == 404
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    assert _console(staff, attempt, SQL, query="SELECT 1").status_code == 404
    assert staff.get(f"/a/{attempt}/public-runs/{run.id}").status_code == 404
    other = app.test_client()
    other_attempt = start_attempt(other, make_invite("Olga", "olga@example.org"))
    # Their own attempt's URL, someone else's run id: not found; the other attempt's URL: 404.
    assert other.get(f"/a/{other_attempt}/public-runs/{run.id}").status_code == 404
    assert _console(other, attempt, SQL, query="SELECT 1").status_code == 404
    assert len(_runs(app)) == 1


# --- the real worker task, graders and Docker sandbox ------------------------------------

def _execute_next(app: Flask) -> PublicRun:
    with app.app_context():
        huey = get_queue().huey
        task = huey.dequeue()
        assert task is not None and task.name == PUBLIC_RUNS.kind
        huey.execute(task)  # the real task: graders' evaluate(console=…), real sandbox
    run = _runs(app)[-1]
    assert run.status == "graded", run.error
    return run


def _reference(slug: str, entrypoint: str) -> dict[str, Any]:
    """The reference solution's files as the page's script sends the editor's tabs."""
    folder = REPO / "challenges" / slug / "solutions" / "reference"
    others = [p for p in sorted(folder.iterdir()) if p.name != entrypoint]
    return {"code": (folder / entrypoint).read_text(), "code_name": entrypoint,
            "extra_name": [p.name for p in others], "extra_code": [p.read_text() for p in others]}


@pytest.mark.docker
def test_real_sql_console_shows_a_grid(app: Flask, client: FlaskClient, attempt: str,
                                       sandbox_image: str) -> None:
    assert _console(client, attempt, SQL, query="SELECT user_id, plan, NULL AS nothing "
                    "FROM users ORDER BY user_id").status_code == 302
    run = _execute_next(app)
    assert run.output is not None and run.output["console"]["row_count"] > 100
    page = client.get(f"/a/{attempt}/c/{SQL}").text
    grid = page.split('class="result-grid"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<span class=\"mono\">user_id</span> <span class=\"col-type\">"
                     r"(INTEGER|BIGINT)</span>", grid)
    assert grid.count("<tr>") == 101  # the head and the first 100 rows
    assert '<td class="mono null">NULL</td>' in grid
    assert "rows; the first 100 shown" in page
    status = client.get(f"/a/{attempt}/public-runs/{run.id}").json
    assert status is not None and status["final"] and "result-grid" in status["html"]


@pytest.mark.docker
@pytest.mark.parametrize("slug, entrypoint, fields, shows", [
    (FUNCTION, "solution.py",
     {"function": "roc_auc", "arguments": "[0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]"}, "returned"),
    (SERVICE, "app.py", {"method": "POST", "path": "/predict", "body": "{}"}, "HTTP 4"),
    (TRAINING, "solution.py", {}, "5-fold cross-validated ROC AUC"),
])
def test_real_console_run_of_each_kind(app: Flask, client: FlaskClient, attempt: str,
                                       sandbox_image: str, slug: str, entrypoint: str,
                                       fields: dict[str, str], shows: str) -> None:
    data = {**fields, **_reference(slug, entrypoint)}
    assert _console(client, attempt, slug, **data).status_code == 302
    run = _execute_next(app)
    assert run.output is not None and "console" in run.output
    page = client.get(f"/a/{attempt}/c/{slug}").text
    assert shows in page
    if slug == FUNCTION:
        assert "<pre class=\"log\" tabindex=\"0\">0.75</pre>" in page


@pytest.mark.docker
def test_real_sql_public_checks_show_the_candidates_rows(app: Flask, client: FlaskClient,
                                                         attempt: str, sandbox_image: str) -> None:
    starter = (REPO / "challenges" / SQL / "solutions" / "counts-events" / "query.sql").read_text()
    assert client.post(f"/a/{attempt}/c/{SQL}/public-run",
                       data={"code": starter}).status_code == 302
    run = _execute_next(app)
    assert run.output is not None
    queries = run.output["queries"]
    assert queries and all("preview" in q for q in queries)
    page = client.get(f"/a/{attempt}/c/{SQL}").text
    assert "Your rows, query by query" in page and "result-grid" in page
    # The expected shape is shown, never an expected row beyond the check's own detail.
    assert "Expected: " in page
    expected = json.loads((REPO / "challenges" / SQL / "public" / "expected" /
                           f"{queries[0]['name']}.json").read_text())
    assert len(expected["rows"]) == queries[0]["expected_rows"]


def test_the_interviewer_sees_console_runs_marked_as_such(app: Flask, client: FlaskClient,
                                                          attempt: str) -> None:
    assert client.post(f"/a/{attempt}/c/{SQL}/public-run",
                       data={"code": "-- name: x\nselect 1"}).status_code == 302
    _finish(app, _runs(app)[-1])
    assert _console(client, attempt, SQL, query="SELECT 1").status_code == 302
    _finish(app, _runs(app)[-1])
    staff = app.test_client()
    staff.post("/login", data={"email": "interviewer@example.com",
                               "password": "correct horse battery"})
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)
                                        .where(Attempt.public_id == attempt)).one()
    page = staff.get(f"/attempts/{attempt_id}/report").text
    assert "<strong>2</strong> public-check runs while working" in page
    assert page.count("(run console)") == 1


def test_an_upload_only_challenge_runs_the_uploaded_file_or_else_the_starter(
        app: Flask, client: FlaskClient, attempt: str) -> None:
    # A notebook is edited in the page now (its cell editor), so the console has no file
    # field of its own there; an upload posted to it still runs as it did.
    page = client.get(f"/a/{attempt}/c/{NOTEBOOK}").text
    assert 'data-notebook="yes"' in page and 'id="console-files"' not in page
    notebook = (REPO / "challenges" / NOTEBOOK / "solutions" / "reference" /
                "analysis.ipynb").read_bytes()
    response = client.post(f"/a/{attempt}/c/{NOTEBOOK}/console",
                           data={"files": [(io.BytesIO(notebook), "analysis.ipynb")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    uploaded = _runs(app)[-1]
    assert uploaded.console is not None and uploaded.console["mode"] == "run"
    _finish(app, uploaded)
    assert _console(client, attempt, NOTEBOOK).status_code == 302
    starter = _runs(app)[-1]
    assert [f["name"] for f in starter.files] == ["analysis.ipynb"]
    assert starter.files[0]["sha256"] != uploaded.files[0]["sha256"]
