"""Invites: create a candidate's link, revoke it, and tell what a presented link is worth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from heldout.platform.errors import (
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteRevoked,
    InviteUsed,
    NotFound,
)
from heldout.platform.extensions import db
from heldout.platform.models import Invite
from heldout.platform.services.accounts import normalise_email
from heldout.platform.services.assessments import get_assessment
from heldout.platform.tokens import check_token, new_invite_token, token_hash

GENERIC_CONTACT = "the person who sent you the link"


@dataclass(frozen=True)
class NewInvite:
    """A created invite and its token: the only moment the token exists in clear."""

    invite: Invite
    token: str


def contact_of(invite: Invite) -> str:
    creator = invite.created_by
    return f"{creator.name} <{creator.email}>"


def create_invite(*, assessment_id: int, candidate_name: str, candidate_email: str,
                  created_by_id: int, secret: str, ttl_days: int, now: datetime) -> NewInvite:
    assessment = get_assessment(assessment_id)
    if assessment.archived:
        raise InvalidInput("This assessment is archived; candidates can't be invited to it")
    name = candidate_name.strip()
    if not name:
        raise InvalidInput("The candidate's name is required", field="candidate_name")
    email = normalise_email(candidate_email)
    expires_at = now + timedelta(days=ttl_days)
    if assessment.expires_at is not None:
        if assessment.expires_at <= now:
            raise InvalidInput("This assessment has expired; extend it before inviting")
        expires_at = min(expires_at, assessment.expires_at)
    token = new_invite_token(secret)
    invite = Invite(assessment=assessment, candidate_name=name, candidate_email=email,
                    token_hash=token_hash(token), status="sent", created_by_id=created_by_id,
                    created_at=now, expires_at=expires_at)
    db.session.add(invite)
    db.session.commit()
    return NewInvite(invite, token)


def revoke_invite(invite_id: int, *, now: datetime) -> Invite:
    """Withdraw a link. A started attempt is not stopped, but the link no longer opens."""
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(f"No invite {invite_id}")
    if invite.revoked_at is None:
        invite.revoked_at = now
        invite.status = "revoked"
        db.session.commit()
    return invite


def get_invite(invite_id: int) -> Invite:
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(f"No invite {invite_id}")
    return invite


def list_invites(assessment_id: int) -> list[Invite]:
    return list(db.session.scalars(select(Invite).where(Invite.assessment_id == assessment_id)
                                   .order_by(Invite.created_at.desc(), Invite.id.desc())))


def find_invite(token: str, *, secret: str, max_age_seconds: int, now: datetime,
                attempt_in_session: str | None = None) -> Invite:
    """The invite a presented token opens, or the InviteError saying why it can't be used.

    ``attempt_in_session`` is the attempt the browser is already bound to: the candidate
    who started may come back through the same link; anyone else finds it used.
    """
    verdict = check_token(token, secret, max_age_seconds).verdict
    if verdict == "tampered":
        raise InviteInvalid(
            "This invite link is incomplete or was changed, so it can't be opened.",
            contact=GENERIC_CONTACT,
            hint="Copy the whole link from the e-mail you received, or ask for a new one.")
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
    if invite is None:
        raise InviteInvalid("This invite link is not known here (it may have been replaced).",
                            contact=GENERIC_CONTACT, hint="Ask for a new link.")
    return check_invite(invite, now=now, attempt_in_session=attempt_in_session,
                        signature_expired=verdict == "expired")


def invite_in_session(invite_id: int | None, *, now: datetime,
                      attempt_in_session: str | None = None) -> Invite:
    """The invite this browser exchanged its link for, if it can still be used.

    The same checks as ``find_invite``, from the id the session keeps instead of the token
    (which then never appears in a URL again).
    """
    invite = db.session.get(Invite, invite_id) if invite_id is not None else None
    if invite is None:
        raise InviteInvalid("This browser has no invitation open.", contact=GENERIC_CONTACT,
                            hint="Open the link from your invitation e-mail again.")
    return check_invite(invite, now=now, attempt_in_session=attempt_in_session)


def check_invite(invite: Invite, *, now: datetime, attempt_in_session: str | None = None,
                 signature_expired: bool = False) -> Invite:
    """``invite`` if it may be opened now, else the InviteError saying why not."""
    contact = contact_of(invite)
    attempt = invite.attempt
    if attempt is not None and attempt.public_id == attempt_in_session:
        return invite
    if invite.revoked_at is not None:
        raise InviteRevoked("This invitation was withdrawn by the hiring team.", contact=contact)
    if attempt is not None:
        raise InviteUsed("This link was already used to start the assessment; each link "
                         "opens it once.", contact=contact,
                         hint="If it was not you, or your browser lost the session, "
                              "write to your contact.")
    assessment = invite.assessment
    if (signature_expired or invite.expires_at <= now
            or (assessment.expires_at is not None and assessment.expires_at <= now)):
        raise InviteExpired(f"This invitation expired on {invite.expires_at:%d %B %Y}.",
                            contact=contact, hint="Ask for a new link if you still want to take "
                                                  "the assessment.")
    if assessment.archived:
        raise InviteRevoked("This assessment is closed.", contact=contact)
    return invite


def mark_opened(invite: Invite, *, now: datetime) -> None:
    """Record the first time the landing page was seen (once; later visits write nothing)."""
    if invite.opened_at is None:
        invite.opened_at = now
        if invite.status == "sent":
            invite.status = "opened"
        db.session.commit()
