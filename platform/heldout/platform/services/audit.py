"""The audit log: who did what, when and from where. Events are added, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from heldout.platform.extensions import db
from heldout.platform.models import AuditEvent, User, utcnow
from heldout.platform.services.paging import page_window

PAGE_SIZE = 50
MAX_USER_AGENT = 300

# The actions recorded, with the words the log page shows for each.
ACTIONS: dict[str, str] = {
    "login.success": "signed in",
    "login.failure": "failed to sign in",
    "invite.create": "created an invite",
    "invite.bulk": "invited candidates from a CSV",
    "invite.resend": "resent an invite",
    "invite.extend": "extended an invite",
    "invite.revoke": "revoked an invite",
    "invite.accommodation": "set a candidate's accommodation",
    "attempt.break_start": "started a break (clock paused)",
    "attempt.break_end": "ended a break (clock running)",
    "review.submit": "submitted a review",
    "review.save": "saved a review draft",
    "export.candidates": "exported candidates",
    "export.adverse_impact": "exported an adverse-impact report",
    "assessment.archive": "archived or restored an assessment",
    "assessment.team": "moved an assessment to a team",
    "user.create": "created a user",
    "user.disable": "disabled a user",
    "user.enable": "enabled a user",
    "user.role": "changed a user's role",
    "user.password_reset": "reset a password",
    "user.teams": "changed a user's teams",
    "team.create": "created a team",
    "api_token.create": "created an API token",
    "api_token.revoke": "revoked an API token",
    "api.call": "called the API",
    "webhook.create": "registered a webhook endpoint",
    "webhook.update": "changed a webhook endpoint",
    "webhook.enable": "switched a webhook endpoint on",
    "webhook.disable": "switched a webhook endpoint off",
    "webhook.secret": "made a new webhook secret",
    "webhook.delete": "removed a webhook endpoint",
    "webhook.test": "sent a test event to a webhook endpoint",
    "webhook.redeliver": "sent a webhook delivery again",
    "candidate.export": "exported a candidate's data",
    "candidate.erase": "erased a candidate's data",
    "retention.run": "deleted data past its retention period",
    "retention.start": "ran the retention job by hand",
    "problem_report.resolve": "resolved a candidate's problem report",
    "problem_report.reopen": "reopened a candidate's problem report",
    "signal.review": "marked an integrity signal reviewed",
}


@dataclass(frozen=True)
class Origin:
    """Where an action came from: the client's address and its user agent. The web layer
    reads them from the request; the command line and the worker have none."""

    ip: str | None = None
    user_agent: str | None = None


NO_ORIGIN = Origin()


def record(actor: User | None, action: str, target_type: str = "",
           target_id: int | str | None = None, detail: dict[str, Any] | None = None, *,
           origin: Origin = NO_ORIGIN, actor_label: str | None = None,
           commit: bool = True) -> AuditEvent:
    """Add one event. ``actor`` None is someone not signed in (``actor_label`` says who
    they claimed to be). Commits unless the caller's own transaction is about to."""
    ip, user_agent = origin.ip, origin.user_agent
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=(actor.email if actor is not None else (actor_label or ""))[:254],
        action=action, target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        detail=dict(detail or {}), ip=(ip or None) and ip[:64],
        user_agent=(user_agent or None) and user_agent[:MAX_USER_AGENT], created_at=utcnow())
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""              # part of the actor's e-mail
    action: str = ""             # an action name, or its prefix ("invite.")
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    events: tuple[AuditEvent, ...]
    page: int
    pages: int
    total: int


def search(criteria: AuditFilter, *, page: int = 1, per_page: int = PAGE_SIZE) -> AuditPage:
    """Events matching ``criteria``, newest first, one page of them."""
    query = select(AuditEvent)
    if criteria.actor:
        query = query.where(AuditEvent.actor_label.contains(criteria.actor.strip().lower()))
    if criteria.action:
        action = criteria.action.strip()
        query = query.where(AuditEvent.action.startswith(action) if action.endswith(".")
                            else AuditEvent.action == action)
    if criteria.since is not None:
        query = query.where(AuditEvent.created_at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.created_at < criteria.until)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    window = page_window(total, page, per_page)
    events = db.session.scalars(query.order_by(AuditEvent.created_at.desc(),
                                               AuditEvent.id.desc())
                                .offset(window.offset).limit(per_page))
    return AuditPage(tuple(events), window.page, window.pages, total)
