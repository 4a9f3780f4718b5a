"""What surrounds an attempt's work: drafts and playback snapshots, editor events, the AI
assistant's transcript, problem reports, and interviewers' reviews of integrity signals."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, utcnow

if TYPE_CHECKING:
    from heldout.platform.models.attempts import Attempt
    from heldout.platform.models.catalogue import Challenge
    from heldout.platform.models.people import User


class Draft(Base):
    """The latest autosaved text of one file a candidate edits: per attempt, challenge and file.

    Kept on the server so work survives a reload, another device and a restart; at the
    deadline the worker submits the attempt's drafts (``DeadlineSubmission``).
    """

    __tablename__ = "draft"
    __table_args__ = (UniqueConstraint("attempt_id", "challenge_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the last snapshot was taken: snapshots are spaced, not one per keystroke.
    snapshot_at: Mapped[datetime | None]


class DraftSnapshot(Base):
    """A point in a challenge's draft history (bounded per attempt and challenge), for a later
    playback of the work."""

    __tablename__ = "draft_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, default="")
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class EditorEvent(Base):
    """Something the workspace's editor saw, recorded as evidence for the interviewer:
    a paste (its size in characters and the file), the page losing or regaining focus,
    a long idle gap. What is recorded is said on the consent page; never the pasted text.

    ``at`` is the server's clock: the browser sends how long ago each event happened, so
    a wrong clock on the candidate's machine moves nothing.
    """

    __tablename__ = "editor_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    # "paste", "focus_lost", "focus_back" or "idle" (services/editor_events.py).
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    file: Mapped[str | None] = mapped_column(String(255))
    # paste: characters pasted; focus_back and idle: seconds away or idle.
    amount: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class AiMessage(Base):
    """One turn of an attempt's conversation with the workspace's AI assistant, kept whole
    for the report: the candidate's question, the assistant's answer (with the tokens the
    endpoint counted for it), or the error the candidate was shown instead of an answer."""

    __tablename__ = "ai_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    # The challenge whose workspace the turn was typed in.
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    # "candidate", "assistant" or "error" (``services/assistant.py``).
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProblemReport(Base):
    """A candidate's report of a problem with a challenge, sent from its workspace: kept with
    the attempt and the challenge version the candidate had open, for admins to read.

    Open until an admin marks it resolved (``resolved_at``); the state is not stored apart.
    """

    __tablename__ = "problem_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    challenge_version: Mapped[str] = mapped_column(String(80))
    # What kind of problem (``problem_reports.CATEGORIES``), and the candidate's own words.
    category: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship(lazy="joined")
    resolved_by: Mapped[User | None] = relationship()

    @property
    def status(self) -> str:
        return "open" if self.resolved_at is None else "resolved"


class SignalReview(Base):
    """An interviewer's mark that an integrity signal was looked at, with their note.

    ``signal`` is the signal's stable key (services/integrity_signals.py); marking it again
    replaces the note. Audited (``signal.review``).
    """

    __tablename__ = "signal_review"
    __table_args__ = (UniqueConstraint("attempt_id", "signal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    signal: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewed_by: Mapped[User | None] = relationship()
