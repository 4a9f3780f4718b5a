"""The REST API under /api/v1: bearer API tokens, the pages' role and team rules, the
resources, problem documents, ETags, pagination and the per-token rate limit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from heldout.platform.extensions import db
from heldout.platform.models import (
    ApiToken,
    AuditEvent,
    EditorEvent,
    Invite,
    SimilarityPair,
    Submission,
    Team,
    TeamMember,
    User,
    utcnow,
)
from heldout.platform.services import api_tokens, integrity_signals, reviews
from heldout.platform.services.audit import NO_ORIGIN
from heldout.platform.tokens import token_hash
from heldout.platform.views.api.v1 import schemas
from tests.platform import review_seed as seed
from tests.platform.conftest import NewInvite, Users, start_attempt

SLUG = "churn-prediction"
PROBLEM = "application/problem+json"


def make_token(app: Flask, user_id: int, scope: str = "admin", days: int = 30) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return api_tokens.create_token(user=user, name="test", scope=scope, days=days,
                                       now=utcnow(), actor=user).secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.mimetype == PROBLEM, response.mimetype
    body: dict[str, Any] = response.get_json()
    assert body["type"] == f"/api/problems/{kind}" and body["status"] == status
    assert body["title"] and body["detail"] and body["instance"] == response.request.path
    return body


@pytest.fixture
def token_of(app: Flask, users: Users) -> Callable[..., dict[str, str]]:
    """Headers carrying a new token of a role's user (``scope`` admin unless said)."""
    def make(role: str, scope: str = "admin") -> dict[str, str]:
        return bearer(make_token(app, getattr(users, role), scope))

    return make


# --- who may call ------------------------------------------------------------------------------

