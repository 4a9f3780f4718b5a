"""Invites, attempts (with their accommodations and breaks) and the submissions an
attempt makes, with their files and evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, LeasedRow, new_public_id, new_variant_seed, utcnow

if TYPE_CHECKING:
    from heldout.platform.models.assessments import Assessment
    from heldout.platform.models.catalogue import Challenge
    from heldout.platform.models.people import User


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
    # Under the "AI allowed with disclosure" policy: what the candidate said they used, given
    # when they finished (None: not asked, or the time ran out first).
    ai_disclosure: Mapped[str | None] = mapped_column(Text)

    invite: Mapped[Invite] = relationship(back_populates="attempt")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="attempt", order_by="Submission.id")
    breaks: Mapped[list[AttemptBreak]] = relationship(
        back_populates="attempt", order_by="AttemptBreak.id")


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


class Submission(LeasedRow, Base):
    """Files a candidate submitted for one challenge, and where grading stands.

    ``challenge_version`` is the bundle version it was made against; grading uses exactly
    that version's files, whatever the catalogue holds by then.
    """

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    enqueued_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship(back_populates="submissions")
    challenge: Mapped[Challenge] = relationship()
    files: Mapped[list[SubmissionFile]] = relationship(
        order_by="SubmissionFile.name", cascade="all, delete-orphan")
    evaluation: Mapped[EvaluationRecord | None] = relationship(back_populates="submission")


class SubmissionFile(Base):
    """One submitted file: its name and the sha256 of its content in the blob store."""

    __tablename__ = "submission_file"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class EvaluationRecord(Base):
    """The graders' ``Evaluation`` of a submission, as stored (the table keeps its name)."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    challenge_version: Mapped[str] = mapped_column(String(80))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float, default=100.0)
    checks: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The files a kind kept for the report (executed notebook, probe table, query shapes):
    # [{"name", "sha256", "size"}] in the blob store; "sha256" null and a "note" when not kept.
    artefacts: Mapped[list[Any]] = mapped_column(default=list)

    submission: Mapped[Submission] = relationship(back_populates="evaluation")


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
