"""A candidate's clock: their own time limit (the assessment's, with any extra time), the
breaks that pause it, the deadline both decide, and the time used against that limit.

The one home of these rules. ``Attempt.deadline`` is stored (the deadline job, the invite
states and every page query it) and only this module writes it: at the start, the own
limit; at a break's start, moved on by the whole break allowance left (so nothing closes
the attempt while the candidate is away); at the break's end, moved back by what was not
used. A break nobody ends stops by itself when its allowance runs out.

Reviewers never see an accommodation: time used is reported against the candidate's own
limit, in the assessment's minutes (``time_used``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from heldout.platform.errors import AttemptClosed, InvalidInput, OnBreak
from heldout.platform.extensions import db
from heldout.platform.i18n import format_moment
from heldout.platform.models import Accommodation, Attempt, AttemptBreak, Invite, User
from heldout.platform.services import audit

# Extra time as a factor of the assessment's limit, by the percentage stored.
FACTORS: dict[int, str] = {125: "1.25", 150: "1.5", 200: "2"}
TIMES = "\N{MULTIPLICATION SIGN}"
MAX_EXTRA_MINUTES = 600
MAX_BREAK_MINUTES = 240


@dataclass(frozen=True)
class AccommodationInput:
    """What a recruiter asks for: extra time as a factor (a percentage) or minutes, and a
    total of break minutes."""

    time_percent: int = 100
    extra_minutes: int = 0
    break_minutes: int = 0

    @property
    def none(self) -> bool:
        return self == NO_ACCOMMODATION

    def describe(self) -> str:
        """In words, for the recruiters' pages and the audit log."""
        parts = []
        if self.time_percent != 100:
            parts.append(f"time {TIMES}{FACTORS[self.time_percent]}")
        if self.extra_minutes:
            parts.append(f"{self.extra_minutes} extra minutes")
        if self.break_minutes:
            parts.append(f"breaks up to {self.break_minutes} minutes")
        return ", ".join(parts) or "none"


NO_ACCOMMODATION = AccommodationInput()


def _minutes(value: str, *, what: str, most: int, field: str) -> int:
    text = value.strip()
    if not text:
        return 0
    try:
        number = int(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number of minutes, not {text!r}",
                           field=field) from None
    if not 0 <= number <= most:
        raise InvalidInput(f"{what} must be between 0 and {most} minutes, not {number}",
                           field=field)
    return number


def parse_accommodation(time_factor: str = "", extra_minutes: str = "",
                        break_minutes: str = "") -> AccommodationInput:
    """Read the form's (or a CSV row's) three fields; empty means none. Refuses, with the
    reason, a factor other than 1.25, 1.5 or 2, minutes out of range, or a factor and
    minutes together."""
    factor = time_factor.strip().lower().lstrip(TIMES + "x").strip()
    percent = 100
    if factor not in ("", "1"):
        matches = [p for p, text in FACTORS.items() if _same_number(factor, text)]
        if not matches:
            raise InvalidInput(f"Extra time factor {time_factor.strip()!r} is not offered; "
                               f"choose {', '.join(TIMES + f for f in FACTORS.values())}",
                               field="time_factor")
        percent = matches[0]
    extra = _minutes(extra_minutes, what="Extra time", most=MAX_EXTRA_MINUTES,
                     field="extra_minutes")
    if percent != 100 and extra:
        raise InvalidInput("Give extra time as a factor or as minutes, not both",
                           field="extra_minutes")
    breaks = _minutes(break_minutes, what="Break time", most=MAX_BREAK_MINUTES,
                      field="break_minutes")
    return AccommodationInput(percent, extra, breaks)


def _same_number(text: str, wanted: str) -> bool:
    try:
        return float(text) == float(wanted)
    except ValueError:
        return False


def accommodation_of(invite: Invite) -> AccommodationInput:
    held = invite.accommodation
    if held is None:
        return NO_ACCOMMODATION
    return AccommodationInput(held.time_percent, held.extra_minutes, held.break_minutes)


