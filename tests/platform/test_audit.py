"""The audit log: what is recorded, from where, and the admin page that reads it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.cli import main
from heldout.platform.extensions import db
from heldout.platform.models import AuditEvent, Invite, User, utcnow
from heldout.platform.services import audit, invites, reviews
from tests.platform.conftest import PASSWORD, SECRET, Auth, NewInvite, Users

ROWS = re.compile(r"<tr>\s*<td class=\"mono small\">")


def _events(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query))


def test_sign_ins_are_recorded_with_address_and_browser(app: Flask, client: FlaskClient,
                                                        users: Users) -> None:
    agent = {"User-Agent": "Mozilla/5.0 (X11; Linux) test-browser"}
    client.post("/login", data={"email": "recruiter@example.com", "password": "wrong one!"},
                headers=agent)
    client.post("/login", data={"email": "nobody@example.com", "password": "whatever12"},
                headers=agent)
    # A forged header is not believed: no trusted proxy is configured.
    client.post("/login", data={"email": "Recruiter@Example.com", "password": PASSWORD},
                headers={**agent, "X-Forwarded-For": "203.0.113.9"})
    failures = _events(app, "login.failure")
    assert [(e.actor_id, e.actor_label) for e in failures] == [
        (None, "recruiter@example.com"), (None, "nobody@example.com")]
    [success] = _events(app, "login.success")
    assert success.actor_id == users.recruiter and success.target_id == str(users.recruiter)
    assert success.ip == "127.0.0.1" and success.user_agent == agent["User-Agent"]
    assert all(e.created_at.tzinfo is not None for e in [*failures, success])


def test_invites_created_and_revoked_are_recorded(app: Flask, client: FlaskClient, auth: Auth,
                                                  assessment_id: int, invite: NewInvite) -> None:
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Dee", "candidate_email": "dee@example.org"})
    assert response.status_code == 303
    [created] = _events(app, "invite.create")
    assert created.actor_label == "recruiter@example.com" and created.target_type == "invite"
    client.post(f"/invites/{invite.id}/revoke")
    [revoked] = _events(app, "invite.revoke")
    assert revoked.target_id == str(invite.id) and revoked.ip == "127.0.0.1"


def test_the_log_page_filters_and_pages(app: Flask, client: FlaskClient, auth: Auth,
                                        users: Users) -> None:
    with app.app_context():
        admin = db.session.get(User, users.admin)
        for n in range(120):
            db.session.add(AuditEvent(
                actor_id=users.recruiter, actor_label="recruiter@example.com",
                action="invite.create" if n % 2 else "invite.revoke", target_type="invite",
                target_id=str(n), detail={"n": n}, ip="10.0.0.1",
                created_at=datetime(2026, 11, 1 + n % 20, 12, tzinfo=UTC)))
        audit.record(admin, "user.role", "user", users.recruiter,
                     {"email": "<script>alert(1)</script>"}, origin=audit.Origin("10.0.0.2", "ua"))
    auth.login("admin")
    page = client.get("/admin/audit").text
    assert "122 events" in page  # 120, the role change and the admin's own sign-in
    assert len(ROWS.findall(page)) == audit.PAGE_SIZE
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'rel="next"' in page

    last = client.get("/admin/audit?action=invite.create&page=99").text
    assert "60 events" in last and "page 2 of 2" in last
    assert len(ROWS.findall(last)) == 10 and 'rel="prev"' in last
    newer = re.search(r'<a href="([^"]+)" rel="prev">Newer</a>', last)
    assert newer and "page=1" in newer.group(1) and "action=invite.create" in newer.group(1)

    filtered = client.get("/admin/audit?actor=admin@&action=user.role").text
    assert "1 event." in filtered and "changed a user&#39;s role" in filtered

    # 1-20 November, one event per (day, n): from the 3rd to the 4th inclusive is 12 events.
    ranged = client.get("/admin/audit?since=2026-11-03&until=2026-11-04").text
    assert "12 events" in ranged

    bad = client.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "Dates look like" in bad.text
    nothing = client.get("/admin/audit?actor=nobody-at-all").text
    assert "No events match" in nothing


def test_the_log_is_append_only_and_for_admins(app: Flask, client: FlaskClient, auth: Auth,
                                               users: Users) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "admin.audit_log" or "audit" in rule.rule:
            assert (rule.methods or set()) <= {"GET", "HEAD", "OPTIONS"}, rule.rule
    auth.login("admin")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert client.open("/admin/audit", method=method).status_code == 405
    auth.logout()
    for role in ("recruiter", "interviewer"):
        auth.login(role)
        assert client.get("/admin/audit").status_code == 403
        auth.logout()
    assert not any(name.startswith(("delete", "update", "edit")) for name in dir(audit))


def test_account_changes_from_the_command_line_are_recorded(app: Flask, users: Users) -> None:
    env = {"HELDOUT_ENV": "testing", "HELDOUT_DATA_DIR": app.config["HELDOUT_DATA_DIR"],
           "HELDOUT_DATABASE_URL": app.config["HELDOUT_DATABASE_URL"],
           "HELDOUT_CHALLENGES_DIR": app.config["HELDOUT_CHALLENGES_DIR"],
           "HELDOUT_QUEUE_URL": "memory://", "HELDOUT_SECRET_KEY": "cli-test"}
    runner = CliRunner()
    for args, stdin in ((["users", "disable", "recruiter@example.com"], None),
                        (["users", "enable", "recruiter@example.com"], None),
                        (["users", "set-password", "interviewer@example.com",
                          "--password-stdin"], "a new long password\n")):
        result = runner.invoke(main, args, env=env, input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    events = [(e.action, e.target_id, e.actor_id, e.actor_label) for e in _events(app)]
    assert events == [
        ("user.disable", str(users.recruiter), None, "heldout command"),
        ("user.enable", str(users.recruiter), None, "heldout command"),
        ("user.password_reset", str(users.interviewer), None, "heldout command")]


def test_invite_actions_reviews_and_exports_are_recorded(
        app: Flask, client: FlaskClient, auth: Auth, assessment_id: int,
        invite: NewInvite, attempt: str) -> None:
    other = app.test_client()
    other.post("/login", data={"email": "recruiter@example.com", "password": PASSWORD})
    with app.app_context():
        fresh = invites_of(assessment_id)
        attempt_id = db.session.get(Invite, invite.id).attempt.id  # type: ignore[union-attr]
        rubric = reviews.rubric_for_attempt(attempt_id)
    csv_rows = "name,email\nAda Lovelace,ada@example.org\nBo Brown,bo@example.org\n"
    assert other.post(f"/assessments/{assessment_id}/invites/bulk",
                      data={"rows": csv_rows}).status_code == 200
    assert other.post(f"/invites/{fresh}/resend").status_code == 302
    assert other.post(f"/invites/{fresh}/extend",
                      data={"expires_at": "2099-01-31"}).status_code == 302
    assert other.post(f"/assessments/{assessment_id}/archive").status_code == 303
    assert other.get(f"/assessments/{assessment_id}/candidates.csv").status_code == 200

    auth.login("interviewer")
    form = {f"level-{c.key}": "3" for c in rubric}
    response = client.post(f"/attempts/{attempt_id}/review",
                           data={**form, "notes": "ok", "recommendation": "yes",
                                 "action": "submit"})
    assert response.status_code == 302, response.text
    recorded = {(e.action, e.actor_label): e for e in _events(app)}
    assert recorded[("invite.bulk", "recruiter@example.com")].detail == {"invited": 2}
    assert recorded[("invite.resend", "recruiter@example.com")].target_id == str(fresh)
    assert recorded[("invite.extend", "recruiter@example.com")].detail == {"until": "2099-01-31"}
    assert recorded[("assessment.archive", "recruiter@example.com")].detail == {"on": True}
    assert recorded[("export.candidates", "recruiter@example.com")].detail == {"format": "csv"}
    assert recorded[("review.submit", "interviewer@example.com")].target_id == str(attempt_id)


def invites_of(assessment_id: int) -> int:
    """A new, unused invite of the assessment (made through the service)."""
    recruiter = db.session.scalars(select(User).where(User.role == "recruiter")).one()
    return invites.create_invite(
        assessment_id=assessment_id, candidate_name="Fresh", candidate_email="f@example.org",
        created_by_id=recruiter.id, secret=SECRET, ttl_days=14, now=utcnow()).invite.id
