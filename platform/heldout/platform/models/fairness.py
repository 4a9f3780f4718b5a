"""Voluntary self-identification: what a candidate chose to say about themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from heldout.platform.models.base import Base


class SelfIdentification(Base):
    """A candidate's answers, kept apart from the attempt: no name, no e-mail, no times.

    ``assessment_id`` groups the answers for the adverse-impact report; ``attempt_id`` is
    the one link to the attempt (its score), read by that report alone and followed by the
    candidate's own export and erasure. No relationship is declared on either side, so no
    page that loads an attempt ever loads this with it.
    """

    __tablename__ = "self_identification"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), unique=True)
    # Category -> the answer chosen; a category answered "Prefer not to say" is absent.
    answers: Mapped[dict[str, Any]]
