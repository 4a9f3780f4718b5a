"""Admin pages for users and roles: list, create, disable/enable, reset, change role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import AuditEvent, User
from tests.platform.conftest import PASSWORD, Auth, Users, make_app

PASSWORD_FIELD = re.compile(r'id="new-password" class="mono" readonly value="([^"]+)"')


def _login(client: FlaskClient, email: str, password: str = PASSWORD) -> int:
    return client.post("/login", data={"email": email, "password": password}).status_code


def _signed_in(client: FlaskClient) -> bool:
    response = client.get("/assessments")
    return response.status_code == 200


def _shown_password(page: str) -> str:
    match = PASSWORD_FIELD.search(page)
    assert match, "the page shows no new password"
    return match.group(1)


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.parametrize("role", ["recruiter", "interviewer"])
def test_staff_who_are_not_admins_are_refused(client: FlaskClient, auth: Auth, users: Users,
                                              role: str) -> None:
    auth.login(role)
    for url in ("/admin/", "/admin/users", "/admin/users/new", f"/admin/users/{users.admin}",
                "/admin/teams", "/admin/audit", "/admin/health"):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/admin/users/{users.admin}/active", data={"active": "0"})
    assert response.status_code == 403
    with client.application.app_context():
        assert db.session.get(User, users.admin).active  # type: ignore[union-attr]


def test_anonymous_goes_to_sign_in(client: FlaskClient, users: Users) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_the_list_filters_by_role_and_status(app: Flask, client: FlaskClient, auth: Auth,
                                             users: Users) -> None:
    with app.app_context():
        db.session.get(User, users.interviewer).active = False  # type: ignore[union-attr]
        db.session.commit()
    auth.login("admin")
    page = client.get("/admin/users").text
    assert all(f"{r}@example.com" in page for r in ("admin", "recruiter", "interviewer"))
    page = client.get("/admin/users?role=recruiter").text
    assert "recruiter@example.com" in page and "interviewer@example.com" not in page
    page = client.get("/admin/users?state=disabled").text
    assert "interviewer@example.com" in page and "recruiter@example.com" not in page
    page = client.get("/admin/users?role=admin&state=disabled").text
    assert "No users match" in page


def test_create_a_user_shows_the_password_once_and_it_works(app: Flask, client: FlaskClient,
                                                           auth: Auth) -> None:
    auth.login("admin")
    response = client.post("/admin/users/new", data={
        "name": "Nia New", "email": " Nia@Example.com ", "role": "interviewer"},
        headers={"User-Agent": "admin-browser/1.0"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    password = _shown_password(page)
    assert "Nia New" in page and "nia@example.com" in page
    # Post/redirect/get: a reload shows the account, never the password again.
    assert password not in client.get(response.headers["Location"]).text

    other = app.test_client()
    assert _login(other, "nia@example.com", password) == 302
    assert other.get("/assessments").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "nia@example.com"))
        assert user is not None and user.role == "interviewer"
        assert password not in user.password_hash
    [event] = _events(app, "user.create")
    assert event.actor_label == "admin@example.com" and event.detail["role"] == "interviewer"
    assert event.ip == "127.0.0.1" and event.user_agent == "admin-browser/1.0"


def test_create_refuses_a_taken_email_and_a_bad_role(client: FlaskClient, auth: Auth) -> None:
    auth.login("admin")
    response = client.post("/admin/users/new", data={
        "name": "Again", "email": "recruiter@example.com", "role": "recruiter"})
    assert response.status_code == 400 and "already has an account" in response.text
    assert 'value="Again"' in response.text  # the form keeps what was typed
    response = client.post("/admin/users/new", data={
        "name": "Root", "email": "root@example.com", "role": "superuser"})
    assert response.status_code == 400 and "Choose a role" in response.text


def test_disable_ends_the_sessions_and_enable_lets_them_back(app: Flask, client: FlaskClient,
                                                            auth: Auth, users: Users) -> None:
    recruiter = app.test_client()
    assert _login(recruiter, "recruiter@example.com") == 302 and _signed_in(recruiter)
    auth.login("admin")
    response = client.post(f"/admin/users/{users.recruiter}/active", data={"active": "0"})
    assert response.status_code == 303
    assert "disabled" in client.get(f"/admin/users/{users.recruiter}").text
    assert not _signed_in(recruiter)
    assert _login(recruiter, "recruiter@example.com") == 401

    client.post(f"/admin/users/{users.recruiter}/active", data={"active": "1"})
    assert _login(recruiter, "recruiter@example.com") == 302 and _signed_in(recruiter)
    assert [e.action for e in _events(app, "user.disable") + _events(app, "user.enable")] == [
        "user.disable", "user.enable"]


def test_reset_password_ends_sessions_and_only_the_new_one_works(
        app: Flask, client: FlaskClient, auth: Auth, users: Users) -> None:
    interviewer = app.test_client()
    assert _login(interviewer, "interviewer@example.com") == 302 and _signed_in(interviewer)
    auth.login("admin")
    response = client.post(f"/admin/users/{users.interviewer}/password")
    assert response.status_code == 303
    password = _shown_password(client.get(response.headers["Location"]).text)
    assert not _signed_in(interviewer)
    assert _login(interviewer, "interviewer@example.com") == 401
    assert _login(interviewer, "interviewer@example.com", password) == 302
    assert len(_events(app, "user.password_reset")) == 1


def test_change_role_takes_effect_on_the_next_request(app: Flask, client: FlaskClient,
                                                      auth: Auth, users: Users) -> None:
    recruiter = app.test_client()
    _login(recruiter, "recruiter@example.com")
    assert recruiter.get("/assessments/new").status_code == 200
    auth.login("admin")
    response = client.post(f"/admin/users/{users.recruiter}/role", data={"role": "interviewer"})
    assert response.status_code == 303
    assert recruiter.get("/assessments/new").status_code == 403
    [event] = _events(app, "user.role")
    assert event.detail == {"email": "recruiter@example.com", "from": "recruiter",
                            "to": "interviewer"}
    response = client.post(f"/admin/users/{users.recruiter}/role", data={"role": "owner"})
    assert response.status_code == 400


def test_an_admin_cannot_lock_themselves_out(app: Flask, client: FlaskClient, auth: Auth,
                                             users: Users) -> None:
    auth.login("admin")
    assert client.post(f"/admin/users/{users.admin}/active",
                       data={"active": "0"}).status_code == 403
    assert client.post(f"/admin/users/{users.admin}/role",
                       data={"role": "recruiter"}).status_code == 403
    with app.app_context():
        admin = db.session.get(User, users.admin)
        assert admin is not None and admin.active and admin.role == "admin"
    assert client.get("/admin/users/999999").status_code == 404


def test_admin_forms_need_the_csrf_token(tmp_path: Path, challenges_dir: Path) -> None:
    app = make_app(tmp_path, challenges_dir, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from werkzeug.security import generate_password_hash

        for role in ("admin", "recruiter"):
            db.session.add(User(email=f"{role}@example.com", name=role, role=role,
                                password_hash=generate_password_hash(PASSWORD,
                                                                     "pbkdf2:sha256:1000")))
        db.session.commit()
        recruiter_id = db.session.scalar(select(User.id).where(User.role == "recruiter"))
    client = app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    assert token
    client.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                "csrf_token": token.group(1)})
    refused = client.post(f"/admin/users/{recruiter_id}/active", data={"active": "0"})
    assert refused.status_code == 400
    page = client.get(f"/admin/users/{recruiter_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    done = client.post(f"/admin/users/{recruiter_id}/active",
                       data={"active": "0", "csrf_token": token.group(1)})
    assert done.status_code == 303
    with app.app_context():
        assert not db.session.get(User, recruiter_id).active  # type: ignore[union-attr]
        db.engine.dispose()
