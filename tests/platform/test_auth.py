"""Sign-in, sign-out, roles on every protected URL, session rotation and CSRF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Attempt
from heldout.platform.services import accounts

# (method, URL template, roles allowed besides admin, a valid form for a POST)
PROTECTED = [
    ("GET", "/assessments", {"recruiter", "interviewer"}, None),
    ("GET", "/assessments/new", {"recruiter"}, None),
    ("POST", "/assessments/new", {"recruiter"},
     {"name": "Role check", "challenges": "churn-prediction", "time_limit_minutes": "60"}),
    ("GET", "/assessments/{assessment}", {"recruiter"}, None),
    ("POST", "/assessments/{assessment}/invites", {"recruiter"},
     {"candidate_name": "Role Check", "candidate_email": "role.check@example.com"}),
    ("POST", "/invites/{invite}/revoke", {"recruiter"}, {}),
    # Recruiters read the candidates table and reports; interviewers also review.
    ("GET", "/assessments/{assessment}/candidates", {"recruiter", "interviewer"}, None),
    ("GET", "/assessments/{assessment}/candidates.csv", {"recruiter", "interviewer"}, None),
    ("GET", "/assessments/{assessment}/candidates.json", {"recruiter", "interviewer"}, None),
    ("GET", "/assessments/{assessment}/compare", {"recruiter", "interviewer"}, None),
    ("GET", "/attempts/{attempt}/report", {"recruiter", "interviewer"}, None),
    ("POST", "/attempts/{attempt}/review", {"interviewer"},
     {"level-correctness": "3", "level-ml_judgement": "3", "level-code_quality": "3",
      "level-communication": "3", "recommendation": "yes", "notes": "", "action": "submit"}),
]
ROLES = ("admin", "recruiter", "interviewer")


@pytest.fixture
def urls(app: Flask, assessment_id: int, invite, start, tmp_path: Path  # type: ignore[no-untyped-def]
         ) -> Callable[[str], str]:
    start(app.test_client(), invite)
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
    ids = {"assessment": assessment_id, "invite": invite.id, "attempt": attempt_id}
    return lambda template: template.format(**ids)


@pytest.mark.parametrize(("method", "template", "allowed", "form"), PROTECTED)
def test_anonymous_is_sent_to_sign_in(client: FlaskClient, urls: Callable[[str], str], method: str,
                                      template: str, allowed: set[str], form: dict[str, str] | None) -> None:
    response = client.open(urls(template), method=method, data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=" + quote(urls(template), safe="")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "allowed", "form"), PROTECTED)
def test_roles(client: FlaskClient, auth, urls: Callable[[str], str],  # type: ignore[no-untyped-def]
               role: str, method: str, template: str, allowed: set[str],
               form: dict[str, str] | None) -> None:
    auth.login(role)
    url = urls(template)
    # A valid form, and the page the action leads to: an allowed user gets the page itself,
    # never the sign-in page and never an error.
    response = client.open(url, method=method, data=form, follow_redirects=True)
    if role == "admin" or role in allowed:
        assert response.request.path != "/login", "an allowed user was sent to sign in"
        assert "Not allowed" not in response.text
        if method == "GET":
            assert response.status_code == 200, response.text
            assert response.request.path == url
        else:
            # 201: creating an invite answers with the page that shows its link.
            assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403
        assert "Not allowed" in response.text


def test_sign_in_and_out(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/login").status_code == 200
    response = auth.login("recruiter")
    assert response.status_code == 302
    assert client.get("/assessments").status_code == 200
    auth.logout()
    assert client.get("/assessments").status_code == 302


def test_wrong_password_is_refused(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"email": "recruiter@example.com", "password": "nope"})
    assert response.status_code == 401
    assert "don&#39;t match an account" in response.text
    assert client.get("/assessments").status_code == 302


def test_next_only_goes_to_this_site(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    data = {"email": "admin@example.com", "password": "correct horse battery"}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/assessments"
    response = client.post("/login?next=/assessments/new", data=data)
    assert response.headers["Location"] == "/assessments/new"


def test_password_change_ends_existing_sessions(app: Flask, client: FlaskClient, auth,  # type: ignore[no-untyped-def]
                                                users) -> None:
    auth.login("recruiter")
    assert client.get("/assessments").status_code == 200
    with app.app_context():
        accounts.set_password(users.recruiter, "a brand new password")
    assert client.get("/assessments").status_code == 302


def test_csrf_protects_every_form(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        accounts.create_user("r@example.com", "R", "recruiter", "correct horse battery")
    client = app.test_client()
    response = client.post("/login", data={"email": "r@example.com",
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert "This form expired" in response.text
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": "r@example.com", "csrf_token": token,
                                           "password": "correct horse battery"})
    assert response.status_code == 302


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_errors_answer_json_when_asked(client: FlaskClient) -> None:
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json is not None and response.json["title"] == "Not found"
    assert "Not found" in client.get("/nowhere").text
