"""Greenhouse's Assessment Partner API served by heldout: requests shaped like the partner
documentation's examples (HTTP Basic with the API key as user name, JSON bodies)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from heldout.platform.extensions import db
from heldout.platform.models import AtsOrder, Attempt, Invite, User, utcnow
from heldout.platform.services import api_tokens, invites
from tests.platform import review_seed as seed
from tests.platform.conftest import Users

SLUG = "churn-prediction"


def _token(app: Flask, role: str, scope: str = "invite") -> str:
    with app.app_context():
        owner = db.session.scalars(select(User).where(User.role == role)).one()
        return api_tokens.create_token(user=owner, name=f"greenhouse {role}", scope=scope,
                                       days=30, now=utcnow(), actor=owner).secret


def _basic(key: str) -> dict[str, str]:
    # Greenhouse sends the partner's API key as the Basic user name, with no password.
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def greenhouse(app: Flask, users: Users, assessment_id: int) -> Callable[..., Any]:
    key = _token(app, "recruiter")
    client = app.test_client()

    def call(method: str, path: str, **kwargs: Any) -> Any:
        return client.open(f"/ats/greenhouse/{path}", method=method,
                           headers=_basic(kwargs.pop("key", key)), **kwargs)

    return call


SEND_TEST: dict[str, Any] = {
    "partner_test_id": "{id}",
    "candidate": {"first_name": "Harriet", "last_name": "Example",
                  "resume_url": "https://app.greenhouse.io/resumes/123",
                  "phone_number": "+1 555 0100", "email": "harriet@example.org",
                  "greenhouse_profile_url": "https://app.greenhouse.io/people/123"},
    "url": "https://api.greenhouse.io/v1/partner/assessments/456",
}


def _send(greenhouse: Callable[..., Any], assessment_id: int, **changes: Any) -> Any:
    body = {**SEND_TEST, "partner_test_id": str(assessment_id), **changes}
    return greenhouse("POST", "send_test", json=body)


def test_list_tests_names_the_open_assessments(greenhouse: Callable[..., Any],
                                               assessment_id: int) -> None:
    response = greenhouse("GET", "list_tests")
    assert response.status_code == 200
    assert response.json == [{"partner_test_id": str(assessment_id),
                              "partner_test_name": "ML take-home"}]


def test_send_test_invites_the_candidate_and_status_follows_the_attempt(
        app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
        users: Users) -> None:
    sent = _send(greenhouse, assessment_id)
    assert sent.status_code == 200, sent.text
    interview = sent.json["partner_interview_id"]
    with app.app_context():
        order = db.session.scalars(select(AtsOrder)).one()
        assert order.public_id == interview
        assert order.callback_url == SEND_TEST["url"]
        invite = order.invite
        assert (invite.candidate_name, invite.candidate_email) == ("Harriet Example",
                                                                  "harriet@example.org")
        invite_id = invite.id
    status = greenhouse("GET", "test_status", query_string={"partner_interview_id": interview})
    assert status.status_code == 200 and status.json == {"partner_status": "link created"}

    # The candidate takes it and it is graded: complete, with the score and the report.
    with app.app_context():
        ordered = db.session.get(Invite, invite_id)
        assert ordered is not None
        attempt_id = seed.candidate(assessment_id, users.recruiter, "Harriet Example",
                                    {SLUG: [seed.Graded(64.0, 12), seed.Graded(81.5, 30)]},
                                    email="harriet.other@example.org")
        # Move the seeded attempt onto the ordered invite.
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None
        seeded_invite = attempt.invite
        attempt.invite_id = ordered.id
        ordered.opened_at, ordered.started_at = seeded_invite.opened_at, seeded_invite.started_at
        ordered.finished_at = seeded_invite.finished_at
        db.session.flush()
        db.session.delete(seeded_invite)
        db.session.commit()
    done = greenhouse("GET", "test_status", query_string={"partner_interview_id": interview})
    assert done.status_code == 200, done.text
    assert done.json["partner_status"] == "complete"
    assert done.json["partner_score"] == 81.5
    assert done.json["partner_profile_url"].endswith(f"/attempts/{attempt_id}/report")
    assert done.json["metadata"][SLUG] == "81.5 / 100"
    assert "Time used" in (done.json["metadata"] or {})


def test_refusals_are_errors_greenhouse_can_show(app: Flask, greenhouse: Callable[..., Any],
                                                 assessment_id: int) -> None:
    assert greenhouse("GET", "list_tests", key="hld_not-a-real-token").status_code == 401
    nothing = app.test_client().get("/ats/greenhouse/list_tests")
    assert nothing.status_code == 401 and "errors" in (nothing.json or {})
    assert nothing.headers["WWW-Authenticate"].startswith("Basic")
    read_only = _token(app, "recruiter", scope="read")
    assert greenhouse("GET", "list_tests", key=read_only).status_code == 403
    interviewer = _token(app, "interviewer")
    assert greenhouse("GET", "list_tests", key=interviewer).status_code == 403
    assert _send(greenhouse, 999999).status_code == 404
    unknown = _send(greenhouse, assessment_id, partner_test_id="abc")
    assert unknown.status_code == 422 and "list_tests" in unknown.json["errors"][0]
    no_email = _send(greenhouse, assessment_id, candidate={"first_name": "X"})
    assert no_email.status_code == 422
    bad_email = _send(greenhouse, assessment_id,
                      candidate={**SEND_TEST["candidate"], "email": "not an address"})
    assert bad_email.status_code == 422
    assert greenhouse("POST", "send_test", data="not json",
                      content_type="application/json").status_code == 422
    first = _send(greenhouse, assessment_id)
    assert first.status_code == 200
    again = _send(greenhouse, assessment_id)  # Greenhouse retried: the same order
    assert again.json == first.json
    other = _send(greenhouse, assessment_id, candidate={**SEND_TEST["candidate"],
                                                        "email": "cara@example.org"})
    assert other.status_code == 200
    with app.app_context():
        invites.create_invite(assessment_id=assessment_id, candidate_name="By hand",
                              candidate_email="byhand@example.org",
                              created_by_id=db.session.scalars(select(User.id)).first() or 0,
                              secret="s" * 32, ttl_days=7, now=utcnow())
    by_hand = _send(greenhouse, assessment_id, candidate={**SEND_TEST["candidate"],
                                                          "email": "byhand@example.org"})
    assert by_hand.status_code == 422 and "already invited" in by_hand.json["errors"][0]
    missing = greenhouse("GET", "test_status", query_string={"partner_interview_id": "nope"})
    assert missing.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(AtsOrder.id))) == 2


def test_response_error_is_kept_on_the_order(app: Flask, greenhouse: Callable[..., Any],
                                             assessment_id: int) -> None:
    interview = _send(greenhouse, assessment_id).json["partner_interview_id"]
    answer = greenhouse("POST", "response_error", json={
        "partner_interview_id": interview, "message": "partner_score must be a number"})
    assert answer.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(AtsOrder)).one().last_error == \
            "partner_score must be a number"
