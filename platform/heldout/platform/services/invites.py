"""Invites: create a candidate's link, resend, extend, revoke, hand links over, list them by
state, and tell what a presented link is worth. (Many at once from a CSV: ``bulk_invites``.)"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from heldout.platform.errors import (
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteRevoked,
    InviteUsed,
    NotFound,
    SessionMoved,
)
from heldout.platform.extensions import db
from heldout.platform.i18n import N_, format_moment
from heldout.platform.models import Assessment, Attempt, Invite
from heldout.platform.services import mail, webhooks
from heldout.platform.services.accounts import normalise_email
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.candidates import table_results, table_submissions
from heldout.platform.services.names import checked_name
from heldout.platform.services.paging import page_window
from heldout.platform.services.scoring import (
    InviteState,
    invite_state,
    invite_state_clause,
    submitted_any,
    total_score,
)
from heldout.platform.tokens import check_token, new_invite_token, token_hash

GENERIC_CONTACT = N_("the person who sent you the link")
MAX_NAME_CHARS = 200
MAX_NOTE_CHARS = 500


@dataclass(frozen=True)
class NewInvite:
    """A created invite and its token: the only moment the token exists in clear."""

    invite: Invite
    token: str


def contact_of(invite: Invite) -> str:
    creator = invite.created_by
    return f"{creator.name} <{creator.email}>"


def link_expiry(assessment: Assessment, *, now: datetime, ttl_days: int) -> datetime:
    if assessment.archived:
        raise InvalidInput("This assessment is archived; candidates can't be invited to it",
                           hint="Restore it from the assessments list first.")
    expires_at = now + timedelta(days=ttl_days)
    if assessment.expires_at is not None:
        if assessment.expires_at <= now:
            raise InvalidInput("This assessment has expired; extend it before inviting",
                               hint="Edit the assessment and set a later expiry date.")
        expires_at = min(expires_at, assessment.expires_at)
    return expires_at


def validated_name(candidate_name: str) -> str:
    if not candidate_name.strip():
        raise InvalidInput("The candidate's name is required", field="candidate_name")
    return checked_name(candidate_name, what="The name", field="candidate_name",
                        max_chars=MAX_NAME_CHARS)


def already_invited(assessment_id: int, emails: Collection[str]) -> dict[str, Invite]:
    """The invites of ``assessment_id`` to any of ``emails`` (the latest per address)."""
    found: dict[str, Invite] = {}
    listed = list(emails)
    for start in range(0, len(listed), 500):
        for invite in db.session.scalars(
                select(Invite).where(Invite.assessment_id == assessment_id,
                                     Invite.candidate_email.in_(listed[start:start + 500]))
                .order_by(Invite.id)):
            found[invite.candidate_email] = invite
    return found


def create_invite(*, assessment_id: int, candidate_name: str, candidate_email: str,
                  created_by_id: int, secret: str, ttl_days: int, now: datetime,
                  note: str = "", delivery: str = "page") -> NewInvite:
    assessment = get_assessment(assessment_id)
    expires_at = link_expiry(assessment, now=now, ttl_days=ttl_days)
    name = validated_name(candidate_name)
    email = normalise_email(candidate_email)
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"The note is longer than {MAX_NOTE_CHARS} characters", field="note")
    token = new_invite_token(secret)
    invite = Invite(assessment=assessment, candidate_name=name, candidate_email=email,
                    token_hash=token_hash(token), created_by_id=created_by_id,
                    created_at=now, expires_at=expires_at, sent_at=now, delivery=delivery,
                    note=note.strip() or None, resends=0)
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
        db.session.commit()
    return invite


def get_invite(invite_id: int) -> Invite:
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(f"No invite {invite_id}")
    return invite


STATES = tuple(InviteState)  # the invites table's filters, in this order
PER_PAGE = 50


@dataclass(frozen=True)
class InviteRow:
    invite: Invite
    state: InviteState
    score: float | None
    no_submission: bool = False   # finished with nothing submitted: no score, not a 0


@dataclass(frozen=True)
class InvitePage:
    rows: list[InviteRow]
    page: int
    pages: int
    total: int
    counts: dict[InviteState, int]
    state: str


def list_invites(assessment_id: int, *, now: datetime, state: str = "", page: int = 1,
                 per_page: int = PER_PAGE, changed_since: datetime | None = None) -> InvitePage:
    """One page of an assessment's invites, newest first, optionally in one state, or only
    those created, sent, opened, started, finished or revoked at ``changed_since`` or later.

    Finished candidates carry their total score as the candidates table computes it.
    """
    try:
        wanted = InviteState(state) if state else None
    except ValueError:
        raise InvalidInput(f"Unknown status {state!r}; known: {', '.join(STATES)}",
                           field="status") from None
    base = (select(Invite).outerjoin(Attempt, Attempt.invite_id == Invite.id)
            .where(Invite.assessment_id == assessment_id))
    if changed_since is not None:
        base = base.where(or_(*(moment >= changed_since for moment in (
            Invite.created_at, Invite.sent_at, Invite.opened_at, Invite.started_at,
            Invite.finished_at, Invite.revoked_at))))
    counts = {name: db.session.scalar(select(func.count()).select_from(
        base.where(invite_state_clause(name, now)).subquery())) or 0 for name in STATES}
    query = base.where(invite_state_clause(wanted, now)) if wanted else base
    total = counts[wanted] if wanted else sum(counts.values())
    window = page_window(total, page, per_page)
    page, pages = window.page, window.pages
    invites = list(db.session.scalars(
        query.order_by(Invite.created_at.desc(), Invite.id.desc())
        .limit(per_page).offset(window.offset)
        .options(selectinload(Invite.attempt))))
    finished = {i.id: i.attempt.id for i in invites if i.attempt is not None
                and invite_state(i, now) == InviteState.FINISHED}
    # The finished rows' submissions as the candidates table reads them: one query.
    submitted = table_submissions(assessment_id, list(finished.values())) if finished else {}
    assessment = get_assessment(assessment_id)
    challenges = assessment.challenges
    rows = []
    for invite in invites:
        shown = invite_state(invite, now)
        score, nothing = None, False
        if invite.id in finished:
            results = table_results(submitted.get(finished[invite.id], []), challenges,
                                    assessment.counting)
            score, nothing = total_score(results), not submitted_any(results)
        rows.append(InviteRow(invite, shown, score, nothing))
    return InvitePage(rows, page, pages, total, counts, state if wanted else "")


def resend_invite(invite_id: int, *, secret: str, ttl_days: int, now: datetime,
                  delivery: str) -> NewInvite:
    """A new link for the invite: the old token stops opening anything at once.

    A revoked invite comes back to life with the new link. A started attempt that is still
    running gets a link to continue on another device: the browser bound so far stops
    working at once (``check_binding``: the old link's fingerprint is gone), and the first
    browser to open the new link takes the attempt over (same deadline, drafts and
    submissions). A finished attempt can't be resent.
    """
    invite = get_invite(invite_id)
    attempt = invite.attempt
    if attempt is not None:
        if attempt.finished_at is not None or attempt.deadline <= now:
            raise InvalidInput(f"{invite.candidate_name} has finished; there is nothing left "
                               "to continue with a new link.")
        # Useful until the attempt's deadline at most; the assessment's expiry only
        # stops new starts.
        invite.expires_at = min(now + timedelta(days=ttl_days), attempt.deadline)
    else:
        invite.expires_at = link_expiry(invite.assessment, now=now, ttl_days=ttl_days)
    token = new_invite_token(secret)
    invite.token_hash = token_hash(token)
    invite.sent_at = now
    invite.delivery = delivery
    invite.send_error = None
    invite.resends = (invite.resends or 0) + 1
    invite.revoked_at = None
    invite.opened_at = None  # for a started attempt: the new link is not taken yet
    db.session.commit()
    return NewInvite(invite, token)


def link_fingerprint(invite: Invite) -> str:
    """What a browser keeps of the link it was bound with: a resend changes it."""
    return hashlib.sha256(invite.token_hash.encode("ascii")).hexdigest()[:24]


def continues_elsewhere(invite: Invite) -> bool:
    """Whether ``invite``'s current link is a resent one for a started attempt, not taken
    yet: the browser presenting it takes the attempt over."""
    return invite.attempt is not None and invite.opened_at is None


def take_over(invite: Invite, *, now: datetime) -> str:
    """Bind the attempt to the browser that confirmed the resent link; its new fingerprint.

    The link is taken at most once, in one conditional write: of browsers confirming at
    the same time, one wins and the others get ``InviteUsed``. The attempt, its deadline,
    drafts and submissions are unchanged.
    """
    taken = db.session.execute(
        update(Invite).where(Invite.id == invite.id, Invite.token_hash == invite.token_hash,
                             Invite.opened_at.is_(None))
        .values(opened_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    if getattr(taken, "rowcount", 0) != 1:
        raise InviteUsed(gettext("This link was already used to continue the assessment on "
                                 "another device; each link opens it once."),
                         contact=contact_of(invite),
                         hint=gettext("If it was not you, write to your contact for a new link."))
    return link_fingerprint(invite)


def check_binding(attempt_public_id: str, fingerprint: str | None) -> None:
    """Raise ``SessionMoved`` when a new link was sent for the attempt since this browser was
    bound. A session bound before fingerprints existed (None) is left alone."""
    if fingerprint is None:
        return
    invite = db.session.scalar(select(Invite).join(Attempt, Attempt.invite_id == Invite.id)
                               .where(Attempt.public_id == attempt_public_id))
    if invite is None or link_fingerprint(invite) == fingerprint:
        return
    raise SessionMoved(
        gettext("This session moved to another device: a new link to continue was sent to "
                "you, so this browser no longer saves or submits anything."),
        contact=contact_of(invite),
        hint=gettext("Open the new link (here or on the other device): your saved drafts, "
                     "submissions and the time left carry over. Copy anything typed here since "
                     "the last save first. If you did not ask for a new link, write to your "
                     "contact."))


def extend_invite(invite_id: int, *, until: datetime, now: datetime) -> Invite:
    """Move the link's expiry to ``until`` (the same link keeps working)."""
    invite = get_invite(invite_id)
    if invite.started_at is not None:
        raise InvalidInput(f"{invite.candidate_name} has already started; the link's expiry "
                           "no longer matters.")
    if invite.revoked_at is not None:
        raise InvalidInput("This invite was revoked; resend it to give a new link.")
    if until <= now:
        raise InvalidInput("The new expiry must be in the future", field="expires_at")
    assessment = invite.assessment
    if assessment.expires_at is not None and until > assessment.expires_at:
        raise InvalidInput(f"The assessment itself expires on {assessment.expires_at:%d %b %Y}",
                           field="expires_at", hint="Edit the assessment's expiry first.")
    invite.expires_at = until
    db.session.commit()
    return invite


def find_invite(token: str, *, secret: str, max_age_seconds: int, now: datetime,
                attempt_in_session: str | None = None) -> Invite:
    """The invite a presented token opens, or the InviteError saying why it can't be used.

    ``attempt_in_session`` is the attempt the browser is already bound to: the candidate
    who started may come back through the same link; anyone else finds it used.
    """
    verdict = check_token(token, secret, max_age_seconds).verdict
    if verdict == "tampered":
        raise InviteInvalid(
            gettext("This invite link is incomplete or was changed, so it can't be opened."),
            contact=gettext(GENERIC_CONTACT),
            hint=gettext("Copy the whole link from the e-mail you received, or ask for a new "
                         "one."))
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
    if invite is None:
        raise InviteInvalid(gettext("This invite link is not known here (it may have been "
                                    "replaced)."),
                            contact=gettext(GENERIC_CONTACT), hint=gettext("Ask for a new link."))
    # The row's expiry is the authority: the signature's age limit only counts while the
    # row's expiry lies within it, so an extended invite opens past that age.
    sent_at = invite.sent_at or invite.created_at
    within_signature = invite.expires_at <= sent_at + timedelta(seconds=max_age_seconds)
    return check_invite(invite, now=now, attempt_in_session=attempt_in_session,
                        signature_expired=verdict == "expired" and within_signature)


def invite_in_session(link_hash: object, *, now: datetime,
                      attempt_in_session: str | None = None) -> Invite:
    """The invite this browser exchanged its link for, if it can still be used.

    The same checks as ``find_invite``, from what the session keeps instead of the token
    (which then never appears in a URL again): the link's hash, as unguessable as the
    link and replaced with it by a resend, never the invite's number.
    """
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == link_hash)) \
        if isinstance(link_hash, str) and link_hash else None
    if invite is None:
        raise InviteInvalid(gettext("This browser has no invitation open."),
                            contact=gettext(GENERIC_CONTACT),
                            hint=gettext("Open the link from your invitation e-mail again."))
    return check_invite(invite, now=now, attempt_in_session=attempt_in_session)


