"""Invites: list them, invite one or many candidates (their links handed over once, in the
answer), resend, extend and revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue

from heldout.platform.models import Invite
from heldout.platform.services import bulk_invites, invites, mail
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.scoring import invite_state
from heldout.platform.views.api.v1 import schemas
from heldout.platform.views.api.v1.assessments import ID as ASSESSMENT_ID
from heldout.platform.views.api.v1.base import (
    bp,
    check_if_match,
    operation,
    resource,
    updated,
    updates,
)
from heldout.platform.views.auth import record_action
from heldout.platform.views.common import invite_link, now

# As on the pages: recruiters invite (interviewers don't see the invites table).
RECRUITERS = ("recruiter",)
TAGS = ["Invites"]
ID = "<int:invite_id>"
# How a link made through the API was handed over (Invite.delivery).
DELIVERY = "api"


def invite_record(invite: Invite, *, at: datetime, score: float | None = None) -> dict[str, Any]:
    return {"id": invite.id, "assessment_id": invite.assessment_id,
            "candidate_name": invite.candidate_name, "candidate_email": invite.candidate_email,
            "note": invite.note, "status": invite_state(invite, at),
            "created_at": invite.created_at, "sent_at": invite.sent_at,
            "expires_at": invite.expires_at, "opened_at": invite.opened_at,
            "started_at": invite.started_at, "finished_at": invite.finished_at,
            "revoked_at": invite.revoked_at, "delivery": invite.delivery,
            "send_error": invite.send_error, "resends": invite.resends or 0,
            "attempt_id": invite.attempt.id if invite.attempt is not None else None,
            "score": score}


def _with_link(new: invites.NewInvite, at: datetime) -> dict[str, Any]:
    return {**invite_record(new.invite, at=at), "link": invite_link(new.token)}


def _email(created: list[invites.NewInvite], kind: str) -> None:
    """E-mail the links too, when the server can send e-mail (each invite records whether
    its e-mail went out: ``delivery``, ``send_error``)."""
    smtp = mail.SmtpSettings.from_config(current_app.config)
    if smtp is not None and created:
        invites.deliver(created, kind=kind, smtp=smtp, link_for=invite_link,
                        org_name=current_app.config["HELDOUT_ORG_NAME"])


@operation(scope="read", roles=RECRUITERS)
@bp.etag
@bp.arguments(schemas.InviteQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.Invite(many=True))
@bp.paginate(page_size=50)
def list_invites(viewer: StaffViewer, assessment_id: int, pagination_parameters: Any,
                 status: str = "", changed_since: datetime | None = None) -> ResponseReturnValue:
    """An assessment's invites

    Newest first; filtered by status, or to those that changed since a time.
    """
    wanted, at = pagination_parameters, now()
    listing = invites.list_invites(assessment_id, now=at, state=status, page=wanted.page,
                                   per_page=wanted.page_size, changed_since=changed_since)
    wanted.item_count = listing.total
    if listing.page != wanted.page:
        return []  # past the last page
    return [invite_record(row.invite, at=at, score=row.score)
            for row in listing.rows]


@operation(scope="invite", roles=RECRUITERS)
@bp.arguments(schemas.InviteCreate)
@bp.response(201, schemas.InvitesCreated)
@bp.alt_response(400, response="BAD_REQUEST")
def create_invites(viewer: StaffViewer, body: dict[str, Any],
                   assessment_id: int) -> ResponseReturnValue:
    """Invite one or many candidates

    Each candidate's link is in this answer only: it is never stored, so keep or send it
    now (with `send_email`, the server e-mails it too). Candidates already invited to this
    assessment, twice in the list or with a bad address are left out, each with its
    reason (resend an existing invite instead).
    """
    config, at = current_app.config, now()
    created, preview = bulk_invites.create_many(
        assessment_id=assessment_id,
        rows=[(c["name"], c["email"], c.get("note", "")) for c in body["candidates"]],
        created_by_id=viewer.user.id, secret=config["SECRET_KEY"],
        ttl_days=config["HELDOUT_INVITE_TTL_DAYS"], now=at, delivery=DELIVERY)
    record_action(viewer.user, "invite.bulk" if len(body["candidates"]) > 1 else "invite.create",
                  "assessment", assessment_id, {"invited": len(created), "via": "api"})
    if body["send_email"]:
        _email(created, "invite")
    skipped = sorted(preview.bad + preview.already, key=lambda row: row.line)
    return {"created": [_with_link(new, at) for new in created],
            "skipped": [{"position": row.line, "reason": row.reason} for row in skipped]}


resource(f"/assessments/{ASSESSMENT_ID}/invites", "assessment_invites", tags=TAGS,
         get=list_invites, post=create_invites)


def _check_current(invite_id: int, at: datetime) -> None:
    """A stale ``If-Match`` refuses the change (412), before anything is changed."""
    check_if_match(schemas.Invite, invite_record(invites.get_invite(invite_id), at=at))


@bp.route(f"/invites/{ID}", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=RECRUITERS)
@bp.etag
@bp.response(200, schemas.Invite)
def get_invite(viewer: StaffViewer, invite_id: int) -> ResponseReturnValue:
    """One invite"""
    return invite_record(invites.get_invite(invite_id), at=now())


@bp.route(f"/invites/{ID}/resend", methods=["POST"], tags=TAGS)
@operation(scope="invite", roles=RECRUITERS)
@updates
@bp.arguments(schemas.Resend, required=False)
@bp.response(200, schemas.NewInvite)
@bp.alt_response(400, response="BAD_REQUEST")
def resend_invite(viewer: StaffViewer, body: dict[str, Any], invite_id: int) -> ResponseReturnValue:
    """A new link for an invite

    The old link stops working at once. For a started attempt, the new link continues it on
    another device. The link is in this answer only.
    """
    config, at = current_app.config, now()
    _check_current(invite_id, at)
    created = invites.resend_invite(invite_id, secret=config["SECRET_KEY"],
                                    ttl_days=config["HELDOUT_INVITE_TTL_DAYS"], now=at,
                                    delivery=DELIVERY)
    record_action(viewer.user, "invite.resend", "invite", invite_id, {"via": "api"})
    if body["send_email"]:
        _email([created], "continue" if created.invite.started_at is not None else "resend")
    return updated(_with_link(created, at), schemas.Invite, invite_record(created.invite, at=at))


@bp.route(f"/invites/{ID}/extend", methods=["POST"], tags=TAGS)
@operation(scope="invite", roles=RECRUITERS)
@updates
@bp.arguments(schemas.Extend)
@bp.response(200, schemas.Invite)
@bp.alt_response(400, response="BAD_REQUEST")
def extend_invite(viewer: StaffViewer, body: dict[str, Any], invite_id: int) -> ResponseReturnValue:
    """Give a candidate until a later time to start

    The same link keeps working.
    """
    at = now()
    _check_current(invite_id, at)
    invite = invites.extend_invite(invite_id, until=body["expires_at"], now=at)
    record_action(viewer.user, "invite.extend", "invite", invite_id,
                  {"until": invite.expires_at.isoformat(), "via": "api"})
    return updated(invite_record(invite, at=at), schemas.Invite)


@bp.route(f"/invites/{ID}/revoke", methods=["POST"], tags=TAGS)
@operation(scope="invite", roles=RECRUITERS)
@updates
@bp.response(200, schemas.Invite)
def revoke_invite(viewer: StaffViewer, invite_id: int) -> ResponseReturnValue:
    """Withdraw an invite's link

    A started attempt is not stopped, but the link no longer opens.
    """
    at = now()
    _check_current(invite_id, at)
    invite = invites.revoke_invite(invite_id, now=at)
    record_action(viewer.user, "invite.revoke", "invite", invite_id, {"via": "api"})
    return updated(invite_record(invite, at=at), schemas.Invite)
