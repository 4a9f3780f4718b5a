"""Many invites at once from a CSV of name,email[,note]: previewed (every bad row named by
its line and why), then confirmed; and the CSV of new links handed to the recruiter.

With a header row, optional columns give each candidate an accommodation:
``time_factor`` (1.25, 1.5 or 2), ``extra_minutes`` and ``break_minutes`` (``clock``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from heldout.platform.errors import InvalidInput, UploadTooLarge
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Invite, User
from heldout.platform.services import clock
from heldout.platform.services.accounts import normalise_email
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.invites import (
    MAX_NOTE_CHARS,
    NewInvite,
    already_invited,
    link_expiry,
    validated_name,
)
from heldout.platform.services.scoring import invite_state
from heldout.platform.services.spreadsheets import escape_cell
from heldout.platform.tokens import new_invite_token, token_hash

MAX_CSV_BYTES = 256 * 1024
MAX_CSV_ROWS = 1000
MAX_SHOWN_LINE_CHARS = 120
DEFAULT_COLUMNS = {"name": 0, "email": 1, "note": 2}
HEADER_NAMES = {"name": "name", "candidate": "name", "email": "email", "e-mail": "email",
                "mail": "email", "note": "note", "notes": "note",
                "time_factor": "time_factor", "extra_time_factor": "time_factor",
                "extra_minutes": "extra_minutes", "break_minutes": "break_minutes"}


@dataclass(frozen=True)
class CsvRow:
    """A good row: it will become an invite."""

    line: int
    name: str
    email: str
    note: str
    accommodation: clock.AccommodationInput = clock.NO_ACCOMMODATION


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
    columns = dict(DEFAULT_COLUMNS)
    if parsed:
        header = _columns(parsed[0][1])
        if header is not None:
            columns = header
            parsed = parsed[1:]
    if len(parsed) > MAX_CSV_ROWS:
        raise InvalidInput(f"The file has more than {MAX_CSV_ROWS} rows", field="file",
                           hint="Split it into smaller files.")
    preview = _sorted_rows(assessment, parsed, columns, text, now=now)
    if not preview.rows:
        raise InvalidInput("The file has no candidates in it", field="file",
                           hint="One candidate per line: name,email[,note].")
    return preview


def preview_rows(assessment_id: int, rows: Sequence[tuple[str, str, str]], *,
                 now: datetime) -> BulkPreview:
    """The same checks as ``preview_bulk`` for candidates given as (name, e-mail, note)
    (the API's list), each known by its position in the list, from 1."""
    assessment = get_assessment(assessment_id)
    if len(rows) > MAX_CSV_ROWS:
        raise InvalidInput(f"More than {MAX_CSV_ROWS} candidates at once", field="candidates",
                           hint="Send them in smaller batches.")
    preview = _sorted_rows(assessment, [(i, list(row)) for i, row in enumerate(rows, 1)],
                           DEFAULT_COLUMNS, "", now=now)
    if not preview.rows:
        raise InvalidInput("No candidates were given", field="candidates")
    return preview


def _sorted_rows(assessment: Assessment, parsed: list[tuple[int, list[str]]],
                 columns: dict[str, int], text: str, *, now: datetime) -> BulkPreview:
    """Rows to invite, and the others with their reasons (see ``preview_bulk``)."""
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
        name, email, note, accommodation = row
        if email in seen:
            bad.append(BadRow(line_no, _shown(cells),
                              f"{email} already appears on line {seen[email]}"))
            continue
        seen[email] = line_no
        good.append(CsvRow(line_no, name, email, note, accommodation))
    invited = already_invited(assessment.id, [row.email for row in good])
    already = [BadRow(row.line, _shown([row.name, row.email]),
                      f"{row.email} is already invited ({invite_state(invited[row.email], now)}"
                      "); resend that invite instead")
               for row in good if row.email in invited]
    good = [row for row in good if row.email not in invited]
    return BulkPreview(good, bad, already, text)


def _read_row(cells: list[str], columns: dict[str, int]
              ) -> tuple[tuple[str, str, str, clock.AccommodationInput] | None, str]:
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
        name = validated_name(cell("name"))
    except InvalidInput as exc:
        return None, exc.message[0].lower() + exc.message[1:]
    note = cell("note")
    if len(note) > MAX_NOTE_CHARS:
        return None, f"the note is longer than {MAX_NOTE_CHARS} characters"
    try:
        accommodation = clock.parse_accommodation(
            cell("time_factor"), cell("extra_minutes"), cell("break_minutes"))
    except InvalidInput as exc:
        return None, exc.message[0].lower() + exc.message[1:]
    return (name, email, note, accommodation), ""


def create_bulk(*, assessment_id: int, text: str, created_by_id: int, secret: str,
                ttl_days: int, now: datetime, delivery: str) -> tuple[list[NewInvite],
                                                                      BulkPreview]:
    """Invite every good row of the list (read again: the preview kept nothing), at once.

    Rows invited in the meantime (a second confirm) are left out, so confirming twice
    creates each invite once.
    """
    preview = preview_bulk(assessment_id, text, now=now)
    return _invite_rows(assessment_id, preview, created_by_id=created_by_id, secret=secret,
                        ttl_days=ttl_days, now=now, delivery=delivery), preview


def create_many(*, assessment_id: int, rows: Sequence[tuple[str, str, str]], created_by_id: int,
                secret: str, ttl_days: int, now: datetime, delivery: str
                ) -> tuple[list[NewInvite], BulkPreview]:
    """Invite candidates given as (name, e-mail, note), with the bulk list's checks: a bad
    row, an address twice in the list or already invited here is left out, with its reason."""
    preview = preview_rows(assessment_id, rows, now=now)
    return _invite_rows(assessment_id, preview, created_by_id=created_by_id, secret=secret,
                        ttl_days=ttl_days, now=now, delivery=delivery), preview


def _invite_rows(assessment_id: int, preview: BulkPreview, *, created_by_id: int, secret: str,
                 ttl_days: int, now: datetime, delivery: str) -> list[NewInvite]:
    assessment = get_assessment(assessment_id)
    expires_at = link_expiry(assessment, now=now, ttl_days=ttl_days)
    recruiter = db.session.get(User, created_by_id)
    created = []
    for row in preview.good:
        token = new_invite_token(secret)
        invite = Invite(assessment=assessment, candidate_name=row.name,
                        candidate_email=row.email, token_hash=token_hash(token),
                        created_by_id=created_by_id, created_at=now,
                        expires_at=expires_at, sent_at=now, delivery=delivery,
                        note=row.note or None, resends=0)
        db.session.add(invite)
        if not row.accommodation.none and recruiter is not None:
            clock.set_accommodation(invite, row.accommodation, actor=recruiter, now=now,
                                    commit=False)
        created.append(NewInvite(invite, token))
    db.session.commit()
    return created


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