def check_invite(invite: Invite, *, now: datetime, attempt_in_session: str | None = None,
                 signature_expired: bool = False) -> Invite:
    """``invite`` if it may be opened now, else the InviteError saying why not."""
    contact = contact_of(invite)
    attempt = invite.attempt
    if attempt is not None and attempt.public_id == attempt_in_session \
            and not continues_elsewhere(invite):
        return invite
    if invite.revoked_at is not None:
        raise InviteRevoked(gettext("This invitation was withdrawn by the hiring team."),
                            contact=contact)
    if attempt is not None and continues_elsewhere(invite):
        if signature_expired or invite.expires_at <= now:
            raise InviteExpired(gettext("This link expired on %(when)s.",
                                        when=format_moment(invite.expires_at, "datetime")),
                                contact=contact, hint=gettext("Ask for a new link."))
        return invite  # the attempt's own checks (deadline, finished) come next
    if attempt is not None:
        raise InviteUsed(gettext("This link was already used to start the assessment; each "
                                 "link opens it once."), contact=contact,
                         hint=gettext("If it was not you, or your browser lost the session, "
                                      "write to your contact."))
    assessment = invite.assessment
    if (signature_expired or invite.expires_at <= now
            or (assessment.expires_at is not None and assessment.expires_at <= now)):
        raise InviteExpired(gettext("This invitation expired on %(day)s.",
                                    day=format_moment(invite.expires_at, "date")),
                            contact=contact, hint=gettext("Ask for a new link if you still want "
                                                          "to take the assessment."))
    if assessment.archived:
        raise InviteRevoked(gettext("This assessment is closed."), contact=contact)
    return invite


