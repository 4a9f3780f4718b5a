"""A candidate's data as one whole: what heldout holds about a person, exported or erased.

A candidate is known by their e-mail address; everything about them hangs off their
invites. ``holdings`` follows every foreign key from those invites, whatever table it is
in (attempts, drafts, snapshots, submissions and their files, evaluations, public runs,
AI assistant transcripts, reviews, voluntary self-identification, and any table added
later that points at one of these), so a new kind of candidate data is exported and
erased without this module changing. Two places hold candidate data by value rather than
by key and are handled by name: the audit log (kept, with the candidate's e-mail and name
replaced) and webhook deliveries (their bodies and answers redacted the same way).

Blobs (submitted files, artefacts) are content-addressed and shared: erasing removes
those no remaining row names.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, delete, select, update
from sqlalchemy.types import JSON, DateTime, LargeBinary

from heldout.platform.blobs import SHA256, BlobMissing, BlobStore
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import AuditEvent, Base, Invite, User, WebhookDelivery, utcnow
from heldout.platform.services import audit, standings
from heldout.platform.services.accounts import normalise_email

ERASED = "[erased]"
# A 64-hex run anywhere in a row may name a blob (submission_file.sha256, artefact and file
# lists in JSON columns): what the database still names is never removed from the store.
_HEX64 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _pk(table: Table) -> Column[Any]:
    (key,) = table.primary_key.columns
    return key


def _rows_of(invite_ids: Sequence[int]) -> dict[str, set[Any]]:
    """Primary keys of every row that hangs off ``invite_ids``, by table, following foreign
    keys until nothing new is found."""
    selected: dict[str, set[Any]] = {"invite": set(invite_ids)}
    changed = bool(invite_ids)
    while changed:
        changed = False
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                parents = selected.get(fk.column.table.name)
                if not parents or fk.column is not _pk(fk.column.table):
                    continue
                found = set(db.session.scalars(select(_pk(table))
                                               .where(fk.parent.in_(parents))))
                known = selected.setdefault(table.name, set())
                if found - known:
                    known |= found
                    changed = True
    return {name: ids for name, ids in selected.items() if ids}


@dataclass(frozen=True)
class Holdings:
    """What heldout holds about one person (or, for retention, about some invites)."""

    email: str
    names: tuple[str, ...]
    rows: Mapping[str, frozenset[Any]]          # table -> primary keys
    audit_events: tuple[int, ...]
    deliveries: tuple[int, ...]
    addresses: tuple[str, ...] = ()             # every address the invites name

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def email_sha256(self) -> str:
        """How logs name the person without naming them."""
        return hashlib.sha256((self.email or ",".join(self.addresses)).encode()).hexdigest()

    @property
    def needles(self) -> tuple[str, ...]:
        """What identifies them in text: their addresses and the names they were given."""
        return tuple(dict.fromkeys(n for n in (self.email, *self.addresses, *self.names) if n))

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


def _mentions(text: str, needles: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(needle and needle.lower() in lowered for needle in needles)


def _holdings_of(invites: Sequence[Invite], email: str) -> Holdings:
    names = tuple(sorted({invite.candidate_name for invite in invites if invite.candidate_name}))
    addresses = tuple(sorted({invite.candidate_email for invite in invites}))
    rows = _rows_of([invite.id for invite in invites])
    needles = tuple(n for n in (email, *addresses, *names) if n)
    invite_ids = {str(invite.id) for invite in invites}
    events = tuple(event.id for event in db.session.scalars(select(AuditEvent))
                   if (event.target_type == "invite" and event.target_id in invite_ids)
                   or _mentions(event.actor_label or "", needles)
                   or _mentions(json.dumps(event.detail or {}), needles))
    mails = tuple(n for n in (email, *addresses) if n)
    deliveries = tuple(delivery.id for delivery in db.session.scalars(select(WebhookDelivery))
                       if _mentions(delivery.body, mails)
                       or _mentions(delivery.response_body or "", needles))
    return Holdings(email, names, {name: frozenset(ids) for name, ids in rows.items()},
                    events, deliveries, addresses)


def holdings(email: str) -> Holdings:
    """Everything about the person with ``email`` (compared as the invites store it)."""
    address = normalise_email(email)
    invites = list(db.session.scalars(select(Invite).where(Invite.candidate_email == address)
                                      .order_by(Invite.id)))
    return _holdings_of(invites, address)


# --- subject access -----------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def _dump(table: Table, ids: Iterable[Any]) -> list[dict[str, Any]]:
    key = _pk(table)
    result = db.session.execute(select(table).where(key.in_(list(ids))).order_by(key))
    return [{column: _plain(value) for column, value in row._mapping.items()} for row in result]


def _hashes(value: Any) -> set[str]:
    return set(_HEX64.findall(json.dumps(value, default=str)))


def export_zip(found: Holdings, blobs: BlobStore, *, now: datetime) -> bytes:
    """A zip of everything held about the person: every row as JSON, by table, the files
    they submitted and the artefacts of their runs, and a note saying what each part is."""
    buffer = io.BytesIO()
    named: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(found.rows):
            rows = _dump(_table(name), found.rows[name])
            named |= _hashes(rows)
            archive.writestr(f"data/{name}.json", json.dumps(rows, indent=2, sort_keys=True))
        events = _dump(AuditEvent.__table__, found.audit_events)  # type: ignore[arg-type]
        archive.writestr("data/audit_event.json", json.dumps(events, indent=2, sort_keys=True))
        written = 0
        for digest in sorted(named):
            try:
                data = blobs.get(digest)
            except (BlobMissing, ValueError, OSError):
                continue
            archive.writestr(f"files/{digest}", data)
            written += 1
        archive.writestr("README.txt", (
            f"What heldout holds about {found.email}, exported {now.isoformat()}.\n\n"
            "data/<table>.json: every stored row about you, one file per table (invites,\n"
            "attempts, drafts and their snapshots, editor events, submissions and their\n"
            "files, evaluations, public check runs, your conversation with the AI assistant\n"
            "(ai_message), reviews by interviewers, the answers you chose to give about\n"
            "yourself (self_identification), ...).\n"
            "data/audit_event.json: the audit log's entries about you.\n"
            f"files/<sha256>: the {written} files those rows name (your submitted code,\n"
            "notebooks and the outputs of its runs), by the sha256 of their content.\n"))
    return buffer.getvalue()


# --- erasure ------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    """What an erasure removed; it names no one (the address is kept as its sha256)."""

    email_sha256: str
    at: datetime
    rows: Mapping[str, int]
    blobs_removed: int
    audit_events_anonymised: int
    deliveries_redacted: int
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"email_sha256": self.email_sha256, "at": self.at.isoformat(),
                "rows": dict(self.rows), "blobs_removed": self.blobs_removed,
                "audit_events_anonymised": self.audit_events_anonymised,
                "webhook_deliveries_redacted": self.deliveries_redacted,
                "notes": list(self.notes)}


def _redact(text: str, needles: Sequence[str]) -> str:
    for needle in sorted((n for n in needles if n), key=len, reverse=True):
        text = re.sub(re.escape(needle), ERASED, text, flags=re.IGNORECASE)
    return text


def still_named(candidates: set[str]) -> set[str]:
    """Which of ``candidates`` (blob hashes) a remaining row of any table still names."""
    named: set[str] = set()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns
                   if not isinstance(c.type, (DateTime, LargeBinary))
                   and (isinstance(c.type, JSON) or c.type.python_type is str)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                if value is not None:
                    named |= candidates & _hashes(value)
        if named == candidates:
            break
    return named


def erase(email: str, *, actor: User | None, blobs: BlobStore, origin: audit.Origin,
          now: datetime | None = None) -> Receipt:
    """Erase the person with ``email``: every row about them, the blobs only they used;
    the audit log's entries kept with their e-mail and name replaced."""
    found = holdings(email)
    if found.empty and not found.audit_events:
        raise NotFound("heldout holds nothing about this e-mail address.")
    return _erase(found, actor=actor, blobs=blobs, origin=origin, now=now or utcnow(),
                  reason="request")


