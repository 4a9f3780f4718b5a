"""Assessments and the challenges they hold."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, EnumText, utcnow
from heldout.platform.statuses import AiPolicy, Counting

if TYPE_CHECKING:
    from heldout.platform.models.catalogue import Challenge
    from heldout.platform.models.people import User


class Assessment(Base):
    """What candidates are invited to: an ordered list of challenges and a time limit."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]
    show_scores: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which graded submission of a challenge counts: shown to candidates before they submit.
    counting: Mapped[Counting] = mapped_column(EnumText(Counting, 10), default=Counting.LAST,
                                               server_default=Counting.LAST.value)
    # What the candidate may do with AI tools: shown before they start and in the workspace.
    ai_policy: Mapped[AiPolicy] = mapped_column(
        EnumText(AiPolicy, 20), default=AiPolicy.NOT_ALLOWED,
        server_default=AiPolicy.NOT_ALLOWED.value)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Authorship follow-up questions after the candidate finishes (services/followups.py).
    followups: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Once a candidate's attempt is complete, they read their own results (services/feedback.py).
    feedback_to_candidates: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default=false())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The hiring team whose staff see it; None is the default team (services/access.py).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)

    created_by: Mapped[User] = relationship()
    items: Mapped[list[AssessmentChallenge]] = relationship(
        order_by="AssessmentChallenge.position", cascade="all, delete-orphan",
        back_populates="assessment")

    @property
    def challenges(self) -> list[Challenge]:
        return [item.challenge for item in self.items]


class AssessmentChallenge(Base):
    __tablename__ = "assessment_challenge"
    __table_args__ = (UniqueConstraint("assessment_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    position: Mapped[int] = mapped_column(Integer)

    assessment: Mapped[Assessment] = relationship(back_populates="items")
    challenge: Mapped[Challenge] = relationship(lazy="joined")
