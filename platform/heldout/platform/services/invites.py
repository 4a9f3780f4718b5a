"""Invites: create candidates' links (one or a CSV of many), resend, extend, revoke, list
them by status, and tell what a presented link is worth."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import selectinload

from heldout.platform.errors import (
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteRevoked,
    InviteUsed,
    NotFound,
    SessionMoved,
    UploadTooLarge,
)
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Attempt, Invite, Submission
from heldout.platform.services import mail
from heldout.platform.services.accounts import normalise_email
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.names import checked_name
from heldout.platform.services.spreadsheets import escape_cell
from heldout.platform.tokens import check_token, new_invite_token, token_hash

GENERIC_CONTACT = "the person who sent you the link"
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


def _link_expiry(assessment: Assessment, *, now: datetime, ttl_days: int) -> datetime:
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


def _validated_name(candidate_name: str) -> str:
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
    expires_at = _link_expiry(assessment, now=now, ttl_days=ttl_days)
    name = _validated_name(candidate_name)
    email = normalise_email(candidate_email)
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"The note is longer than {MAX_NOTE_CHARS} characters", field="note")
    token = new_invite_token(secret)
    invite = Invite(assessment=assessment, candidate_name=name, candidate_email=email,
                    token_hash=token_hash(token), status="sent", created_by_id=created_by_id,
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
        invite.status = "revoked"
        db.session.commit()
    return invite


def get_invite(invite_id: int) -> Invite:
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound(f"No invite {invite_id}")
    return invite


# What the invites table shows and filters by, saying what happened: a link not yet opened
# was "e-mailed" when a mail went out, else only "link created" (shown on the page or
# downloaded in a CSV); "submitted" is a finished attempt.
LINK_CREATED, EMAILED = "link created", "e-mailed"
STATES = (LINK_CREATED, EMAILED, "opened", "started", "submitted", "expired", "revoked")
PER_PAGE = 50


def state_of(invite: Invite, now: datetime) -> str:
    """The invite's status as recruiters see it (one of ``STATES``)."""
    attempt = invite.attempt
    if invite.revoked_at is not None and attempt is None:
        return "revoked"
    if invite.finished_at is not None:
        return "submitted"
    if attempt is not None:
        return "started" if attempt.deadline > now else "submitted"
    if invite.expires_at <= now:
        return "expired"
    if invite.opened_at is not None:
        return "opened"
    return EMAILED if invite.delivery == "email" else LINK_CREATED


def _state_clause(state: str, now: datetime) -> ColumnElement[bool]:
    not_started = Invite.started_at.is_(None)
    live = and_(not_started, Invite.revoked_at.is_(None), Invite.expires_at > now)
    running = and_(Invite.started_at.is_not(None), Invite.finished_at.is_(None))
    clauses: dict[str, ColumnElement[bool]] = {
        LINK_CREATED: and_(live, Invite.opened_at.is_(None),
                           or_(Invite.delivery.is_(None), Invite.delivery != "email")),
        EMAILED: and_(live, Invite.opened_at.is_(None), Invite.delivery == "email"),
        "opened": and_(live, Invite.opened_at.is_not(None)),
        "started": and_(running, Attempt.deadline > now),
        "submitted": or_(Invite.finished_at.is_not(None), and_(running, Attempt.deadline <= now)),
        "expired": and_(not_started, Invite.revoked_at.is_(None), Invite.expires_at <= now),
        "revoked": and_(not_started, Invite.revoked_at.is_not(None)),
    }
    if state not in clauses:
        raise InvalidInput(f"Unknown status {state!r}; known: {', '.join(STATES)}",
                           field="status")
    return clauses[state]


@dataclass(frozen=True)
class InviteRow:
    invite: Invite
    state: str
    score: float | None
    no_submission: bool = False   # finished with nothing submitted: no score, not a 0


@dataclass(frozen=True)
class InvitePage:
    rows: list[InviteRow]
    page: int
    pages: int
    total: int
    counts: dict[str, int]
    state: str


