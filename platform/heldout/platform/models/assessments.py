"""Assessments, invites, attempts and what a candidate writes during one."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, EnumText, new_public_id, new_variant_seed, utcnow

# The statuses of the columns below live with the rules that read them.
from heldout.platform.statuses import Counting

if TYPE_CHECKING:
    from heldout.platform.models.accommodations import Accommodation, AttemptBreak
    from heldout.platform.models.catalogue import Challenge
    from heldout.platform.models.grading import Submission
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
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
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


class Invite(Base):
    """One candidate's invitation. Only the sha256 of the link's token is kept.

    Its state (sent, opened, started, finished, expired, revoked) is not stored: it follows
    from the times below and the attempt's deadline (``scoring.invite_state``).
    """

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    candidate_name: Mapped[str] = mapped_column(String(200))
    candidate_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The recruiter's own note (from the bulk CSV), never shown to the candidate.
    note: Mapped[str | None] = mapped_column(String(500))
    # When the current link was made; a resend replaces the link and moves it.
    sent_at: Mapped[datetime | None]
    # How the current link was handed over: "email", "download" (CSV) or "page".
    delivery: Mapped[str | None] = mapped_column(String(20))
    send_error: Mapped[str | None] = mapped_column(Text)
    resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    assessment: Mapped[Assessment] = relationship()
    created_by: Mapped[User] = relationship()
    attempt: Mapped[Attempt | None] = relationship(back_populates="invite")
    # Extra time and breaks (``services/clock.py``): recruiters' business, never reviewers'.
    accommodation: Mapped[Accommodation | None] = relationship(back_populates="invite")


class Attempt(Base):
    """A candidate's timed run through an assessment, started from an invite."""

    __tablename__ = "attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id"), unique=True)
    consent_at: Mapped[datetime]
    started_at: Mapped[datetime]
    # When the time runs out: the candidate's own limit plus the breaks taken, set and
    # moved by ``services/clock.py`` alone (while on a break, as if it lasts its allowance).
    deadline: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # "candidate" (Finish pressed) or "deadline" (time ran out).
    finish_reason: Mapped[str | None] = mapped_column(String(20))
    # Picks this candidate's variant of every challenge that generates its data. None (an
    # attempt started before variants) keeps the committed data it was already given.
    variant_seed: Mapped[int | None] = mapped_column(Integer, default=new_variant_seed)

    invite: Mapped[Invite] = relationship(back_populates="attempt")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="attempt", order_by="Submission.id")
    breaks: Mapped[list[AttemptBreak]] = relationship(
        back_populates="attempt", order_by="AttemptBreak.id")


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


class DeadlineSubmission(Base):
    """The worker's claim on submitting one challenge's drafts once the time ran out.

    Unique per attempt and challenge: however often the job runs, and however many workers
    race, one row (and so at most one submission) wins. ``submission_id`` stays empty when
    there was nothing new to submit; ``note`` says why.
    """

    __tablename__ = "deadline_submission"
    __table_args__ = (UniqueConstraint("attempt_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    draft_saved_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission | None] = relationship()
