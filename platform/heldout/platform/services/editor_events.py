"""Editor events: what the workspace's editor saw (pastes, the page losing and regaining
focus, long idle gaps), taken in batches from the browser, checked, kept beside the drafts,
and read back as the report's timeline lines.

What is recorded is exactly what the consent page says: for a paste, its size in
characters, the time and the file (never the pasted text); for focus, when the page lost
it and when it came back; for an idle gap, its length. Evidence for an interviewer, never
a score.

The browser sends how long ago each event happened (``ago_ms``), not its clock's time: the
server dates it, so a wrong clock on the candidate's machine moves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from heldout.platform.errors import InvalidInput
from heldout.platform.extensions import db
from heldout.platform.models import DraftSnapshot, EditorEvent
from heldout.platform.services import drafts
from heldout.platform.services.attempts import assessment_challenge, open_attempt
from heldout.platform.services.catalogue import BundleCatalogue

PASTE = drafts.PASTE
FOCUS_LOST = "focus_lost"
FOCUS_BACK = "focus_back"
IDLE = "idle"
KINDS = (PASTE, FOCUS_LOST, FOCUS_BACK, IDLE)
# One batch: the browser sends what gathered every few seconds, so a full batch is already
# far more than a person does in that time.
MAX_BATCH = 100
MAX_BODY_BYTES = 32 * 1024
# Kept per attempt; past it the route says so and the browser stops sending.
MAX_PER_ATTEMPT = 5000
# An event is sent within seconds; one held longer (a page offline for a while) up to this.
MAX_AGO = timedelta(hours=1)
MAX_PASTE_CHARS = 10_000_000


@dataclass(frozen=True)
class EventInput:
    """One event as the browser sent it, checked for shape (``parse_batch``)."""

    kind: str
    ago_ms: int
    file: str | None = None
    amount: int = 0  # paste: characters; focus_back, idle: seconds


def _int(value: Any, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"The editor events could not be read: {what} must be a whole "
                           f"number from {low:,} to {high:,}.", field="events")
    return value


def parse_batch(raw: Any) -> list[EventInput]:
    """The events of a JSON body ``{"events": [{"kind", "ago_ms", "file"?, "chars"?,
    "seconds"?}, ...]}``; anything else is refused whole, with what was wrong."""
    items = raw.get("events") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput("The editor events could not be read.",
                           hint='Send {"events": [{"kind": …, "ago_ms": …}, …]}.',
                           field="events")
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"{len(items):,} editor events in one batch; at most {MAX_BATCH} "
                           "are taken at once.", field="events")
    events = []
    for item in items:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            raise InvalidInput("The editor events could not be read: each needs a kind, one "
                               f"of {', '.join(KINDS)}.", field="events")
        kind = str(item["kind"])
        ago = _int(item.get("ago_ms"), "ago_ms", 0, int(MAX_AGO.total_seconds() * 1000))
        file = item.get("file")
        if file is not None and not isinstance(file, str):
            raise InvalidInput("The editor events could not be read: file must be a name.",
                               field="events")
        if kind == PASTE:
            if not file:
                raise InvalidInput("A paste needs the file it went into.", field="events")
            events.append(EventInput(kind, ago, file,
                                     _int(item.get("chars"), "chars", 1, MAX_PASTE_CHARS)))
        elif kind in (FOCUS_BACK, IDLE):
            events.append(EventInput(kind, ago, file or None,
                                     _int(item.get("seconds"), "seconds", 0, 366 * 86400)))
        else:
            events.append(EventInput(kind, ago, file or None))
    return events


def record_events(*, attempt_public_id: str, challenge_slug: str,
                  events: Sequence[EventInput], bundles: BundleCatalogue, now: datetime,
                  idle_minutes: int) -> int:
    """Keep a batch of one challenge's editor events (one commit); the number kept.

    Refused whole, nothing kept: once the attempt is closed (``AttemptClosed``), for a
    challenge not in the assessment (``NotFound``), a file the challenge does not take, an
    event dated before the attempt started, an idle gap shorter than ``idle_minutes`` or
    longer than the attempt so far, or past ``MAX_PER_ATTEMPT`` events.
    """
    attempt = open_attempt(attempt_public_id, now=now)
    challenge = assessment_challenge(attempt, challenge_slug)
    bundle = bundles.for_challenge(challenge)
    kept = db.session.scalar(select(func.count()).select_from(EditorEvent).where(
        EditorEvent.attempt_id == attempt.id)) or 0
    if kept + len(events) > MAX_PER_ATTEMPT:
        raise InvalidInput(f"This attempt has {kept:,} editor events recorded; at most "
                           f"{MAX_PER_ATTEMPT:,} are kept, so these were not.",
                           field="events")
    so_far = int((now - attempt.started_at).total_seconds())
    rows = []
    for event in events:
        at = now - timedelta(milliseconds=event.ago_ms)
        if at < attempt.started_at:
            raise InvalidInput("An editor event is dated before the attempt started.",
                               field="events")
        if event.kind in (FOCUS_BACK, IDLE) and event.amount > so_far:
            raise InvalidInput(f"A gap of {event.amount:,} s is longer than the attempt so "
                               "far.", field="events")
        if event.kind == IDLE and event.amount < idle_minutes * 60:
            raise InvalidInput(f"An idle gap of {event.amount:,} s is shorter than the "
                               f"{idle_minutes} minutes recorded as one.", field="events")
        file = drafts.editable_name(bundle, event.file) if event.file is not None else None
        rows.append(EditorEvent(attempt_id=attempt.id, challenge_id=challenge.id,
                                kind=event.kind, at=at, file=file, amount=event.amount,
                                recorded_at=now))
    db.session.add_all(rows)
    db.session.commit()
    return len(rows)


# --- what the report reads -------------------------------------------------------------


@dataclass(frozen=True)
class EventLine:
    """One editor event as the report's timeline says it, with the drafts around it (the
    ids of the snapshots of its file just before and just after; None: there is none)."""

    id: int
    kind: str
    at: datetime
    file: str | None
    amount: int
    before: int | None = None
    after: int | None = None

    @property
    def text(self) -> str:
        """How the timeline says it: "pasted 1,240 characters at 12:03 UTC into solution.py"."""
        clock = f"{self.at:%H:%M} UTC"
        if self.kind == PASTE:
            return (f"pasted {self.amount:,} character{'s' if self.amount != 1 else ''} at "
                    f"{clock} into {self.file}")
        if self.kind == FOCUS_LOST:
            return f"left the page at {clock}"
        if self.kind == FOCUS_BACK:
            return f"came back to the page at {clock}, after {_span(self.amount)}"
        return f"idle for {_span(self.amount)} until {clock}" + (
            f" in {self.file}" if self.file else "")


def _span(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def event_lines(attempt_id: int, challenge_id: int) -> tuple[EventLine, ...]:
    """The challenge's editor events in time order; pastes with the drafts around them."""
    events = list(db.session.scalars(select(EditorEvent).where(
        EditorEvent.attempt_id == attempt_id, EditorEvent.challenge_id == challenge_id)
        .order_by(EditorEvent.at, EditorEvent.id)))
    if not events:
        return ()
    frames = db.session.execute(select(DraftSnapshot.id, DraftSnapshot.name,
                                       DraftSnapshot.taken_at).where(
        DraftSnapshot.attempt_id == attempt_id, DraftSnapshot.challenge_id == challenge_id)
        .order_by(DraftSnapshot.taken_at, DraftSnapshot.id)).all()
    lines = []
    for event in events:
        before = after = None
        if event.kind == PASTE:
            mine = [(frame_id, at) for frame_id, name, at in frames if name == event.file]
            before = next((f for f, at in reversed(mine) if at < event.at), None)
            after = next((f for f, at in mine if at >= event.at), None)
        lines.append(EventLine(event.id, event.kind, event.at, event.file, event.amount,
                               before, after))
    return tuple(lines)


def large_pastes(attempt_ids: Sequence[int], min_chars: int) -> list[EditorEvent]:
    """Pastes of at least ``min_chars`` characters into these attempts' editors."""
    if not attempt_ids:
        return []
    return list(db.session.scalars(select(EditorEvent).where(
        EditorEvent.attempt_id.in_(attempt_ids), EditorEvent.kind == PASTE,
        EditorEvent.amount >= min_chars).order_by(EditorEvent.at, EditorEvent.id)))