def list_invites(assessment_id: int, *, now: datetime, state: str = "", page: int = 1,
                 per_page: int = PER_PAGE) -> InvitePage:
    """One page of an assessment's invites, newest first, optionally of one status.

    Finished candidates carry their total score as the candidates table computes it.
    """
    base = (select(Invite).outerjoin(Attempt, Attempt.invite_id == Invite.id)
            .where(Invite.assessment_id == assessment_id))
    counts = {name: db.session.scalar(
        select(func.count()).select_from(base.where(_state_clause(name, now)).subquery())) or 0
        for name in STATES}
    query = base.where(_state_clause(state, now)) if state else base
    total = sum(counts.values()) if not state else counts[state]
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    # One query per level for the page's attempts, submissions and evaluations (the
    # finished rows' scores), not one per row.
    invites = list(db.session.scalars(
        query.order_by(Invite.created_at.desc(), Invite.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
        .options(selectinload(Invite.attempt).selectinload(Attempt.submissions)
                 .selectinload(Submission.evaluation))))
    rows = []
    for invite in invites:
        shown = state_of(invite, now)
        score = _total_score(invite) if shown == "submitted" else None
        nothing = shown == "submitted" and invite.attempt is not None \
            and not invite.attempt.submissions
        rows.append(InviteRow(invite, shown, score, nothing))
    return InvitePage(rows, page, pages, total, counts, state)


def _total_score(invite: Invite) -> float | None:
    """The candidate's total as the candidates table and report compute it (None while
    grading)."""
    from heldout.platform.services import reports

    assessment = invite.assessment
    results = reports._results(invite.attempt, assessment.challenges,
                               reports.counting_of(assessment))
    return reports.total_score(results)


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
        invite.expires_at = _link_expiry(invite.assessment, now=now, ttl_days=ttl_days)
    token = new_invite_token(secret)
    invite.token_hash = token_hash(token)
    invite.sent_at = now
    invite.delivery = delivery
    invite.send_error = None
    invite.resends = (invite.resends or 0) + 1
    invite.revoked_at = None
    if attempt is None:
        invite.status = "sent"
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
        raise InviteUsed("This link was already used to continue the assessment on another "
                         "device; each link opens it once.", contact=contact_of(invite),
                         hint="If it was not you, write to your contact for a new link.")
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
        "This session moved to another device: a new link to continue was sent to you, so "
        "this browser no longer saves or submits anything.",
        contact=contact_of(invite),
        hint="Open the new link (here or on the other device): your saved drafts, submissions "
             "and the time left carry over. Copy anything typed here since the last save "
             "first. If you did not ask for a new link, write to your contact.")


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
            "This invite link is incomplete or was changed, so it can't be opened.",
            contact=GENERIC_CONTACT,
            hint="Copy the whole link from the e-mail you received, or ask for a new one.")
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
    if invite is None:
        raise InviteInvalid("This invite link is not known here (it may have been replaced).",
                            contact=GENERIC_CONTACT, hint="Ask for a new link.")
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
        raise InviteInvalid("This browser has no invitation open.", contact=GENERIC_CONTACT,
                            hint="Open the link from your invitation e-mail again.")
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
        raise InviteRevoked("This invitation was withdrawn by the hiring team.", contact=contact)
    if attempt is not None and continues_elsewhere(invite):
        if signature_expired or invite.expires_at <= now:
            raise InviteExpired(f"This link expired on {invite.expires_at:%d %B %Y %H:%M} UTC.",
                                contact=contact, hint="Ask for a new link.")
        return invite  # the attempt's own checks (deadline, finished) come next
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


# Bulk invites from a CSV of name,email[,note]: previewed, then confirmed.
MAX_CSV_BYTES = 256 * 1024
MAX_CSV_ROWS = 1000
MAX_SHOWN_LINE_CHARS = 120
HEADER_NAMES = {"name": "name", "candidate": "name", "email": "email", "e-mail": "email",
                "mail": "email", "note": "note", "notes": "note"}


@dataclass(frozen=True)
class CsvRow:
    """A good row: it will become an invite."""

    line: int
    name: str
    email: str
    note: str


