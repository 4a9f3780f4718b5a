"""The e-mail that gives a candidate their feedback: one per attempt, sent by the worker."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base

if TYPE_CHECKING:
    from heldout.platform.models.attempts import Attempt


class FeedbackMail(Base):
    """The feedback e-mail of one attempt, written when the attempt ends and sent once its
    feedback is ready (finished, everything graded).

    Unique per attempt: a regrade, a second graded submission or two workers racing never
    write a second one, so a candidate is e-mailed once (``services/feedback.py``).
    """

    __tablename__ = "feedback_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), unique=True)
    # pending (to send, or to look at again, at ``next_try_at``), sending (a worker holds
    # it until ``next_try_at``), sent, failed (given up or refused), or unsent (no SMTP
    # server was configured when it was due, or the assessment stopped giving feedback).
    status: Mapped[str] = mapped_column(String(10), index=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")

    attempt: Mapped[Attempt] = relationship()