def set_accommodation(invite: Invite, wanted: AccommodationInput, *, actor: User,
                      origin: audit.Origin = audit.NO_ORIGIN, now: datetime,
                      commit: bool = True) -> None:
    """Record (or clear) an invite's accommodation, audited. Only before the candidate
    starts: the clock is set when they press Start."""
    before = accommodation_of(invite)
    if wanted == before:
        return
    if invite.started_at is not None:
        raise InvalidInput("The candidate already started: their time was set when they "
                           "pressed Start and can't be changed now", field="time_factor")
    held = invite.accommodation
    if wanted.none:
        if held is not None:
            db.session.delete(held)
            invite.accommodation = None
    elif held is None:
        invite.accommodation = Accommodation(
            time_percent=wanted.time_percent, extra_minutes=wanted.extra_minutes,
            break_minutes=wanted.break_minutes, set_by_id=actor.id, set_at=now)
    else:
        held.time_percent, held.extra_minutes = wanted.time_percent, wanted.extra_minutes
        held.break_minutes, held.set_by_id, held.set_at = wanted.break_minutes, actor.id, now
    db.session.flush()
    audit.record(actor, "invite.accommodation", "invite", invite.id,
                 {"from": before.describe(), "to": wanted.describe()}, origin=origin,
                 commit=commit)


# --- the limit and the deadline ------------------------------------------------------------


def base_limit(invite: Invite) -> timedelta:
    return timedelta(minutes=invite.assessment.time_limit_minutes)


def time_allowed(invite: Invite) -> timedelta:
    """The candidate's own limit: the assessment's, times their factor, plus their minutes
    (breaks come on top, as they are taken)."""
    wanted = accommodation_of(invite)
    return (base_limit(invite) * wanted.time_percent / 100
            + timedelta(minutes=wanted.extra_minutes))


def break_allowance(invite: Invite) -> timedelta:
    return timedelta(minutes=accommodation_of(invite).break_minutes)


def first_deadline(invite: Invite, *, now: datetime) -> datetime:
    """The deadline of an attempt started at ``now``."""
    return now + time_allowed(invite)


# --- breaks --------------------------------------------------------------------------------


def current_break(attempt: Attempt, now: datetime) -> AttemptBreak | None:
    """The break the clock is paused for at ``now``, if any."""
    for taken in attempt.breaks:
        if taken.ended_at is None and now < taken.ends_by:
            return taken
    return None


def _taken(attempt: Attempt, now: datetime) -> timedelta:
    return sum((max(min(b.resumes_at, now) - b.started_at, timedelta(0))
                for b in attempt.breaks), timedelta(0))


def break_left(attempt: Attempt, now: datetime) -> timedelta:
    """The break time the candidate may still take (during a break: after it)."""
    return max(break_allowance(attempt.invite) - _taken(attempt, now), timedelta(0))


def check_working(attempt: Attempt, now: datetime) -> None:
    """Refuse anything but ending the break while the candidate is on one."""
    taken = current_break(attempt, now)
    if taken is not None:
        raise OnBreak(gettext("You are on a break until %(at)s at the latest; your clock is "
                              "paused and nothing can be submitted meanwhile.",
                              at=format_moment(taken.ends_by)),
                      hint=gettext("End your break to continue working."))


def start_break(attempt: Attempt, *, now: datetime) -> AttemptBreak:
    """Pause the clock for at most the break time left; the deadline moves on by all of it
    until the break ends (``end_break``)."""
    if attempt.finished_at is not None or now >= attempt.deadline:
        raise AttemptClosed(gettext("This assessment is closed; there is no clock to pause."))
    if current_break(attempt, now) is not None:
        raise OnBreak(gettext("You are already on a break."),
                      hint=gettext("End your break to continue."))
    left = break_left(attempt, now)
    if left <= timedelta(0):
        raise InvalidInput(gettext("You have no break time left."))
    taken = AttemptBreak(attempt=attempt, started_at=now, ends_by=now + left)
    attempt.deadline = attempt.deadline + left
    db.session.add(taken)
    audit.record(None, "attempt.break_start", "attempt", attempt.public_id,
                 {"minutes_left": round(left.total_seconds() / 60, 1)},
                 actor_label="candidate", commit=False)
    db.session.commit()
    return taken


