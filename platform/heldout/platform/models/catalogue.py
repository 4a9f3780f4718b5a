"""Challenges and their versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