@dataclass(frozen=True)
class BadRow:
    """A row left out, with its line number in the file and why."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class BulkPreview:
    good: list[CsvRow]
    bad: list[BadRow]
    # Rows whose address already has an invite to this assessment: left out, resend instead.
    already: list[BadRow]
    text: str

    @property
    def rows(self) -> int:
        return len(self.good) + len(self.bad) + len(self.already)


def _decode(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise UploadTooLarge(f"The file is larger than {MAX_CSV_BYTES // 1024} KiB",
                             field="file", hint=f"Split it into files of at most "
                                                f"{MAX_CSV_ROWS} candidates.")
    if not data.strip():
        raise InvalidInput("The file is empty", field="file",
                           hint="One candidate per line: name,email[,note].")
    if b"\x00" in data:
        raise InvalidInput("This file is not a CSV (it holds binary data)", field="file",
                           hint="Export the sheet as CSV (UTF-8): name,email[,note].")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("This file is not a UTF-8 CSV", field="file",
                           hint="Export the sheet as “CSV UTF-8”.") from None


def _shown(cells: list[str]) -> str:
    text = ",".join(cells)
    return text if len(text) <= MAX_SHOWN_LINE_CHARS else text[:MAX_SHOWN_LINE_CHARS] + "…"


def _columns(first: list[str]) -> dict[str, int] | None:
    """The column of each field when the first row is a header, else None."""
    names = [HEADER_NAMES.get(cell.strip().lower()) for cell in first]
    if "email" not in names or "name" not in names:
        return None
    return {name: i for i, name in reversed(list(enumerate(names))) if name is not None}


def preview_bulk(assessment_id: int, data: bytes | str, *, now: datetime) -> BulkPreview:
    """Read a CSV of candidates: the rows to invite, and every other row with its reason.

    Each bad row is reported by its line in the file (a quoted cell may span lines; the
    line it starts on is given): no e-mail or an invalid one, a name or note too long, an
    address seen earlier in the file, an address already invited here.
    """
    assessment = get_assessment(assessment_id)
    text = data if isinstance(data, str) else _decode(data)
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise UploadTooLarge(f"The list is larger than {MAX_CSV_BYTES // 1024} KiB",
                             field="file")
    reader = csv.reader(io.StringIO(text, newline=""))
    parsed: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if len(parsed) >= MAX_CSV_ROWS + 1:
                raise InvalidInput(f"The file has more than {MAX_CSV_ROWS} rows",
                                   field="file", hint="Split it into smaller files.")
            parsed.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput(f"This file is not a CSV that can be read (line {reader.line_num}: "
                           f"{exc})", field="file") from None
    columns = {"name": 0, "email": 1, "note": 2}
    if parsed:
        header = _columns(parsed[0][1])
        if header is not None:
            columns = header
            parsed = parsed[1:]
    if len(parsed) > MAX_CSV_ROWS:
        raise InvalidInput(f"The file has more than {MAX_CSV_ROWS} rows", field="file",
                           hint="Split it into smaller files.")
    good: list[CsvRow] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    for line_no, cells in parsed:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are nobody
        row, reason = _read_row(cells, columns)
        if row is None:
            bad.append(BadRow(line_no, _shown(cells), reason))
            continue
        name, email, note = row
        if email in seen:
            bad.append(BadRow(line_no, _shown(cells),
                              f"{email} already appears on line {seen[email]}"))
            continue
        seen[email] = line_no
        good.append(CsvRow(line_no, name, email, note))
    if not good and not bad:
        raise InvalidInput("The file has no candidates in it", field="file",
                           hint="One candidate per line: name,email[,note].")
    invited = already_invited(assessment.id, [row.email for row in good])
    already = [BadRow(row.line, _shown([row.name, row.email]),
                      f"{row.email} is already invited ({state_of(invited[row.email], now)}"
                      "); resend that invite instead")
               for row in good if row.email in invited]
    good = [row for row in good if row.email not in invited]
    return BulkPreview(good, bad, already, text)


def _read_row(cells: list[str], columns: dict[str, int]
              ) -> tuple[tuple[str, str, str] | None, str]:
    def cell(field: str) -> str:
        index = columns.get(field)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    extra = len(cells) - (max(columns.values()) + 1)
    if extra > 0 and any(c.strip() for c in cells[-extra:]):
        return None, "too many columns: expected name,email[,note]"
    email = cell("email")
    if not email:
        return None, "no e-mail address"
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None, f"{email[:60]!r} is not an e-mail address"
    if not cell("name"):
        return None, "no name"
    try:
        name = _validated_name(cell("name"))
    except InvalidInput as exc:
        return None, exc.message[0].lower() + exc.message[1:]
    note = cell("note")
    if len(note) > MAX_NOTE_CHARS:
        return None, f"the note is longer than {MAX_NOTE_CHARS} characters"
    return (name, email, note), ""


def create_bulk(*, assessment_id: int, text: str, created_by_id: int, secret: str,
                ttl_days: int, now: datetime, delivery: str) -> tuple[list[NewInvite],
                                                                      BulkPreview]:
    """Invite every good row of the list (read again: the preview kept nothing), at once.

    Rows invited in the meantime (a second confirm) are left out, so confirming twice
    creates each invite once.
    """
    preview = preview_bulk(assessment_id, text, now=now)
    assessment = get_assessment(assessment_id)
    expires_at = _link_expiry(assessment, now=now, ttl_days=ttl_days)
    created = []
    for row in preview.good:
        token = new_invite_token(secret)
        invite = Invite(assessment=assessment, candidate_name=row.name,
                        candidate_email=row.email, token_hash=token_hash(token),
                        status="sent", created_by_id=created_by_id, created_at=now,
                        expires_at=expires_at, sent_at=now, delivery=delivery,
                        note=row.note or None, resends=0)
        db.session.add(invite)
        created.append(NewInvite(invite, token))
    db.session.commit()
    return created, preview


def links_csv(links: list[tuple[Invite, str]]) -> str:
    """The CSV of new links handed to the recruiter once: name, e-mail, note, link, expiry."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "email", "note", "link", "expires"])
    for invite, link in links:
        writer.writerow([escape_cell(invite.candidate_name),
                         escape_cell(invite.candidate_email),
                         escape_cell(invite.note or ""), link,
                         f"{invite.expires_at:%Y-%m-%d %H:%M} UTC"])
    return out.getvalue()


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
            "expires": f"{invite.expires_at:%d %B %Y}", "contact": contact_of(invite)}))
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
