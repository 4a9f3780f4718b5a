"""The column types, the declarative base and the small helpers every model uses."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar, get_args

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from heldout.platform.statuses import GradingStatus

# The statuses of the columns below live with the rules that read them.

Role = Literal["admin", "recruiter", "interviewer"]


ROLES: tuple[str, ...] = get_args(Role)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    """An unguessable id for URLs a candidate sees (never a sequential number)."""
    return secrets.token_urlsafe(16)


def new_variant_seed() -> int:
    """The seed of an attempt's data variants (fits a signed 32-bit column)."""
    return secrets.randbelow(2**31)


def new_session_token() -> str:
    """What a staff login session remembers instead of the user id (fits String(64))."""
    return secrets.token_urlsafe(32)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A ``StrEnum`` column stored as its plain value in a VARCHAR: the stored strings are
    the ones written before the enum existed (no database enum type, no constraint to
    migrate), rows come back as members, and an unknown value is refused on the way in."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class LeasedRow:
    """The columns of a row run as a leased job (services/jobs.py), shared by its kinds."""

    status: Mapped[GradingStatus] = mapped_column(EnumText(GradingStatus, 20),
                                                  default=GradingStatus.QUEUED, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    tries: Mapped[int] = mapped_column(Integer, default=0)
    # A running job belongs to whoever holds the lease; past lease_expires_at it is stale.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