def test_anonymous_calls_get_401_problems_with_a_bearer_challenge(
        client: FlaskClient, assessment_id: int) -> None:
    for method, url in (("GET", "/api/v1/assessments"), ("GET", f"/api/v1/assessments/{assessment_id}"),
                        ("POST", f"/api/v1/assessments/{assessment_id}/invites"),
                        ("GET", "/api/v1/challenges")):
        response = client.open(url, method=method, json={} if method == "POST" else None)
        body = problem(response, 401, "not-authenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in body["detail"]


def test_a_signed_in_browser_is_not_enough(client: FlaskClient, auth: Any,
                                           assessment_id: int) -> None:
    """The API takes tokens only: a session cookie (which any site can make a browser send)
    opens nothing, even with CSRF protection off for the API."""
    auth.login("admin")
    assert client.get(f"/assessments/{assessment_id}").status_code == 200  # the page: yes
    problem(client.get(f"/api/v1/assessments/{assessment_id}"), 401, "not-authenticated")
    problem(client.post("/api/v1/assessments", json={"name": "x"}), 401, "not-authenticated")


@pytest.mark.parametrize("header", ["Bearer hld_not-a-real-token", "Bearer nope", "Basic abc",
                                    "Bearer " + "x" * 5000])
def test_unknown_credentials_are_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/assessments", headers={"Authorization": header})
    problem(response, 401, "not-authenticated")


def test_expired_revoked_and_disabled_tokens_are_401_saying_why(
        app: Flask, client: FlaskClient, users: Users) -> None:
    token = make_token(app, users.recruiter)
    assert client.get("/api/v1/assessments", headers=bearer(token)).status_code == 200
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert "expired" in problem(client.get("/api/v1/assessments", headers=bearer(token)),
                                401, "not-authenticated")["detail"]
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        row.expires_at = utcnow() + timedelta(days=1)
        api_tokens.revoke_token(row.id, owner_id=users.recruiter, now=utcnow(), actor=None)
    assert "revoked" in problem(client.get("/api/v1/assessments", headers=bearer(token)),
                                401, "not-authenticated")["detail"]
    other = make_token(app, users.interviewer)
    with app.app_context():
        user = db.session.get(User, users.interviewer)
        assert user is not None
        user.active = False
        db.session.commit()
    assert "disabled" in problem(client.get("/api/v1/assessments", headers=bearer(other)),
                                 401, "not-authenticated")["detail"]


def test_a_scope_too_narrow_is_403(client: FlaskClient, assessment_id: int,
                                   token_of: Callable[..., dict[str, str]]) -> None:
    read = token_of("recruiter", "read")
    assert client.get(f"/api/v1/assessments/{assessment_id}/invites", headers=read).status_code == 200
    url = f"/api/v1/assessments/{assessment_id}/invites"
    response = client.post(url, json={"candidates": [{"name": "A", "email": "a@example.org"}]},
                           headers=read)
    body = problem(response, 403, "insufficient-scope")
    assert "needs invite" in body["detail"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    invite = token_of("recruiter", "invite")
    assert client.post(url, json={"candidates": [{"name": "A", "email": "a@example.org"}]},
                       headers=invite).status_code == 201
    # Building assessments is beyond the invite scope.
    problem(client.post(f"/api/v1/assessments/{assessment_id}/archive", headers=invite), 403,
            "insufficient-scope")


def test_a_role_the_pages_refuse_is_refused_whatever_the_scope(
        client: FlaskClient, assessment_id: int,
        token_of: Callable[..., dict[str, str]]) -> None:
    interviewer = token_of("interviewer", "admin")
    # Interviewers read the assessments list and reports, as on the pages...
    assert client.get("/api/v1/assessments", headers=interviewer).status_code == 200
    assert client.get(f"/api/v1/assessments/{assessment_id}/attempts",
                      headers=interviewer).status_code == 200
    # ...but neither invite nor build.
    problem(client.get(f"/api/v1/assessments/{assessment_id}/invites", headers=interviewer),
            403, "forbidden")
    problem(client.post("/api/v1/assessments", headers=interviewer,
                        json={"name": "X", "challenges": [SLUG], "time_limit_minutes": 30}),
            403, "forbidden")


def test_another_teams_work_does_not_exist_for_a_token(
        app: Flask, client: FlaskClient, users: Users, assessment_id: int,
        invite: NewInvite, token_of: Callable[..., dict[str, str]]) -> None:
    with app.app_context():
        team = Team(name="Other", slug="other")
        db.session.add(team)
        db.session.flush()
        db.session.add(TeamMember(team_id=team.id, user_id=users.recruiter))
        db.session.commit()
    theirs = token_of("recruiter")
    assert client.get("/api/v1/assessments", headers=theirs).json == []
    problem(client.get(f"/api/v1/assessments/{assessment_id}", headers=theirs), 404, "not-found")
    problem(client.get(f"/api/v1/invites/{invite.id}", headers=theirs), 404, "not-found")
    problem(client.post(f"/api/v1/invites/{invite.id}/revoke", headers=theirs), 404,
            "not-found")
    admin = token_of("admin", "read")
    listed = client.get("/api/v1/assessments", headers=admin).json
    assert [a["id"] for a in listed or []] == [assessment_id]


# --- the document ------------------------------------------------------------------------------

def test_the_openapi_document_lists_every_operation(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec is not None and spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    documented = {(path, method.upper()) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "patch", "put", "delete")}
    served = {(path_of(rule.rule), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert documented == served
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or path.endswith(("openapi.json", "/docs")):
                continue
            assert operation["security"] == [{"apiToken": []}], (method, path)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            assert operation["x-scope"] in ("read", "invite", "admin")


def path_of(rule: str) -> str:
    """A Flask rule's path as OpenAPI writes it: {name} without the converter."""
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", rule)


def test_the_reference_page_reads_the_document(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/api/v1/assessments/{assessment_id}/invites" in page.text
    assert "Invite one or many candidates" in page.text and "Authorization: Bearer" in page.text


# --- assessments -------------------------------------------------------------------------------

def test_assessments_create_update_archive_restore(
        app: Flask, client: FlaskClient, token_of: Callable[..., dict[str, str]]) -> None:
    headers = token_of("recruiter")
    created = client.post("/api/v1/assessments", headers=headers, json={
        "name": "API take-home", "challenges": [SLUG], "time_limit_minutes": 45,
        "counting": "best", "expires_at": "2099-01-31T23:59:59Z", "followups": True,
        "feedback_to_candidates": True})
    assert created.status_code == 201, created.text
    body = created.json
    assert body is not None
    assert body["challenges"] == [SLUG] and body["counting"] == "best"
    assert body["followups"] is True and body["feedback_to_candidates"] is True
    assert body["expires_at"].startswith("2099-01-31T23:59:59") and body["invited"] == 0
    url = f"/api/v1/assessments/{body['id']}"
    changed = client.patch(url, headers=headers, json={"name": "Renamed", "expires_at": None})
    assert changed.status_code == 200 and changed.json is not None
    assert changed.json["name"] == "Renamed" and changed.json["expires_at"] is None
    # Untouched fields keep their value (follow-ups were once turned off by any change).
    assert changed.json["time_limit_minutes"] == 45
    assert changed.json["followups"] is True and changed.json["feedback_to_candidates"] is True
    problem(client.patch(url, headers=headers, json={"time_limit_minutes": 1}), 422,
            "invalid-request")
    problem(client.patch(url, headers=headers, json={"challenges": ["no-such"]}), 400,
            "invalid-input")
    archived = client.post(f"{url}/archive", headers=headers)
    assert archived.json is not None and archived.json["archived"] is True
    assert client.get("/api/v1/assessments", headers=headers).json == []
    listed = client.get("/api/v1/assessments?include_archived=true", headers=headers).json
    assert listed is not None and [a["id"] for a in listed] == [body["id"]]
    restored = client.post(f"{url}/restore", headers=headers)
    assert restored.json is not None and restored.json["archived"] is False
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action)
                                          .where(AuditEvent.action == "assessment.archive")))
    assert len(actions) == 2


def test_the_challenges_of_a_started_assessment_stay(
        client: FlaskClient, assessment_id: int, invite: NewInvite,
        token_of: Callable[..., dict[str, str]]) -> None:
    start_attempt(client, invite)
    response = client.patch(f"/api/v1/assessments/{assessment_id}", headers=token_of("recruiter"),
                            json={"challenges": [SLUG, SLUG]})
    problem(response, 400, "invalid-input")


def test_lists_are_paginated_and_answer_304_while_unchanged(
        app: Flask, client: FlaskClient, users: Users,
        token_of: Callable[..., dict[str, str]]) -> None:
    headers = token_of("recruiter")
    for index in range(3):
        assert client.post("/api/v1/assessments", headers=headers, json={
            "name": f"A{index}", "challenges": [SLUG], "time_limit_minutes": 30}).status_code == 201
    first = client.get("/api/v1/assessments?page_size=2", headers=headers)
    assert [a["name"] for a in first.json or []] == ["A2", "A1"]
    assert '"total": 3' in first.headers["X-Pagination"]
    second = client.get("/api/v1/assessments?page_size=2&page=2", headers=headers)
    assert [a["name"] for a in second.json or []] == ["A0"]
    assert client.get("/api/v1/assessments?page_size=2&page=9", headers=headers).json == []
    etag = first.headers["ETag"]
    again = client.get("/api/v1/assessments?page_size=2", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    client.post("/api/v1/assessments", headers=headers,
                json={"name": "A3", "challenges": [SLUG], "time_limit_minutes": 30})
    changed = client.get("/api/v1/assessments?page_size=2", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_update_with_a_stale_if_match_is_refused_with_412(
        client: FlaskClient, token_of: Callable[..., dict[str, str]]) -> None:
    """Updates answer the ETag a GET gives; If-Match with an older one changes nothing."""
    headers = token_of("recruiter")
    created = client.post("/api/v1/assessments", headers=headers, json={
        "name": "Versioned", "challenges": [SLUG], "time_limit_minutes": 30}).json
    assert created is not None
    url = f"/api/v1/assessments/{created['id']}"
    read = client.get(url, headers=headers)
    first = read.headers["ETag"]
    assert client.get(url, headers={**headers, "If-None-Match": first}).status_code == 304
    changed = client.patch(url, headers={**headers, "If-Match": first}, json={"name": "Two"})
    assert changed.status_code == 200, changed.text
    second = changed.headers["ETag"]
    assert second != first and client.get(url, headers=headers).headers["ETag"] == second
    assert client.get(url, headers={**headers, "If-None-Match": second}).status_code == 304
    stale = client.patch(url, headers={**headers, "If-Match": first}, json={"name": "Three"})
    body = problem(stale, 412, "stale-version")
    assert "GET it again" in body["hint"]
    assert stale.headers.get("ETag") is None
    problem(client.post(f"{url}/archive", headers={**headers, "If-Match": first}), 412,
            "stale-version")
    assert client.get(url, headers=headers).json == changed.json  # nothing changed
    # Without If-Match, as before: the change is made.
    archived = client.post(f"{url}/archive", headers=headers)
    assert archived.status_code == 200 and archived.headers["ETag"] != second
    assert client.patch(url, headers={**headers, "If-Match": "*"},
                        json={"name": "Four"}).status_code == 200


def test_invite_changes_check_if_match_and_answer_the_etag_a_get_gives(
        client: FlaskClient, invite: NewInvite,
        token_of: Callable[..., dict[str, str]]) -> None:
    headers = token_of("recruiter")
    url = f"/api/v1/invites/{invite.id}"
    first = client.get(url, headers=headers).headers["ETag"]
    later = {"expires_at": (utcnow() + timedelta(days=20)).isoformat()}
    extended = client.post(f"{url}/extend", headers={**headers, "If-Match": first}, json=later)
    assert extended.status_code == 200, extended.text
    second = extended.headers["ETag"]
    assert second != first and client.get(url, headers=headers).headers["ETag"] == second
    for action in ("revoke", "resend"):
        problem(client.post(f"{url}/{action}", headers={**headers, "If-Match": first}), 412,
                "stale-version")
    assert client.get(url, headers=headers).headers["ETag"] == second  # nothing changed
    resent = client.post(f"{url}/resend", headers={**headers, "If-Match": second})
    assert resent.status_code == 200 and resent.json is not None and resent.json["link"]
    # The link is in the answer, not in the invite the ETag names.
    assert resent.headers["ETag"] == client.get(url, headers=headers).headers["ETag"]


# --- invites -----------------------------------------------------------------------------------

def test_invites_many_with_links_returned_once(
        app: Flask, client: FlaskClient, assessment_id: int, make_invite: Callable[..., NewInvite],
        token_of: Callable[..., dict[str, str]]) -> None:
    make_invite("Old Friend", "old@example.org")
    headers = token_of("recruiter", "invite")
    response = client.post(f"/api/v1/assessments/{assessment_id}/invites", headers=headers, json={
        "candidates": [{"name": "Ann Able", "email": "ANN@example.org", "note": "referral"},
                       {"name": "No Mail", "email": "not-an-address"},
                       {"name": "Ann Again", "email": "ann@example.org"},
                       {"name": "Old Friend", "email": "old@example.org"},
                       {"name": "Bo Brave", "email": "bo@example.org"}]})
    assert response.status_code == 201, response.text
    body = response.json
    assert body is not None
    assert [(i["candidate_email"], i["status"], i["delivery"]) for i in body["created"]] == [
        ("ann@example.org", "link created", "api"), ("bo@example.org", "link created", "api")]
    assert [s["position"] for s in body["skipped"]] == [2, 3, 4]
    assert "already invited" in body["skipped"][2]["reason"]
    link = body["created"][0]["link"]
    assert link.startswith("http://heldout.test/i/")
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        # Only the link's hash is kept; the candidate's link opens the invitation.
        stored = db.session.get(Invite, body["created"][0]["id"])
        assert stored is not None and stored.token_hash == token_hash(token)
        assert stored.note == "referral"
    assert client.get(f"/i/{token}").status_code == 303
    # Reading the invite again never shows the link.
    again = client.get(f"/api/v1/invites/{body['created'][0]['id']}", headers=headers).json
    assert again is not None and "link" not in again and again["status"] == "opened"


def test_a_boolean_in_a_body_is_true_or_false_only(
        client: FlaskClient, invite: NewInvite, token_of: Callable[..., dict[str, str]]) -> None:
    """The document says boolean: 0 or "yes" is refused, and nothing is resent (schemathesis
    found `{"send_email": 0}` taken)."""
    headers = token_of("recruiter", "invite")
    for value in (0, 1, "yes"):
        refused = client.post(f"/api/v1/invites/{invite.id}/resend", headers=headers,
                              json={"send_email": value})
        assert refused.status_code == 422, (value, refused.status_code)
    again = client.get(f"/api/v1/invites/{invite.id}", headers=headers).json
    assert again is not None and again["resends"] == 0


def test_invite_resend_extend_revoke(client: FlaskClient, invite: NewInvite,
                                     token_of: Callable[..., dict[str, str]]) -> None:
    headers = token_of("recruiter", "invite")
    resent = client.post(f"/api/v1/invites/{invite.id}/resend", headers=headers, json={})
    assert resent.status_code == 200 and resent.json is not None
    assert resent.json["resends"] == 1
    new_token = resent.json["link"].rsplit("/", 1)[1]
    assert client.get(invite.url).status_code == 404  # the old link stops at once
    assert client.get(f"/i/{new_token}").status_code == 303
    until = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    extended = client.post(f"/api/v1/invites/{invite.id}/extend", headers=headers,
                           json={"expires_at": until.isoformat()})
    assert extended.status_code == 200 and extended.json is not None
    assert extended.json["expires_at"] == until.isoformat()
    problem(client.post(f"/api/v1/invites/{invite.id}/extend", headers=headers,
                        json={"expires_at": "2001-01-01T00:00:00Z"}), 400, "invalid-input")
    revoked = client.post(f"/api/v1/invites/{invite.id}/revoke", headers=headers)
    assert revoked.json is not None and revoked.json["status"] == "revoked"
    assert client.get(f"/i/{new_token}").status_code == 410


def test_invites_filter_by_status_and_change_time(
        client: FlaskClient, assessment_id: int, make_invite: Callable[..., NewInvite],
        token_of: Callable[..., dict[str, str]]) -> None:
    first = make_invite("First", "first@example.org")
    before = utcnow()
    second = make_invite("Second", "second@example.org")
    headers = token_of("recruiter", "read")
    url = f"/api/v1/assessments/{assessment_id}/invites"
    client.post(f"/api/v1/invites/{first.id}/revoke", headers=token_of("recruiter", "invite"))
    revoked = client.get(f"{url}?status=revoked", headers=headers).json
    assert [i["id"] for i in revoked or []] == [first.id]
    since = client.get(url, headers=headers, query_string={"changed_since": before.isoformat()})
    # The second was made after ``before``; the first was revoked after it.
    assert sorted(i["id"] for i in since.json or []) == sorted([first.id, second.id])
    later = client.get(url, headers=headers,
                       query_string={"changed_since": (utcnow() + timedelta(seconds=1)).isoformat()})
    assert later.json == []
    problem(client.get(f"{url}?status=nonsense", headers=headers), 422, "invalid-request")


# --- attempts, reports, exports ----------------------------------------------------------------

@pytest.fixture
def graded(app: Flask, users: Users, assessment_id: int) -> dict[str, int]:
    """Two finished candidates with graded submissions, and a review by the interviewer."""
    with app.app_context():
        first = seed.candidate(assessment_id, users.recruiter, "Priya Raman",
                               {SLUG: [seed.Graded(41.0, 12), seed.Graded(82.0, 40)]},
                               minutes_used=44)
        second = seed.candidate(assessment_id, users.recruiter, "Tom Becker",
                                {SLUG: [seed.Graded(35.0, 25)]}, minutes_used=30, index=1)
        db.session.commit()
        admin = db.session.get(User, users.admin)
        assert admin is not None
        levels = {c.key: "3" for c in reviews.rubric_for_attempt(first)}
        reviews.save_review(first, admin, reviews.ReviewInput(
            levels=levels, notes="Clear validation.", recommendation="yes", submit=True),
            now=utcnow())
    return {"first": first, "second": second}


def test_attempts_list_with_status_and_scores(client: FlaskClient, assessment_id: int,
                                              graded: dict[str, int],
                                              token_of: Callable[..., dict[str, str]]) -> None:
    headers = token_of("interviewer", "read")
    listed = client.get(f"/api/v1/assessments/{assessment_id}/attempts", headers=headers).json
    assert listed is not None
    by_id = {a["id"]: a for a in listed}
    first = by_id[graded["first"]]
    assert first["status"] == "finished" and first["total"] == 82.0
    assert first["challenges"] == [{"slug": SLUG, "state": "graded", "score": 82.0,
                                    "version": first["challenges"][0]["version"]}]
    assert first["percentile"] == 100.0 and first["review_status"] == "1 reviewed"
    one = client.get(f"/api/v1/attempts/{graded['second']}", headers=headers).json
    assert one is not None and one["total"] == 35.0 and one["time_used_seconds"] == 30 * 60
    assert client.get(f"/api/v1/assessments/{assessment_id}/attempts?status=started",
                      headers=headers).json == []
    soon = {"updated_since": (utcnow() + timedelta(minutes=1)).isoformat()}
    assert client.get(f"/api/v1/assessments/{assessment_id}/attempts", headers=headers,
                      query_string=soon).json == []
    # The review saved just now touched the first attempt only.
    recent = {"updated_since": (utcnow() - timedelta(minutes=5)).isoformat()}
    touched = client.get(f"/api/v1/assessments/{assessment_id}/attempts", headers=headers,
                         query_string=recent).json
    assert [a["id"] for a in touched or []] == [graded["first"]]
    problem(client.get("/api/v1/attempts/999999", headers=headers), 404, "not-found")


def test_the_report_has_scores_checks_metrics_and_the_reviews_one_may_see(
        client: FlaskClient, graded: dict[str, int],
        token_of: Callable[..., dict[str, str]]) -> None:
    url = f"/api/v1/attempts/{graded['first']}/report"
    report = client.get(url, headers=token_of("recruiter", "read")).json
    assert report is not None
    assert report["attempt"]["total"] == 82.0 and report["peers"] == 1
    (challenge,) = report["challenges"]
    assert challenge["score"] == 82.0 and challenge["state"] == "graded"
    assert [c["name"] for c in challenge["checks"]] == ["run", "roc_auc"]
    assert [s["score"] for s in challenge["submissions"]] == [41.0, 82.0]
    assert challenge["counted_submission_id"] == challenge["submissions"][-1]["id"]
    assert challenge["public_runs"] == {"count": 0, "statuses": [], "times": []}
    # A recruiter (not a reviewer) sees the submitted reviews...
    assert [r["notes"] for r in report["reviews"]["items"]] == ["Clear validation."]
    # ...an interviewer only once they have submitted their own, as on the page.
    hidden = client.get(url, headers=token_of("interviewer", "read")).json
    assert hidden is not None
    assert hidden["reviews"]["items"] == [] and hidden["reviews"]["hidden"] == 1
    # Blind: not even the recommendation, only that one review was submitted.
    assert hidden["reviews"]["consensus"] is None and hidden["reviews"]["submitted"] == 1
    assert report["reviews"]["consensus"] == "Yes"


def test_the_report_lists_the_integrity_signals_with_their_reviews(
        app: Flask, client: FlaskClient, users: Users, graded: dict[str, int],
        token_of: Callable[..., dict[str, str]]) -> None:
    """The report page's integrity panel, as data: kind, reason, evidence a script can
    follow (ids the report names, and the page), "review suggested", and the review."""
    first, second = graded["first"], graded["second"]
    with app.app_context():
        ours = db.session.scalars(select(Submission).where(Submission.attempt_id == first)
                                  .order_by(Submission.id)).all()[-1]
        theirs = db.session.scalars(select(Submission).where(
            Submission.attempt_id == second)).one()
        pair = SimilarityPair(challenge_version=ours.challenge_version,
                              submission_a_id=ours.id, submission_b_id=theirs.id, score=0.9,
                              share_a=0.87, share_b=0.9, flagged=True)
        paste = EditorEvent(attempt_id=first, challenge_id=ours.challenge_id, kind="paste",
                            at=utcnow(), file="solution.py", amount=1240)
        db.session.add_all([pair, paste])
        db.session.commit()
        pair_id, paste_id, ours_id = pair.id, paste.id, ours.id
        interviewer = db.session.get(User, users.interviewer)
        assert interviewer is not None
        integrity_signals.mark_reviewed(
            first, f"paste:{paste_id}", "Pasted their own notes.", actor=interviewer,
            context=integrity_signals.SignalContext(None), origin=NO_ORIGIN,
            now=utcnow())

    url = f"/api/v1/attempts/{first}/report"
    report = client.get(url, headers=token_of("interviewer", "read")).json
    assert report is not None
    by_key = {signal["key"]: signal for signal in report["integrity"]}
    assert list(by_key) == [f"similarity:{pair_id}", f"paste:{paste_id}"]
    similar, pasted = by_key[f"similarity:{pair_id}"], by_key[f"paste:{paste_id}"]
    assert similar["kind"] == "similarity" and similar["challenge"] == SLUG
    assert "87 % of this code matches Tom Becker's" in similar["reason"]
    assert similar["review_suggested"] is True
    assert similar["evidence"] == {
        "page": f"{app.config['HELDOUT_BASE_URL']}/similarity/{pair_id}", "submission_id": ours_id,
        "similarity_pair_id": pair_id, "editor_event_id": None}
    # The submission named is one the report lists.
    assert ours_id in [s["id"] for s in report["challenges"][0]["submissions"]]
    assert similar["review"] == {"reviewed": False, "note": None, "reviewed_by": None,
                                 "reviewed_at": None}
    assert pasted["kind"] == "paste" and "pasted 1,240 characters" in pasted["reason"]
    assert pasted["evidence"]["editor_event_id"] == paste_id
    assert pasted["evidence"]["page"].endswith(f"/attempts/{first}/report#event-{paste_id}")
    review = pasted["review"]
    assert review["reviewed"] is True and review["note"] == "Pasted their own notes."
    assert review["reviewed_by"] == "interviewer@example.com" and review["reviewed_at"]
    # A recruiter reads the report page, panel included: the same lines.
    recruiter = client.get(url, headers=token_of("recruiter", "read")).json
    assert recruiter is not None and recruiter["integrity"] == report["integrity"]
    # Tom's report: the same pair seen from his side, no paste.
    other = client.get(f"/api/v1/attempts/{second}/report",
                       headers=token_of("interviewer", "read")).json
    assert other is not None
    assert [s["key"] for s in other["integrity"]] == [f"similarity:{pair_id}"]


def test_exports_are_the_pages_exports_and_audited(
        app: Flask, client: FlaskClient, assessment_id: int, graded: dict[str, int],
        token_of: Callable[..., dict[str, str]]) -> None:
    headers = token_of("interviewer", "read")
    as_json = client.get(f"/api/v1/assessments/{assessment_id}/export", headers=headers)
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    body = as_json.json
    assert body is not None
    assert {c["candidate"] for c in body["candidates"]} == {"Priya Raman", "Tom Becker"}
    # The document describes every field of the export (exports.row_record), no more.
    documented = set(schemas.ExportCandidate().fields)
    assert [set(c) for c in body["candidates"]] == [documented, documented]
    as_csv = client.get(f"/api/v1/assessments/{assessment_id}/export.csv?q=tom", headers=headers)
    assert as_csv.mimetype == "text/csv"
    assert as_csv.text.splitlines()[1].startswith("Tom Becker,")
    assert len(as_csv.text.splitlines()) == 2
    with app.app_context():
        formats = list(db.session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "export.candidates")))
    assert [f["format"] for f in formats] == ["json", "csv"]


# --- use: audit, last use, rate limit, CSRF ----------------------------------------------------

def test_every_use_is_audited_and_shown_as_the_last_use(
        app: Flask, client: FlaskClient, users: Users) -> None:
    token = make_token(app, users.recruiter, "read")
    client.get("/api/v1/assessments", headers=bearer(token))
    client.get("/api/v1/challenges", headers=bearer(token))
    with app.app_context():
        calls = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.call")
                                        .order_by(AuditEvent.id)))
        row = db.session.scalars(select(ApiToken)).one()
        assert [c.detail["path"] for c in calls] == ["/api/v1/assessments", "/api/v1/challenges"]
        assert {c.actor_id for c in calls} == {users.recruiter}
        assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"


def test_the_rate_limit_counts_each_token_apart(app: Flask, client: FlaskClient,
                                                users: Users) -> None:
    app.config["HELDOUT_API_RATE_LIMIT"] = "3 per minute"
    busy, calm = make_token(app, users.recruiter), make_token(app, users.recruiter)
    for _ in range(3):
        assert client.get("/api/v1/challenges", headers=bearer(busy)).status_code == 200
    refused = client.get("/api/v1/assessments", headers=bearer(busy))  # any operation counts
    problem(refused, 429, "too-many-requests")
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/challenges", headers=bearer(calm)).status_code == 200


def test_the_api_works_with_csrf_protection_on(app_factory: Callable[..., Flask],
                                               ) -> None:
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = User(email="r2@example.com", name="R", role="recruiter", password_hash="x")
        db.session.add(user)
        db.session.commit()
        secret = api_tokens.create_token(user=user, name="t", scope="admin", days=1,
                                         now=utcnow(), actor=user).secret
    response = app.test_client().post("/api/v1/assessments", headers=bearer(secret), json={
        "name": "With CSRF on", "challenges": [SLUG], "time_limit_minutes": 30})
    assert response.status_code == 201, response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
