"""Webhooks: signed deliveries to a real receiver on 127.0.0.1, retried, logged, redelivered.

The receiver is a real HTTP server in a thread; deliveries go through the same function
the worker's task runs (``webhook_sending.deliver``), after the request that caused the event
has returned.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    AuditEvent,
    Submission,
    Team,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from heldout.platform.queue import get_queue
from heldout.platform.services import attempts, audit, drafts, reviews, webhook_sending, webhooks
from heldout.platform.services.webhook_sending import SIGNATURE_HEADER, verify
from tests.platform.conftest import Auth, NewInvite, Users
from tests.platform.http_receiver import Receiver


@pytest.fixture
def team_id(app: Flask, assessment_id: int) -> int:
    """The assessment's team (the tests' app has no default team)."""
    with app.app_context():
        team = Team(slug="hiring", name="Hiring")
        db.session.add(team)
        db.session.flush()
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        assessment.team_id = team.id
        db.session.commit()
        return team.id


def _register(client: FlaskClient, team_id: int, url: str, events: list[str]) -> tuple[int, str]:
    """Register an endpoint through the admin page; its id and the secret shown once."""
    response = client.post("/admin/webhooks/", data={"url": url, "team": str(team_id),
                                                     "events": events, "description": "ATS"})
    assert response.status_code == 303, response.text
    page = client.get(response.headers["Location"])
    match = re.search(r'id="webhook-secret">(whsec_[^<]+)<', page.text)
    assert match, "the secret is shown on the page after registering"
    endpoint_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    again = client.get(response.headers["Location"])
    assert match.group(1) not in again.text, "the secret is shown once only"
    return endpoint_id, match.group(1)


def _deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        db.session.expunge_all()
        return rows


def _deliver_all(app: Flask, **options: Any) -> list[webhook_sending.DeliveryOutcome]:
    with app.app_context():
        ids = list(db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))
        return [webhook_sending.deliver(i, now=utcnow(), **options) for i in ids]


def test_events_are_signed_and_reach_a_real_receiver_after_the_request(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver) -> None:
    auth.login("admin")
    endpoint_id, secret = _register(client, team_id, receiver.url,
                                    ["invite.opened", "attempt.started", "attempt.completed"])
    candidate = app.test_client()
    assert candidate.get(invite.url, follow_redirects=True).status_code == 200
    public_id = start(candidate, invite)
    assert candidate.post(f"/a/{public_id}/finish").status_code in (302, 303)

    # The requests wrote the deliveries and queued them; none was sent by the request.
    rows = _deliveries(app)
    assert [row.event for row in rows] == ["invite.opened", "attempt.started",
                                          "attempt.completed"]
    assert receiver.received == []
    with app.app_context():
        assert get_queue().waiting(webhooks.QUEUE_KIND) == {row.id for row in rows}

    outcomes = _deliver_all(app)
    assert [o.status for o in outcomes] == ["delivered"] * 3
    assert len(receiver.received) == 3
    for (headers, body), row in zip(receiver.received, rows, strict=True):
        assert verify(secret, body, headers[SIGNATURE_HEADER], now=time.time())
        assert not verify(secret, body + b" ", headers[SIGNATURE_HEADER],
                                   now=time.time())
        assert headers["Heldout-Event"] == row.event
        assert headers["Heldout-Delivery"] == row.public_id
        assert headers["Content-Type"] == "application/json"
        payload = json.loads(body)
        assert payload["event"] == row.event and payload["id"].startswith("evt_")
        assert payload["team"]["id"] == team_id
    started = json.loads(receiver.received[1][1])["data"]
    assert started["attempt"]["candidate_email"] == "cara@example.org"
    assert started["links"]["attempt"] == f"/api/v1/attempts/{started['attempt']['id']}"
    completed = json.loads(receiver.received[2][1])["data"]["attempt"]
    assert completed["finish_reason"] == "candidate" and completed["finished_at"]

    log = client.get(f"/admin/webhooks/{endpoint_id}")
    assert log.status_code == 200
    assert log.text.count("badge-delivered") == 3 and "HTTP 200" in log.text


def test_only_the_events_asked_for_and_only_the_teams_own(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver) -> None:
    auth.login("admin")
    with app.app_context():
        other = Team(slug="other", name="Other")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    _register(client, team_id, receiver.url, ["attempt.started"])
    _register(client, other_id, receiver.url, ["invite.opened", "attempt.started"])
    start(app.test_client(), invite)
    rows = _deliveries(app)
    assert [(row.event, row.endpoint and row.endpoint.team_id) for row in rows] == [
        ("attempt.started", team_id)]


def test_a_failing_receiver_is_tried_again_with_back_off_then_succeeds(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver) -> None:
    auth.login("admin")
    _register(client, team_id, receiver.url, ["attempt.started"])
    start(app.test_client(), invite)
    receiver.answers = [500, 200]
    now = utcnow()
    with app.app_context():
        (delivery_id,) = db.session.scalars(select(WebhookDelivery.id))
        first = webhook_sending.deliver(delivery_id, now=now)
        assert (first.status, first.retry_in) == ("pending", webhook_sending.RETRY_SECONDS[0])
        assert first.detail == "the endpoint answered 500"
        early = webhook_sending.deliver(delivery_id, now=now + timedelta(seconds=5))
        assert early.status == "skipped"
        second = webhook_sending.deliver(delivery_id, now=now + timedelta(seconds=31))
        assert second.status == "delivered"
        row = db.session.get(WebhookDelivery, delivery_id)
        assert row is not None
        assert (row.tries, row.response_status, row.response_body) == (2, 200, "answer 200")
    assert len(receiver.received) == 2
    # The same delivery both times: a receiver can tell a retry from a new event.
    assert receiver.received[0][1] == receiver.received[1][1]
    assert receiver.received[0][0]["Heldout-Delivery"] == receiver.received[1][0]["Heldout-Delivery"]


def test_after_the_last_try_it_fails_and_an_admin_sends_it_again(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver) -> None:
    auth.login("admin")
    endpoint_id, _ = _register(client, team_id, receiver.url, ["attempt.started"])
    start(app.test_client(), invite)
    receiver.answers = [503]
    now = utcnow()
    with app.app_context():
        (delivery_id,) = db.session.scalars(select(WebhookDelivery.id))
        for step in range(webhook_sending.MAX_TRIES):
            outcome = webhook_sending.deliver(delivery_id, now=now + timedelta(days=2 * step))
        assert outcome.status == "failed" and outcome.retry_in is None
    assert len(receiver.received) == webhook_sending.MAX_TRIES

    receiver.answers = [204]
    response = client.post(f"/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
    assert response.status_code == 303
    rows = _deliveries(app)
    assert len(rows) == 2 and rows[1].body == rows[0].body and rows[1].status == "pending"
    with app.app_context():
        assert webhook_sending.deliver(rows[1].id, now=utcnow()).status == "delivered"
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert "webhook.redeliver" in actions
    assert json.loads(receiver.received[-1][1])["id"] == json.loads(rows[0].body)["id"]


def test_a_hanging_receiver_never_holds_the_request_and_times_out_in_the_worker(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver) -> None:
    auth.login("admin")
    _register(client, team_id, receiver.url, ["attempt.started"])
    receiver.hang = 3.0
    start(app.test_client(), invite)  # returns with nothing sent
    assert receiver.received == []
    outcome = _deliver_all(app, timeout=urllib3.Timeout(total=0.5))[0]
    assert outcome.status == "pending" and outcome.retry_in == webhook_sending.RETRY_SECONDS[0]
    assert "timed out" in outcome.detail.lower()


def test_a_change_rolled_back_sends_nothing(app: Flask, team_id: int, assessment_id: int,
                                             receiver: Receiver, users: Users) -> None:
    with app.app_context():
        admin = db.session.get(User, users.admin)
        assert admin is not None
        webhooks.create_endpoint(webhooks.EndpointInput(team_id, receiver.url,
                                                        ["attempt.started"]),
                                 actor=admin, origin=audit.NO_ORIGIN)
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        assert webhooks.emit("attempt.started", assessment, {"x": 1}, now=utcnow()) == 1
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0
        assert get_queue().waiting(webhooks.QUEUE_KIND) == set()


def test_graded_submissions_reviews_and_deadlines_are_events(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, invite: NewInvite,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver,
        users: Users) -> None:
    from heldout.graders.result import Evaluation
    from heldout.platform.services import grading
    from heldout.platform.tasks import grading_settings

    auth.login("admin")
    _register(client, team_id, receiver.url,
              ["evaluation.graded", "review.submitted", "attempt.completed"])
    public_id = start(app.test_client(), invite)
    with app.app_context():
        attempt = attempts.get_attempt(public_id)
        challenge = attempt.invite.assessment.challenges[0]
        slug = challenge.slug
        submission = Submission(attempt_id=attempt.id, challenge_id=challenge.id,
                                challenge_slug=challenge.slug,
                                challenge_version=challenge.version, status="queued")
        db.session.add(submission)
        db.session.commit()

        def scored(bundle: Any, _directory: Any) -> Evaluation:
            # The grading job's own path stores this result; only the sandbox run is left
            # out (a webhook does not depend on how the score was reached).
            return Evaluation(challenge=bundle.slug, version=bundle.version,
                              status="graded", score=87.5, max_score=100.0)

        outcome = grading.grade_submission(submission.id, grading_settings(), evaluate=scored)
        assert outcome.status == "graded"
        reviewer = db.session.get(User, users.interviewer)
        assert reviewer is not None
        rubric = reviews.rubric_for(attempt)
        reviews.save_review(attempt.id, reviewer, reviews.ReviewInput(
            levels={c.key: "3" for c in rubric}, notes="Solid.", recommendation="yes",
            submit=True), now=utcnow())
        drafts.close_overdue_attempts(attempt.deadline + timedelta(seconds=1))
    rows = _deliveries(app)
    assert [row.event for row in rows] == ["evaluation.graded", "review.submitted",
                                          "attempt.completed"]
    graded = json.loads(rows[0].body)["data"]["submission"]
    assert graded["score"] == 87.5 and graded["challenge"] == slug
    review = json.loads(rows[1].body)["data"]["review"]
    assert review["recommendation"] == "yes" and review["reviewer_email"] == "interviewer@example.com"
    assert json.loads(rows[2].body)["data"]["attempt"]["finish_reason"] == "deadline"


def test_bad_endpoint_input_is_refused_with_the_reason(
        client: FlaskClient, auth: Auth, team_id: int) -> None:
    auth.login("admin")
    for form, words in (({"url": "ftp://x.example/", "events": ["ping"]}, "full address"),
                        ({"url": "https://x.example/", "events": []}, "at least one event"),
                        ({"url": "https://u:p@x.example/", "events": ["attempt.started"]},
                         "credentials"),
                        ({"url": "https://x.example/", "events": ["attempt.exploded"]},
                         "Unknown event")):
        response = client.post("/admin/webhooks/", data={**form, "team": str(team_id)})
        assert response.status_code == 400, form
        assert words in response.text, form
    assert "whsec_" not in client.get("/admin/webhooks/").text


def test_switching_off_fails_what_waits_and_stops_new_events(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, make_invite: Any,
        start: Callable[[FlaskClient, NewInvite], str], receiver: Receiver) -> None:
    auth.login("admin")
    endpoint_id, _ = _register(client, team_id, receiver.url, ["attempt.started"])
    start(app.test_client(), make_invite())
    assert client.post(f"/admin/webhooks/{endpoint_id}/active",
                       data={"active": "0"}).status_code == 303
    start(app.test_client(), make_invite(name="Dan", email="dan@example.org"))
    rows = _deliveries(app)
    assert [(row.status, row.error) for row in rows] == [
        ("failed", "not sent: the endpoint was switched off")]
    assert _deliver_all(app)[0].status == "skipped"
    assert receiver.received == []


def test_a_test_event_a_new_secret_and_removal(
        app: Flask, client: FlaskClient, auth: Auth, team_id: int, receiver: Receiver) -> None:
    auth.login("admin")
    endpoint_id, secret = _register(client, team_id, receiver.url, ["attempt.started"])
    assert client.post(f"/admin/webhooks/{endpoint_id}/test").status_code == 303
    rolled = client.post(f"/admin/webhooks/{endpoint_id}/secret")
    match = re.search(r'id="webhook-secret">(whsec_[^<]+)<', client.get(rolled.headers["Location"]).text)
    assert match and match.group(1) != secret
    assert [o.status for o in _deliver_all(app)] == ["delivered"]
    headers, body = receiver.received[0]
    assert json.loads(body)["event"] == "ping"
    assert verify(match.group(1), body, headers[SIGNATURE_HEADER], now=time.time())
    assert not verify(secret, body, headers[SIGNATURE_HEADER], now=time.time())
    assert client.post(f"/admin/webhooks/{endpoint_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0


def test_a_signature_too_old_is_refused() -> None:
    body = b'{"event":"ping"}'
    header = webhook_sending.sign("whsec_x", body, 1_000_000)
    assert verify("whsec_x", body, header, now=1_000_000 + 299)
    assert not verify("whsec_x", body, header, now=1_000_000 + 301)
    assert not verify("whsec_x", body, "t=abc,v1=00", now=1_000_000)


def test_the_watchdog_queues_again_what_the_queue_lost(
        app: Flask, team_id: int, assessment_id: int, receiver: Receiver, users: Users) -> None:
    with app.app_context():
        admin = db.session.get(User, users.admin)
        assert admin is not None
        webhooks.create_endpoint(webhooks.EndpointInput(team_id, receiver.url,
                                                        ["attempt.started"]),
                                 actor=admin, origin=audit.NO_ORIGIN)
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment is not None
        webhooks.emit("attempt.started", assessment, {}, now=utcnow() - timedelta(minutes=5))
        db.session.commit()
        (delivery_id,) = db.session.scalars(select(WebhookDelivery.id))
        queued: list[int] = []
        assert webhook_sending.requeue_due({delivery_id}, queued.append, now=utcnow()) == 0
        assert webhook_sending.requeue_due(set(), queued.append, now=utcnow()) == 1
        assert queued == [delivery_id]


def test_the_readmes_verification_snippet_accepts_a_real_signature_and_refuses_others() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    found = re.search(r"## Webhooks.*?```python\n(.*?)```", readme, re.S)
    assert found, "README.md has a Python verification snippet under ## Webhooks"
    namespace: dict[str, Any] = {}
    exec(found.group(1), namespace)  # the project's own documentation, run as written
    verified = namespace["verified"]
    body = b'{"event":"ping"}'
    header = webhook_sending.sign("whsec_readme", body, int(time.time()))
    assert verified("whsec_readme", body, header)
    assert not verified("whsec_other", body, header)
    assert not verified("whsec_readme", body + b"x", header)
    assert not verified("whsec_readme", body, webhook_sending.sign("whsec_readme", body, 1_000_000))