def erase_invites(invite_ids: Sequence[int], *, actor: User | None, blobs: BlobStore,
                  origin: audit.Origin, now: datetime, reason: str) -> Receipt:
    """Erase everything about these invites (the retention job's erasure)."""
    invites = list(db.session.scalars(select(Invite).where(Invite.id.in_(invite_ids))))
    return _erase(_holdings_of(invites, ""), actor=actor, blobs=blobs, origin=origin, now=now,
                  reason=reason)


def _erase(found: Holdings, *, actor: User | None, blobs: BlobStore, origin: audit.Origin,
           now: datetime, reason: str) -> Receipt:
    """One transaction for the database; blobs are removed once it has committed (a crash
    between leaves unused blobs, never a row naming a missing one)."""
    needles = found.needles
    candidates: set[str] = set()
    counts: dict[str, int] = {}
    # Their totals leave the percentile counts (derived data the rows below don't carry).
    standings.forget(db.session, found.rows.get("attempt", frozenset()))
    for table in reversed(Base.metadata.sorted_tables):
        ids = found.rows.get(table.name)
        if not ids:
            continue
        candidates |= _hashes(_dump(table, ids))
        db.session.execute(delete(table).where(_pk(table).in_(list(ids))))
        counts[table.name] = len(ids)
    for event in db.session.scalars(select(AuditEvent).where(
            AuditEvent.id.in_(found.audit_events))):
        event.actor_label = _redact(event.actor_label or "", needles)
        event.detail = json.loads(_redact(json.dumps(event.detail or {}), needles))
    for delivery_id in found.deliveries:
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is not None:
            db.session.execute(update(WebhookDelivery)
                               .where(WebhookDelivery.id == delivery_id)
                               .values(body=_redact(delivery.body, needles),
                                       response_body=_redact(delivery.response_body or "",
                                                             needles)))
    db.session.flush()
    unused = {digest for digest in candidates if SHA256.fullmatch(digest)} - still_named(
        candidates)
    receipt = Receipt(found.email_sha256, now, counts, len(unused), len(found.audit_events),
                      len(found.deliveries))
    audit.record(actor, "candidate.erase", "candidate", receipt.email_sha256[:16],
                 {"rows": sum(counts.values()), "tables": len(counts),
                  "blobs": len(unused), "reason": reason}, origin=origin, commit=False,
                 actor_label=None if actor is not None else "retention job")
    db.session.commit()
    removed = sum(1 for digest in sorted(unused) if blobs.remove(digest))
    if removed != len(unused):
        return Receipt(receipt.email_sha256, now, counts, removed,
                       receipt.audit_events_anonymised, receipt.deliveries_redacted,
                       (f"{len(unused) - removed} unused file(s) were already gone",))
    return receipt
