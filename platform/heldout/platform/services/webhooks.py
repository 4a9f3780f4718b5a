"""Webhooks: a team's endpoints hear what happens to its candidates, signed, retried, logged.

An event becomes one delivery row per endpoint that asked for it, written in the same
transaction as the change it reports: a change rolled back sends nothing, a committed one
is never lost. Once that transaction commits, each delivery goes on the queue; a worker
sends it. A receiver that hangs or fails costs a worker's time, never the time of the
request that caused the event. Failed tries back off exponentially; after the last one
the delivery is ``failed`` and an admin can send it again by hand. The watchdog queues
again whatever the queue lost (``requeue_due``).

How deliveries are signed and sent is ``webhook_sending``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Invite,
    Review,
    Submission,
    Team,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    new_public_id,
)
from heldout.platform.services import access, audit
from heldout.platform.services.paging import page_window

log = logging.getLogger(__name__)

# The events an endpoint may ask for, with what each means (the admin page shows it).
EVENTS: Mapping[str, str] = {
    "invite.opened": "a candidate opened their invite link for the first time",
    "attempt.started": "a candidate started the assessment (the clock runs)",
    "attempt.completed": "an attempt ended: finished by the candidate or at its deadline",
    "evaluation.graded": "a submission was graded (its score is final for that submission)",
    "review.submitted": "an interviewer submitted their review of a candidate",
}
# Sent only by "Send a test event" on the endpoint's page.
PING = "ping"
# The task that sends one delivery (the queue's name for it).
QUEUE_KIND = "deliver_webhook"
MAX_URL = 500
MAX_DESCRIPTION = 200
STATUSES = ("pending", "sending", "delivered", "failed")
# Where a payload's links point (paths of the REST API, on the instance's own address).
API = "/api/v1"
PAGE_SIZE = 50

# Where the app keeps how to queue a job (``JobQueue.enqueue``), set by ``create_app``.
ENQUEUE_KEY = "heldout.webhooks.enqueue"
# The deliveries a session has written, by id, to queue once its transaction commits.
_WRITTEN = "heldout.webhook_deliveries"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- endpoints -----------------------------------------------------------------------

@dataclass(frozen=True)
class EndpointInput:
    team_id: int | None
    url: str
    events: Sequence[str]
    description: str = ""


def _checked(data: EndpointInput) -> tuple[Team, str, list[str], str]:
    team = db.session.get(Team, data.team_id) if data.team_id is not None else None
    if team is None:
        raise InvalidInput("Choose the team whose events this endpoint receives.", field="team")
    url = data.url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("Give the endpoint's full address, starting with https:// "
                           "(or http://).", field="url")
    if len(url) > MAX_URL:
        raise InvalidInput(f"The address is too long ({len(url)} characters; at most "
                           f"{MAX_URL}).", field="url")
    if parts.username or parts.password:
        raise InvalidInput("Leave credentials out of the address: every delivery is signed "
                           "with the endpoint's secret instead.", field="url")
    unknown = sorted(set(data.events) - set(EVENTS))
    if unknown:
        raise InvalidInput(f"Unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}.",
                           field="events")
    events = [name for name in EVENTS if name in set(data.events)]
    if not events:
        raise InvalidInput("Choose at least one event to receive.", field="events")
    description = " ".join(data.description.split())
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"The description is too long (at most {MAX_DESCRIPTION} "
                           "characters).", field="description")
    return team, url, events, description


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def create_endpoint(data: EndpointInput, *, actor: User, origin: audit.Origin) -> NewEndpoint:
    """Register an endpoint; its secret is returned here, to be shown once."""
    team, url, events, description = _checked(data)
    secret = new_secret()
    endpoint = WebhookEndpoint(team_id=team.id, url=url, events=events, secret=secret,
                               description=description, active=True, created_by_id=actor.id)
    db.session.add(endpoint)
    db.session.flush()
    audit.record(actor, "webhook.create", "webhook", endpoint.id,
                 {"url": url, "team": team.slug, "events": events}, origin=origin, commit=False)
    db.session.commit()
    return NewEndpoint(endpoint, secret)


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}")
    return endpoint


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    delivered: int
    failed: int
    waiting: int
    last: WebhookDelivery | None


def list_endpoints() -> list[EndpointRow]:
    """Every endpoint with the counts of its deliveries and its latest one."""
    endpoints = list(db.session.scalars(select(WebhookEndpoint)
                                        .order_by(WebhookEndpoint.team_id, WebhookEndpoint.id)))
    counts: dict[tuple[int, str], int] = {
        (int(e), str(s)): int(n) for e, s, n in db.session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status))
        if e is not None}  # None: callbacks to an ATS (services/ats/callbacks.py)
    rows = []
    for endpoint in endpoints:
        last = db.session.scalar(select(WebhookDelivery)
                                 .where(WebhookDelivery.endpoint_id == endpoint.id)
                                 .order_by(WebhookDelivery.id.desc()).limit(1))
        rows.append(EndpointRow(endpoint, counts.get((endpoint.id, "delivered"), 0),
                                counts.get((endpoint.id, "failed"), 0),
                                counts.get((endpoint.id, "pending"), 0)
                                + counts.get((endpoint.id, "sending"), 0), last))
    return rows


def update_endpoint(endpoint_id: int, data: EndpointInput, *, actor: User,
                    origin: audit.Origin) -> WebhookEndpoint:
    endpoint = get_endpoint(endpoint_id)
    team, url, events, description = _checked(data)
    endpoint.team_id, endpoint.url, endpoint.events = team.id, url, events
    endpoint.description = description
    audit.record(actor, "webhook.update", "webhook", endpoint.id,
                 {"url": url, "team": team.slug, "events": events}, origin=origin, commit=False)
    db.session.commit()
    return endpoint


def set_active(endpoint_id: int, active: bool, *, actor: User, origin: audit.Origin,
               now: datetime) -> WebhookEndpoint:
    """Switch an endpoint on or off. Off: no new deliveries, and those still waiting fail."""
    endpoint = get_endpoint(endpoint_id)
    endpoint.active = active
    if not active:
        db.session.execute(update(WebhookDelivery)
                           .where(WebhookDelivery.endpoint_id == endpoint.id,
                                  WebhookDelivery.status == "pending")
                           .values(status="failed", next_try_at=None,
                                   error="not sent: the endpoint was switched off"))
    audit.record(actor, "webhook.enable" if active else "webhook.disable", "webhook",
                 endpoint.id, {"url": endpoint.url}, origin=origin, commit=False)
    db.session.commit()
    return endpoint


def roll_secret(endpoint_id: int, *, actor: User, origin: audit.Origin) -> NewEndpoint:
    """A new secret for the endpoint (the old one signs nothing from now on)."""
    endpoint = get_endpoint(endpoint_id)
    endpoint.secret = new_secret()
    audit.record(actor, "webhook.secret", "webhook", endpoint.id, {"url": endpoint.url},
                 origin=origin, commit=False)
    db.session.commit()
    return NewEndpoint(endpoint, endpoint.secret)


def delete_endpoint(endpoint_id: int, *, actor: User, origin: audit.Origin) -> None:
    """Remove an endpoint and its delivery log (the audit log keeps that it existed)."""
    endpoint = get_endpoint(endpoint_id)
    audit.record(actor, "webhook.delete", "webhook", endpoint.id,
                 {"url": endpoint.url, "team": endpoint.team.slug}, origin=origin, commit=False)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: tuple[WebhookDelivery, ...]
    page: int
    pages: int
    total: int


def deliveries(endpoint_id: int, *, status: str = "", page: int = 1,
               per_page: int = PAGE_SIZE) -> DeliveryPage:
    """The endpoint's delivery log, newest first, one page of it."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status in STATUSES:
        query = query.where(WebhookDelivery.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    window = page_window(total, page, per_page)
    rows = db.session.scalars(query.order_by(WebhookDelivery.id.desc())
                              .offset(window.offset).limit(per_page))
    return DeliveryPage(tuple(rows), window.page, window.pages, total)


# --- events --------------------------------------------------------------------------

def _body(event_name: str, team: Team | None, data: Mapping[str, Any], now: datetime) -> str:
    payload = {"id": "evt_" + new_public_id(), "event": event_name,
               "created_at": now.isoformat(),
               "team": None if team is None else {"id": team.id, "slug": team.slug},
               "data": dict(data)}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _delivery(endpoint: WebhookEndpoint, event_name: str, body: str,
              now: datetime) -> WebhookDelivery:
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event=event_name, body=body,
                               status="pending", tries=0, next_try_at=now, created_at=now,
                               response_body="", error="")
    db.session.add(delivery)
    return delivery


