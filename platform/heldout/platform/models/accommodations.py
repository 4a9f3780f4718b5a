"""Accommodations: a candidate's extra time and breaks, and the breaks they took.

Kept apart from ``Invite`` and ``Attempt`` so that nothing which shows an invite or an
attempt to reviewers carries them by accident (``services/clock.py`` reads them).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, utcnow

if TYPE_CHECKING:
    from heldout.platform.models.assessments import Attempt, Invite
    from heldout.platform.models.people import User


class Accommodation(Base):
    """One invite's accommodation: extra time (a percentage of the assessment's limit, or
    minutes) and a total of break minutes that pause the clock. Set by recruiters; never
    shown to interviewers or reviewers."""

    __tablename__ = "accommodation"

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id"), unique=True)
    # The time allowed as a percentage of the assessment's limit: 100, 125, 150 or 200.
    time_percent: Mapped[int] = mapped_column(Integer, default=100)
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0)
    break_minutes: Mapped[int] = mapped_column(Integer, default=0)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    invite: Mapped[Invite] = relationship(back_populates="accommodation")
    set_by: Mapped[User] = relationship()


class AttemptBreak(Base):
    """A break a candidate took: the clock stopped from ``started_at`` until ``ended_at``,
    or ``ends_by`` (when the allowance left at its start ran out) if that came first."""

    __tablename__ = "attempt_break"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    started_at: Mapped[datetime]
    ends_by: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship(back_populates="breaks")

    @property
    def resumes_at(self) -> datetime:
        """When the clock started again (or will, at the latest)."""
        return min(self.ended_at or self.ends_by, self.ends_by)
