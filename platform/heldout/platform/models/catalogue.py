"""Challenges, their versions and the problems candidates report about them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, utcnow

# The statuses of the columns below live with the rules that read them.

if TYPE_CHECKING:
    from heldout.platform.models.assessments import Attempt
    from heldout.platform.models.people import User


class Challenge(Base):
    """A challenge bundle as last loaded; ``version`` is what new submissions are made against."""

    __tablename__ = "challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    difficulty: Mapped[str] = mapped_column(String(40), default="")
    expected_minutes: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    entrypoint: Mapped[str] = mapped_column(String(200), default="")
    # Other bundle facts shown in the catalogue (allowed files, limits).
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ChallengeVersion]] = relationship(
        order_by="ChallengeVersion.id", back_populates="challenge")


class ChallengeVersion(Base):
    """Every version of a bundle the catalogue ever loaded: its files stay in the bundle store."""

    __tablename__ = "challenge_version"
    __table_args__ = (UniqueConstraint("challenge_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    version: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    challenge: Mapped[Challenge] = relationship(back_populates="versions")


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