def emit(event_name: str, assessment: Assessment, data: Mapping[str, Any], *,
         now: datetime) -> int:
    """Write the deliveries of one event about ``assessment``'s work to the endpoints of its
    team that asked for it, in the caller's transaction (queued once it commits). Returns
    how many were written."""
    if event_name not in EVENTS:
        raise ValueError(f"unknown webhook event {event_name!r}; known: {', '.join(EVENTS)}")
    team_id = access.team_id_of(assessment)
    if team_id is None:
        return 0
    endpoints = [endpoint for endpoint in db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id,
                                      WebhookEndpoint.active.is_(True)))
        if event_name in (endpoint.events or [])]
    if not endpoints:
        return 0
    body = _body(event_name, endpoints[0].team, data, now)
    for endpoint in endpoints:
        _delivery(endpoint, event_name, body, now)
    return len(endpoints)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def invite_opened(invite: Invite, *, now: datetime) -> None:
    emit("invite.opened", invite.assessment, {
        "invite": {"id": invite.id, "assessment_id": invite.assessment_id,
                   "candidate_name": invite.candidate_name,
                   "candidate_email": invite.candidate_email,
                   "opened_at": _when(invite.opened_at)},
        "links": {"invite": f"{API}/invites/{invite.id}"}}, now=now)


