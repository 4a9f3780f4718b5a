"""What the queue runs beside grading (public runs, integrity runs, similarity checks) and
the reviews interviewers write."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, LeasedRow, utcnow

if TYPE_CHECKING:
    from heldout.platform.models.attempts import Attempt, Submission
    from heldout.platform.models.catalogue import Challenge
    from heldout.platform.models.people import User


class PublicRun(LeasedRow, Base):
    """The candidate's code run on the public checks only, or once in the run console.

    Kept apart from ``Submission`` on purpose: it never counts, is never graded on hidden
    data, and no report or pending count of submissions can pick it up by mistake. Its
    files sit in the same content-addressed blob store (``files`` lists name, sha256 and
    size); ``evaluation`` is the graders' public ``Evaluation`` as a dict, once run.
    """

    __tablename__ = "public_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    files: Mapped[list[Any]] = mapped_column(default=list)
    evaluation: Mapped[dict[str, Any] | None]
    # A run-console run (see heldout.graders.console): its request; None: the public checks.
    # (SQL NULL when absent, not JSON null: the workspace selects runs by it.)
    console: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # What the run shows beside its checks and output, once run: the console's answer
    # ({"console": …}) or a sql run's rows per query ({"queries": […]}).
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship()


class IntegrityRun(LeasedRow, Base):
    """A graded model_training submission's integrity run, queued after its grading.

    It runs the submission once more on perturbed test inputs (does the output follow the
    input?) and keeps the private slice's wrong rows (``row_errors``, a hex bit mask over
    the rows of labels keyed ``labels_key``) to compare with other candidates'. Evidence
    for the report, never a score; candidates never see it. ``result`` is the integrity
    evaluation as a dict, once run.
    """

    __tablename__ = "integrity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    result: Mapped[dict[str, Any] | None]
    labels_key: Mapped[str | None] = mapped_column(String(64), index=True)
    row_errors: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship()
    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship()


class SimilarityCheck(LeasedRow, Base):
    """A graded submission's code compared with other candidates' of its challenge version.

    A leased job like a grading (status, tries, lease): queued once the submission is
    graded. ``fingerprints`` are its code's winnowed hashes (the bundle's own code left
    out), made by the detector named in ``detector``; later checks compare with them.
    """

    __tablename__ = "similarity_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80), index=True)
    detector: Mapped[str | None] = mapped_column(String(40))
    fingerprints: Mapped[list[Any] | None]

    submission: Mapped[Submission] = relationship()
    attempt: Mapped[Attempt] = relationship()
    challenge: Mapped[Challenge] = relationship()


class SimilarityPair(Base):
    """Two candidates' submissions of one challenge version and how much code they share.

    ``share_a``: of submission a's fingerprints, the share found in b (and the reverse).
    Evidence for review, never part of a score.
    """

    __tablename__ = "similarity_pair"
    __table_args__ = (UniqueConstraint("submission_a_id", "submission_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_version: Mapped[str] = mapped_column(String(80), index=True)
    submission_a_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    submission_b_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    share_a: Mapped[float] = mapped_column(Float)
    share_b: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission_a: Mapped[Submission] = relationship(foreign_keys=[submission_a_id])
    submission_b: Mapped[Submission] = relationship(foreign_keys=[submission_b_id])


class Review(Base):
    """One interviewer's review of one attempt: rubric levels, notes, a recommendation.

    ``scores`` maps a rubric criterion's key to its level (1-4). ``submitted_at`` is None
    while a review is only saved: the others' reviews stay hidden until it is set.
    """

    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("attempt_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship()
    reviewer: Mapped[User] = relationship(lazy="joined")


class PracticeRun(LeasedRow, Base):
    """A run of the practice page (``services/practice.py``): anyone's code on the practice
    sample, its public checks (``split`` "public") or its grading as a submission would be
    ("hidden").

    Belongs to no attempt, invite or challenge row on purpose: nothing a candidate tries
    before an assessment can reach a report, a percentile, an export or item analytics.
    ``visitor`` is the random key the browser's session holds: it alone sees its runs.
    """

    __tablename__ = "practice_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor: Mapped[str] = mapped_column(String(64), index=True)
    split: Mapped[str] = mapped_column(String(10))
    challenge_slug: Mapped[str] = mapped_column(String(100))
    challenge_version: Mapped[str] = mapped_column(String(80))
    files: Mapped[list[Any]] = mapped_column(default=list)
    evaluation: Mapped[dict[str, Any] | None]
    # What the run shows beside its checks (as a public run's ``output``), once run.
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
