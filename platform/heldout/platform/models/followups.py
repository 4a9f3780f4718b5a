"""Authorship follow-up questions: a few short, timed questions about a candidate's own
work after they finish, and the sandbox run that computes a question's expected answer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, LeasedRow

if TYPE_CHECKING:
    from heldout.platform.models.attempts import Attempt, Submission
    from heldout.platform.models.catalogue import Challenge


class FollowupQuestion(LeasedRow, Base):
    """One follow-up question of an attempt, about one of its counted submissions.

    A computed question (``request`` set) is a leased job: the candidate's own code runs
    once in the sandbox on the question's input (``request``, a console request) and its
    answer is kept in ``expected``; the others (``request`` None) are graded ``status`` at
    once and have no expected value. ``shown_at`` starts the question's clock; an answer
    after ``time_limit_seconds`` is kept and marked ``late``. Evidence for the report, never
    a score; ``expected`` is shown to staff alone.
    """

    __tablename__ = "followup_question"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    # "value" (an exact answer computed from their code) or "text" (explained in words).
    answer_kind: Mapped[str] = mapped_column(String(10))
    prompt: Mapped[str] = mapped_column(Text)
    # Code or input quoted under the prompt (shown as code), if any.
    quoted: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    expected: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    shown_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    attempt: Mapped[Attempt] = relationship()
    submission: Mapped[Submission] = relationship()
    challenge: Mapped[Challenge] = relationship()