def _attempt(attempt: Attempt) -> dict[str, Any]:
    invite = attempt.invite
    return {"id": attempt.id, "invite_id": invite.id, "assessment_id": invite.assessment_id,
            "candidate_name": invite.candidate_name, "candidate_email": invite.candidate_email,
            "started_at": _when(attempt.started_at), "deadline": _when(attempt.deadline),
            "finished_at": _when(attempt.finished_at), "finish_reason": attempt.finish_reason}


def _attempt_links(attempt: Attempt) -> dict[str, str]:
    return {"attempt": f"{API}/attempts/{attempt.id}",
            "report": f"{API}/attempts/{attempt.id}/report"}


# Who else wants to know when a candidate's work moves on (an attempt closed, a submission
# graded), in the caller's transaction: the app registers services/ats/callbacks.py and
# services/feedback.py here (app.py), so the grading pipeline need not import them.
Progress = Callable[[Attempt, datetime], object]
_PROGRESS: list[Progress] = []


def on_progress(listener: Progress) -> Progress:
    if listener not in _PROGRESS:
        _PROGRESS.append(listener)
    return listener


def _progressed(attempt: Attempt, now: datetime) -> None:
    for listener in _PROGRESS:
        listener(attempt, now)


def attempt_started(attempt: Attempt, *, now: datetime) -> None:
    emit("attempt.started", attempt.invite.assessment,
         {"attempt": _attempt(attempt), "links": _attempt_links(attempt)}, now=now)


def attempt_completed(attempt: Attempt, *, now: datetime) -> None:
    emit("attempt.completed", attempt.invite.assessment,
         {"attempt": _attempt(attempt), "links": _attempt_links(attempt)}, now=now)
    _progressed(attempt, now)