def end_break(attempt: Attempt, *, now: datetime) -> AttemptBreak | None:
    """Start the clock again: the deadline moves back by the break time not used. A break
    that ran out already ended at its allowance (the deadline already says so)."""
    for taken in attempt.breaks:
        if taken.ended_at is None:
            resumed = min(now, taken.ends_by)
            taken.ended_at = resumed
            attempt.deadline = attempt.deadline - (taken.ends_by - resumed)
            audit.record(None, "attempt.break_end", "attempt", attempt.public_id,
                         {"minutes": round((resumed - taken.started_at).total_seconds() / 60,
                                           1),
                          "overran": now >= taken.ends_by},
                         actor_label="candidate", commit=False)
            db.session.commit()
            return taken
    return None


# --- time used -----------------------------------------------------------------------------


def worked(attempt: Attempt, start: datetime, end: datetime) -> timedelta:
    """Clock time from ``start`` to ``end`` less the breaks within it."""
    if end <= start:
        return timedelta(0)
    paused = sum((max(min(end, b.resumes_at) - max(start, b.started_at), timedelta(0))
                  for b in attempt.breaks), timedelta(0))
    return max(end - start - paused, timedelta(0))


def against_limit(attempt: Attempt, work: timedelta) -> timedelta:
    """``work`` as a share of the candidate's own limit, in the assessment's time: how the
    time of an accommodated candidate compares with everyone else's, and all reviewers see."""
    own, base = time_allowed(attempt.invite), base_limit(attempt.invite)
    return work if own == base else work * (base / own)


def used_between(spans: Mapping[int, tuple[datetime, datetime]]) -> dict[int, timedelta]:
    """For many attempts at once, ``against_limit(attempt, worked(attempt, start, end))`` of
    each attempt id's (start, end) span. Only the attempts with a break or an accommodation
    are read as objects (``with_clocks``); for the others, the same rules reduce to the
    span itself (nothing paused, their limit the assessment's)."""
    ids = list(spans)
    if not ids:
        return {}
    special = set(db.session.scalars(
        select(AttemptBreak.attempt_id).where(AttemptBreak.attempt_id.in_(ids)).distinct()))
    special |= set(db.session.scalars(
        select(Attempt.id).join(Accommodation, Accommodation.invite_id == Attempt.invite_id)
        .where(Attempt.id.in_(ids))))
    clocks = with_clocks(sorted(special))
    found = {}
    for attempt_id, (start, end) in spans.items():
        attempt = clocks.get(attempt_id)
        found[attempt_id] = (against_limit(attempt, worked(attempt, start, end))
                             if attempt is not None else max(end - start, timedelta(0)))
    return found


def _working_span(attempt: Attempt, now: datetime) -> tuple[datetime, datetime]:
    return attempt.started_at, attempt.finished_at or min(now, attempt.deadline)


def time_used(attempt: Attempt, now: datetime) -> timedelta:
    """Time used of the assessment's limit: the clock time worked (breaks left out) against
    the candidate's own limit (``against_limit``)."""
    return against_limit(attempt, worked(attempt, *_working_span(attempt, now)))


def times_used(attempts: Sequence[Attempt], now: datetime) -> dict[int, timedelta]:
    """``time_used`` of each of these attempts, by id (``used_between``: only those with a
    break or an accommodation have their clocks read)."""
    return used_between({a.id: _working_span(a, now) for a in attempts})


def on_assessment_clock(attempt: Attempt, at: datetime) -> datetime:
    """``at`` as the assessment's clock reads it: the start plus the time used by then
    (for the report's timeline, whose axis must not show a longer limit or a break)."""
    return attempt.started_at + against_limit(attempt, worked(attempt, attempt.started_at, at))


def with_clocks(attempt_ids: Sequence[int]) -> dict[int, Attempt]:
    """The attempts with what their clocks read (accommodation, breaks), in two queries."""
    if not attempt_ids:
        return {}
    return {a.id: a for a in db.session.scalars(
        select(Attempt).where(Attempt.id.in_(attempt_ids)).options(
            selectinload(Attempt.breaks),
            selectinload(Attempt.invite).selectinload(Invite.accommodation),
            selectinload(Attempt.invite).selectinload(Invite.assessment)))}
