"""Greenhouse's Assessment Partner API served by heldout: requests shaped like the partner
documentation's examples (HTTP Basic with the API key as user name, JSON bodies)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from heldout.graders.bundle import Bundle
from heldout.graders.result import Evaluation
from heldout.platform.extensions import db
from heldout.platform.models import (
    AtsOrder,
    Attempt,
    Challenge,
    Invite,
    Submission,
    User,
    WebhookDelivery,
    utcnow,
)
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    api_tokens,
    drafts,
    grading,
    invites,
    webhook_sending,
    webhooks,
)
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.scoring import GradingStatus
from heldout.platform.services.webhook_sending import SIGNATURE_HEADER
from heldout.platform.tasks import grading_settings
from tests.platform import review_seed as seed
from tests.platform.conftest import PASSWORD, NewInvite, Users, start_attempt
from tests.platform.http_receiver import Receiver

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


# --- the callback when the candidate is complete ---------------------------------------

def _graded(score: float) -> Callable[[Bundle, Path], Evaluation]:
    def evaluate(bundle: Bundle, submission: Path) -> Evaluation:
        return Evaluation(bundle.slug, bundle.version, "graded", score)
    return evaluate


def _callbacks(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.ats_order_id.is_not(None)).order_by(WebhookDelivery.id)))
        db.session.expunge_all()
        return rows


def _link(app: Flask, invite_id: int) -> NewInvite:
    """A link for an ordered invite (the one Greenhouse's order sent went by e-mail)."""
    link = invites.resend_invite(invite_id, secret=app.config["SECRET_KEY"], ttl_days=7,
                                 now=utcnow(), delivery="manual")
    db.session.commit()
    return NewInvite(invite_id, link.token)


def _ordered_candidate_starts(app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
                              receiver: Receiver) -> tuple[Any, str]:
    """Greenhouse orders a test with a callback url; its candidate opens the link and
    starts: (their browser, the attempt's public id)."""
    _send(greenhouse, assessment_id, url=receiver.url)
    with app.app_context():
        order = db.session.scalars(select(AtsOrder)).one()
        link = _link(app, order.invite_id)
    candidate = app.test_client()
    return candidate, start_attempt(candidate, link)


def _deliver(app: Flask, delivery_id: int, **when: Any) -> webhook_sending.DeliveryOutcome:
    with app.app_context():
        return webhook_sending.deliver(delivery_id, now=utcnow() + timedelta(**when))


def test_a_complete_candidate_calls_greenhouse_back_once_after_grading(
        app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
        receiver: Receiver) -> None:
    sent = _send(greenhouse, assessment_id, url=receiver.url)
    interview = sent.json["partner_interview_id"]
    with app.app_context():
        order = db.session.scalars(select(AtsOrder)).one()
        link = _link(app, order.invite_id)
    candidate = app.test_client()
    attempt = start_attempt(candidate, link)
    assert candidate.post(f"/a/{attempt}/c/{SLUG}/submit",
                          data={"code": "print('hi')"}).status_code == 302
    assert candidate.post(f"/a/{attempt}/finish").status_code in (302, 303)
    # Finished but still grading: not complete, nothing written for Greenhouse yet.
    assert _callbacks(app) == []
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
        grading.grade_submission(submission_id, grading_settings(), evaluate=_graded(72.0))
        queued = get_queue().waiting(webhooks.QUEUE_KIND)
    [callback] = _callbacks(app)
    assert callback.id in queued, "queued for the worker once the grading committed"
    assert (callback.event, callback.endpoint_id, callback.status) == (
        "ats.complete", None, "pending")

    # The worker sends it: a PATCH to the order's url, and Greenhouse then reads the results.
    receiver.answers = [503, 200]
    first = _deliver(app, callback.id)
    assert (first.status, first.retry_in) == ("pending", webhook_sending.RETRY_SECONDS[0])
    second = _deliver(app, callback.id, seconds=webhook_sending.RETRY_SECONDS[0] + 1)
    assert second.status == "delivered"
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    assert json.loads(body) == {"partner_interview_id": interview, "partner_status": "complete"}
    assert headers["Content-Type"] == "application/json"
    assert SIGNATURE_HEADER not in headers  # Greenhouse holds no secret of ours
    status = greenhouse("GET", "test_status", query_string={"partner_interview_id": interview})
    assert status.json["partner_status"] == "complete" and status.json["partner_score"] == 72.0

    # A regrade (queued again, as an operator's re-run does, and graded with a new score)
    # does not call back again: Greenhouse reads the new score from test_status.
    with app.app_context():
        db.session.execute(update(Submission).values(status=GradingStatus.QUEUED))
        db.session.commit()
        regraded = grading.grade_submission(submission_id, grading_settings(),
                                            evaluate=_graded(75.0))
        assert regraded.status == GradingStatus.GRADED, regraded
    assert [row.id for row in _callbacks(app)] == [callback.id]
    status = greenhouse("GET", "test_status", query_string={"partner_interview_id": interview})
    assert status.json["partner_score"] == 75.0
    # The admin sees the callback with Greenhouse's answer on the webhooks page.
    admin = app.test_client()
    admin.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    page = admin.get("/admin/webhooks/").text
    assert interview in page and "delivered" in page and "answer 200" in page


def test_no_callback_without_a_url_and_none_for_an_order_that_never_finishes(
        app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
        receiver: Receiver) -> None:
    assert _send(greenhouse, assessment_id, url="").status_code == 200
    sent = _send(greenhouse, assessment_id, url=receiver.url,
                 candidate={**SEND_TEST["candidate"], "email": "ivo@example.org"})
    assert sent.status_code == 200
    with app.app_context():
        orders = list(db.session.scalars(select(AtsOrder).order_by(AtsOrder.id)))
        links = [_link(app, order.invite_id) for order in orders]
    # The first finishes without a url to call; the second starts and never finishes.
    first = app.test_client()
    attempt = start_attempt(first, links[0])
    assert first.post(f"/a/{attempt}/finish").status_code in (302, 303)
    start_attempt(app.test_client(), links[1])
    assert _callbacks(app) == []
    assert receiver.received == []


def test_a_callback_address_that_refuses_is_tried_with_back_off_then_failed(
        app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
        receiver: Receiver) -> None:
    candidate, attempt = _ordered_candidate_starts(app, greenhouse, assessment_id, receiver)
    assert candidate.post(f"/a/{attempt}/finish").status_code in (302, 303)
    # Finished with nothing submitted: complete at once (no score), the callback written.
    [callback] = _callbacks(app)
    receiver.answers = [500]
    outcomes = [_deliver(app, callback.id, days=2 * step)
                for step in range(webhook_sending.MAX_TRIES)]
    assert [o.status for o in outcomes] == ["pending"] * (webhook_sending.MAX_TRIES - 1) + [
        "failed"]
    assert len(receiver.received) == webhook_sending.MAX_TRIES
    [failed] = _callbacks(app)
    assert failed.error == "the endpoint answered 500" and failed.response_status == 500


def _deadline_passes(app: Flask) -> None:
    with app.app_context():
        db.session.execute(update(Attempt).values(deadline=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _submit_due_drafts(app: Flask) -> list[drafts.DeadlineOutcome]:
    with app.app_context():
        return drafts.submit_due_drafts(blobs=grading_settings().blobs, queue=get_queue(),
                                        bundles=get_bundles(), now=utcnow())


def _save_draft(client: Any, attempt: str, code: str) -> None:
    saved = client.post(f"/a/{attempt}/c/{SLUG}/draft",
                        json={"files": [{"name": "solution.py", "content": code}]})
    assert saved.status_code == 200, saved.text


def test_time_up_with_saved_drafts_the_callback_waits_for_the_deadline_job(
        app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
        receiver: Receiver) -> None:
    candidate, attempt = _ordered_candidate_starts(app, greenhouse, assessment_id, receiver)
    _save_draft(candidate, attempt, "print('draft')")
    _deadline_passes(app)
    # The page's visit closes the attempt at its deadline; the saved draft is not in yet.
    assert "Time is up" in candidate.get(f"/a/{attempt}/done", follow_redirects=True).text
    assert _callbacks(app) == []
    [outcome] = _submit_due_drafts(app)
    assert outcome.submission_id is not None
    assert _callbacks(app) == [], "the draft's submission is still to be graded"
    with app.app_context():
        grading.grade_submission(outcome.submission_id, grading_settings(),
                                 evaluate=_graded(40.0))
    [callback] = _callbacks(app)
    assert callback.status == "pending"


def test_time_up_with_drafts_it_cannot_submit_the_deadline_job_completes_the_candidate(
        app: Flask, greenhouse: Callable[..., Any], assessment_id: int,
        receiver: Receiver) -> None:
    """The deadline job claims drafts and submits nothing (here: the challenge's files went
    missing on the server): no grading will follow, so the claim itself completes the
    candidate and writes the callback."""
    candidate, attempt = _ordered_candidate_starts(app, greenhouse, assessment_id, receiver)
    _save_draft(candidate, attempt, "print('draft')")
    _deadline_passes(app)
    candidate.get(f"/a/{attempt}/done", follow_redirects=True)
    assert _callbacks(app) == [], "the saved draft waits for the deadline job"
    with app.app_context():
        db.session.execute(update(Challenge).where(Challenge.slug == SLUG)
                           .values(version="sha256:" + "0" * 64))
        db.session.commit()
    [outcome] = _submit_due_drafts(app)
    assert outcome.submission_id is None and outcome.note.startswith("not submitted:")
    [callback] = _callbacks(app)
    assert callback.event == "ats.complete"
