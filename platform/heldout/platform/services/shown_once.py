"""Secrets shown to staff once (a generated password, a new invite link), kept server-side.

Between the request that makes a secret and the page that shows it, the secret is split
in two: the database keeps it masked by a random pad of its length, and the browser's
session keeps the pad with the row's id. Neither half alone tells anything (a copy of the
database, or of the cookie, which is signed but readable). Showing it deletes the row, so
a replayed cookie shows nothing; a secret never shown is deleted after ``KEEP``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete

from heldout.platform.extensions import db
from heldout.platform.models import ShownOnce

KEEP = timedelta(minutes=30)


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def keep(secret: str, *, now: datetime) -> str:
    """Keep ``secret`` for one showing; the handle to put in the session (no secret in it)."""
    data = secret.encode("utf-8")
    pad = secrets.token_bytes(len(data))
    row_id = secrets.token_hex(16)
    db.session.execute(delete(ShownOnce).where(ShownOnce.created_at < now - KEEP))
    db.session.add(ShownOnce(id=row_id, masked=_xor(data, pad), created_at=now))
    db.session.commit()
    return f"{row_id}.{pad.hex()}"


def take(handle: object, *, now: datetime) -> str | None:
    """The secret kept under ``handle``, once: None if it was shown already or is stale."""
    if not isinstance(handle, str):
        return None
    row_id, _, pad_hex = handle.partition(".")
    try:
        pad = bytes.fromhex(pad_hex)
    except ValueError:
        return None
    row = db.session.get(ShownOnce, row_id)
    if row is None:
        return None
    masked, made = row.masked, row.created_at
    db.session.delete(row)
    db.session.commit()
    if made < now - KEEP or len(masked) != len(pad):
        return None
    return _xor(masked, pad).decode("utf-8")
