"""What the scoring rules make of each attempt, kept as rows so pages page, sort and rank
in SQL: each attempt's settled total, its counted score per challenge, and per assessment
and version group how many settled totals hold each value (the percentile aggregate).

Derived data only: ``services/standings.py`` writes them as scores land and can rebuild
them from the submissions at any time.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from heldout.platform.models.base import Base


class AttemptStanding(Base):
    """An attempt's settled total and the version group it is ranked in (None: not ranked,
    a challenge was never graded). No row while the total is not settled (a challenge
    still grading or failed, or nothing submitted)."""

    __tablename__ = "attempt_standing"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    total: Mapped[float | None] = mapped_column(Float)
    # sha256 of the graded version of every challenge, in order (``standings.group_key``).
    versions: Mapped[str | None] = mapped_column(String(64))


class ChallengeStanding(Base):
    """The counted score of one challenge of one attempt, its submission and the version it
    was graded on (no row: nothing counts yet): the report ranks a score among these, item
    analytics reads a version's population from them."""

    __tablename__ = "challenge_standing"
    __table_args__ = (UniqueConstraint("attempt_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # one key column, as erasure follows
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    # The counted submission (no foreign key: a submission deleted in a transaction is
    # deleted before the standings are refreshed, just before its commit).
    submission_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    version: Mapped[str] = mapped_column(String(80))  # the bundle version it was graded on


class ScoreAggregate(Base):
    """How many ranked totals of an assessment's version group hold ``total``: a
    percentile rank is read from these counts, never from every candidate's row."""

    __tablename__ = "score_aggregate"
    __table_args__ = (UniqueConstraint("assessment_id", "versions", "total"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"))
    versions: Mapped[str] = mapped_column(String(64))
    total: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