def deadline_drafts_settled(attempt: Attempt, *, now: datetime) -> None:
    """The deadline job claimed a challenge's drafts without submitting them (nothing new
    since the last submission, or refused): no event of its own, but the candidate's work
    may be all in now."""
    _progressed(attempt, now)


def evaluation_graded(submission: Submission, *, score: float | None, max_score: float,
                      now: datetime) -> None:
    attempt = submission.attempt
    emit("evaluation.graded", attempt.invite.assessment, {
        "submission": {"id": submission.id, "attempt_id": attempt.id,
                       "challenge": submission.challenge_slug,
                       "challenge_version": submission.challenge_version,
                       "score": score, "max_score": max_score,
                       "submitted_at": _when(submission.created_at), "graded_at": _when(now)},
        "attempt": {"id": attempt.id, "candidate_email": attempt.invite.candidate_email},
        "links": _attempt_links(attempt)}, now=now)
    _progressed(attempt, now)


def review_submitted(review: Review, *, attempt: Attempt, reviewer: User,
                     now: datetime) -> None:
    emit("review.submitted", attempt.invite.assessment, {
        "review": {"id": review.id, "attempt_id": attempt.id,
                   "reviewer_email": reviewer.email,
                   "recommendation": review.recommendation,
                   "submitted_at": _when(review.submitted_at)},
        "attempt": {"id": attempt.id, "candidate_email": attempt.invite.candidate_email},
        "links": _attempt_links(attempt)}, now=now)


def send_test(endpoint_id: int, *, actor: User, origin: audit.Origin,
              now: datetime) -> WebhookDelivery:
    """Queue a ``ping`` to the endpoint, whatever events it asked for."""
    endpoint = get_endpoint(endpoint_id)
    body = _body(PING, endpoint.team, {"message": "A test event from heldout.",
                                       "endpoint": endpoint.id}, now)
    delivery = _delivery(endpoint, PING, body, now)
    db.session.flush()
    audit.record(actor, "webhook.test", "webhook", endpoint.id, {"delivery": delivery.public_id},
                 origin=origin, commit=False)
    db.session.commit()
    return delivery


def redeliver(endpoint_id: int, delivery_id: int, *, actor: User, origin: audit.Origin,
              now: datetime) -> WebhookDelivery:
    """Send a logged delivery again: the same body (the same event id, so a receiver can
    tell it has seen it), as a new delivery with tries of its own."""
    original = db.session.get(WebhookDelivery, delivery_id)
    endpoint = None if original is None else original.endpoint
    if original is None or endpoint is None or endpoint.id != endpoint_id:
        raise NotFound(f"No delivery {delivery_id} for this endpoint")
    if not endpoint.active:
        raise InvalidInput("The endpoint is switched off; switch it on to send again.")
    delivery = _delivery(endpoint, original.event, original.body, now)
    db.session.flush()
    audit.record(actor, "webhook.redeliver", "webhook", endpoint_id,
                 {"delivery": original.public_id, "again_as": delivery.public_id},
                 origin=origin, commit=False)
    db.session.commit()
    return delivery


# --- queueing once committed ---------------------------------------------------------

@event.listens_for(Session, "after_flush")
def _note_written(session: Session, _context: Any) -> None:
    written = [obj.id for obj in session.new if isinstance(obj, WebhookDelivery)]
    if written:
        session.info.setdefault(_WRITTEN, []).extend(written)


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_commit")
def _queue_written(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    if not written or not has_app_context():
        return
    enqueue = current_app.extensions.get(ENQUEUE_KEY)
    if enqueue is None:  # an app without a queue: the watchdog of one that has sends them
        return
    for delivery_id in written:
        try:
            enqueue(QUEUE_KIND, delivery_id)
        except Exception as exc:  # the queue is away: the watchdog queues it again
            log.warning("webhook delivery %s not queued (%s); the watchdog will", delivery_id,
                        exc)
            return