def mark_opened(invite: Invite, *, now: datetime) -> None:
    """Record the first time the landing page was seen (once; later visits write nothing)."""
    if invite.opened_at is None:
        invite.opened_at = now
        webhooks.invite_opened(invite, now=now)
        db.session.commit()


def deliver(created: list[NewInvite], *, kind: str, smtp: mail.SmtpSettings,
            link_for: Callable[[str], str], org_name: str) -> list[tuple[Invite, str | None]]:
    """E-mail each invite its link (``kind``: invite, resend or extend) over one connection.

    Records per invite whether it went out (``send_error``); a server that can't be reached
    fails them all with the same reason.
    """
    mails = []
    for new in created:
        invite = new.invite
        assessment = invite.assessment
        mails.append(mail.Outgoing(invite.candidate_name, invite.candidate_email, kind, {
            "org_name": org_name, "assessment": assessment.name,
            "challenges": len(assessment.items), "minutes": assessment.time_limit_minutes,
            "link": link_for(new.token) if new.token else "",
            "expires": invite.expires_at, "contact": contact_of(invite)}))
    try:
        errors = mail.send_all(smtp, mails)
    except mail.MailError as exc:
        errors = [str(exc)] * len(mails)
    for new, error in zip(created, errors, strict=True):
        new.invite.send_error = error
        if error is None:
            new.invite.delivery = "email"
    db.session.commit()
    return [(new.invite, error) for new, error in zip(created, errors, strict=True)]


def mark_downloaded(handed: list[Invite]) -> None:
    """Record that these links were handed to the recruiter in a download."""
    for invite in handed:
        invite.delivery = "download"
    db.session.commit()
