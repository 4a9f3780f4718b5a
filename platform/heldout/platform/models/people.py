"""Staff accounts, teams, the audit log, API tokens and values shown once."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, new_session_token, utcnow

# The statuses of the columns below live with the rules that read them.


class User(Base):
    """A staff account. ``session_token`` is what the login session remembers.

    ``role`` is empty for an account single sign-on created without a role: it waits for
    an admin to give it one and can't sign in until then."""

    __tablename__ = "user_account"
    __table_args__ = (Index("ix_user_account_oidc_issuer_subject", "oidc_issuer", "oidc_subject",
                            unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on password change or forced logout: every session holding the old value ends.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who this account is at the OpenID Connect provider it signs in with (its ``iss`` and
    # ``sub``), once it has signed in that way.
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    # The four members flask-login looks for, without importing it here.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()


class Team(Base):
    """A hiring team: its staff see its assessments, invites, candidates and reports."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "default" is the team of every account and assessment that names no other.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    """A staff account's membership of a team."""

    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what, when and from where. Rows are only ever added."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None for a failed sign-in of an unknown account (``actor_label`` keeps what was typed).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class ShownOnce(Base):
    """A secret waiting for the one page that shows it (a generated password, a new invite
    link), masked by a random pad that only the browser's session holds."""

    __tablename__ = "shown_once"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    masked: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


ApiScope = Literal["read", "invite", "admin"]


API_SCOPES: tuple[str, ...] = get_args(ApiScope)


class ApiToken(Base):
    """A staff member's personal API token. Only the sha256 of the secret is kept; ``prefix``
    (its first characters) lets a person tell their tokens apart. ``scope`` bounds what the
    token may do within what its owner's role and teams allow (services/api_tokens.py)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
