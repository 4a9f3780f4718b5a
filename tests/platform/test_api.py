"""The home of JSON (views/api/): one way in, one error shape, services that never read the
request. Errors under the API blueprint are problem documents (RFC 9457) whatever the client
accepts; the rest of the site answers them to clients that ask for JSON."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.services import live

SLUG = "churn-prediction"
SERVICES = Path(__file__).resolve().parents[2] / "platform" / "heldout" / "platform" / "services"
PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    """``response`` is the problem document of ``status`` named ``kind``, about its URL."""
    assert response.status_code == status, response.text
    assert response.mimetype == PROBLEM, response.mimetype
    body: dict[str, Any] = response.get_json()
    assert body["type"] == f"/api/problems/{kind}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.path
    return body


def draft(files: dict[str, str]) -> dict[str, Any]:
    return {"files": [{"name": name, "content": text} for name, text in files.items()]}


# --- the error shape ---------------------------------------------------------------------------

def test_not_found_under_the_api_is_a_problem_whatever_is_accepted(client: FlaskClient,
                                                                   attempt: str) -> None:
    for accept in ("application/json", "text/html", "*/*"):
        response = client.get(f"/a/{attempt}/submissions/999999", headers={"Accept": accept})
        assert_problem(response, 404, "not-found")


def test_a_method_the_route_does_not_take_is_a_problem_with_allow(client: FlaskClient,
                                                                  attempt: str) -> None:
    response = client.post(f"/a/{attempt}/c/{SLUG}/state", headers={"Accept": "text/html"})
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]


def test_nobody_signed_in_asking_for_json_gets_401(client: FlaskClient,
                                                   assessment_id: int) -> None:
    url = f"/assessments/{assessment_id}/candidates.json"
    assert_problem(client.get(url, headers={"Accept": "application/json"}), 401, "unauthorized")
    # A person following the page's download link is sent to sign in, as before.
    followed = client.get(url, headers={"Accept": "text/html"})
    assert followed.status_code == 302 and "/login" in followed.headers["Location"]


def test_another_teams_export_is_not_found(client: FlaskClient, auth: Any,
                                           assessment_id: int, app: Flask) -> None:
    from heldout.platform.extensions import db
    from heldout.platform.models import Assessment, Team

    with app.app_context():
        team = Team(name="Other", slug="other")
        db.session.add(team)
        db.session.flush()
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        assessment.team_id = team.id
        db.session.commit()
    auth.login("interviewer")  # in no team: the default team's work only
    response = client.get(f"/assessments/{assessment_id}/candidates.json",
                          headers={"Accept": "application/json"})
    assert_problem(response, 404, "not-found")
    auth.login("admin")
    assert client.get(f"/assessments/{assessment_id}/candidates.json").status_code == 200


def test_a_closed_attempt_refuses_a_draft_with_409(client: FlaskClient, attempt: str) -> None:
    assert client.post(f"/a/{attempt}/finish").status_code == 302
    response = client.post(f"/a/{attempt}/c/{SLUG}/draft", json=draft({"solution.py": "x"}))
    assert_problem(response, 409, "attempt-closed")


def test_a_body_over_the_upload_limit_is_a_413_problem(app: Flask, client: FlaskClient,
                                                       attempt: str) -> None:
    app.config.update(HELDOUT_MAX_UPLOAD_MB=1, MAX_CONTENT_LENGTH=1024 * 1024)
    too_big = draft({"solution.py": "x" * (1024 * 1024 + 1)})
    response = client.post(f"/a/{attempt}/c/{SLUG}/draft", json=too_big)
    assert_problem(response, 413, "upload-too-large")


def test_too_many_autosaves_is_a_429_problem_with_retry_after(app: Flask, client: FlaskClient,
                                                              attempt: str) -> None:
    app.config["HELDOUT_AUTOSAVE_LIMIT"] = "1 per minute"
    url = f"/a/{attempt}/c/{SLUG}/draft"
    assert client.post(url, json=draft({"solution.py": "a = 1\n"})).status_code == 200
    refused = client.post(url, json=draft({"solution.py": "a = 2\n"}))
    body = assert_problem(refused, 429, "too-many-submissions")
    assert int(refused.headers["Retry-After"]) >= 1
    assert "saved again" in body["hint"]


def test_a_server_fault_is_a_500_problem(app: Flask, client: FlaskClient, attempt: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(live, "workspace_state", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers
    response = client.get(f"/a/{attempt}/c/{SLUG}/state")
    body = assert_problem(response, 500, "internal-server-error")
    assert "a bug" not in response.text and "Traceback" not in body["detail"]


def test_pages_answer_problems_to_json_clients_and_html_to_browsers(client: FlaskClient) -> None:
    assert_problem(client.get("/nowhere", headers={"Accept": "application/json"}), 404,
                   "not-found")
    page = client.get("/nowhere", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_json_routes_answer_as_before(client: FlaskClient, attempt: str) -> None:
    """The moved routes keep their addresses and bodies (the pages' scripts call them)."""
    saved = client.post(f"/a/{attempt}/c/{SLUG}/draft", json=draft({"solution.py": "b = 1\n"}))
    assert saved.status_code == 200 and saved.json is not None
    assert saved.json["files"] == ["solution.py"] and saved.json["changed"] is True
    opened = client.get(f"/a/{attempt}/c/{SLUG}/draft").json
    assert opened is not None and opened["source"] == "draft"
    state = client.get(f"/a/{attempt}/c/{SLUG}/state").json
    assert state is not None and state["submissions"] == [] and state["final"] is True


# --- services take what they need as arguments -------------------------------------------------

# What a service must never reach for: the request, the session, the signed-in user.
REQUEST_STATE = {"flask": {"request", "session", "current_user", "has_request_context", "g"},
                 "flask_login": {"current_user"}}


def request_reads(source: str) -> list[str]:
    """Each import of request state in ``source``, and each ``flask.request``-style use."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in REQUEST_STATE:
            found += [f"from {node.module} import {alias.name}" for alias in node.names
                      if alias.name in REQUEST_STATE[node.module]]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in REQUEST_STATE and node.attr in REQUEST_STATE[node.value.id]:
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_the_check_finds_a_service_reading_the_request() -> None:
    assert request_reads("from flask import current_app, request\n") == [
        "from flask import request"]
    assert request_reads("from flask_login import current_user\n") == [
        "from flask_login import current_user"]
    assert request_reads("import flask\nwho = flask.session.get('x')\n") == ["flask.session"]
    assert request_reads("from flask import render_template\n") == []


def test_no_service_reads_the_request() -> None:
    modules = sorted(SERVICES.glob("*.py"))
    assert len(modules) > 10
    readers = {path.name: found for path in modules
               if (found := request_reads(path.read_text(encoding="utf-8")))}
    assert readers == {}, ("services must take what they need as arguments (the viewer, the "
                           f"origin), not read the request: {readers}")
