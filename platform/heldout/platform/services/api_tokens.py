"""Personal API tokens of staff: made (the secret shown once), listed, revoked, and checked
on every API call.

A token acts as its owner: it sees what the owner's role and teams let them see
(services/access.py), never more. Its ``scope`` narrows that further:

- ``read``: every read the owner may make (catalogue, assessments, invites, attempts,
  reports, exports);
- ``invite``: reads, and invites (create, resend, extend, revoke);
- ``admin``: everything the owner's role may do through the API, assessments included.

Only the sha256 of a secret is stored; a token expires (at most ``MAX_DAYS`` after it was
made), may be revoked, stops working with its owner's account, and each use is recorded:
its last use on the token, and an ``api.call`` event in the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotAuthenticated, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import API_SCOPES, ApiToken, User
from heldout.platform.services import audit
from heldout.platform.services.audit import NO_ORIGIN, Origin
from heldout.platform.tokens import token_hash

SECRET_PREFIX = "hld_"  # noqa: S105 - what every token starts with, not a secret
# What a person is shown to tell tokens apart: "hld_" and the next eight characters.
SHOWN_PREFIX_CHARS = 12
# Longer than any secret we make: anything longer is refused before the database is asked.
MAX_SECRET_CHARS = 100
DEFAULT_DAYS = 90
MAX_DAYS = 365
MAX_NAME_CHARS = 100
# Each scope includes the ones before it.
SCOPE_RANK = {scope: rank for rank, scope in enumerate(API_SCOPES)}
SCOPE_WORDS = {
    "read": "read what your account may see",
    "invite": "read, and invite candidates (create, resend, extend, revoke invites)",
    "admin": "everything your role may do through the API, assessments included",
}
STATES = ("active", "expired", "revoked")


@dataclass(frozen=True)
class NewApiToken:
    """A token just made, and its secret: the only moment the secret exists in clear."""

    token: ApiToken
    secret: str


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def allows(scope: str, needed: str) -> bool:
    """Whether a token of ``scope`` may make a call that needs ``needed``."""
    return SCOPE_RANK.get(scope, -1) >= SCOPE_RANK[needed]


def state_of(token: ApiToken, now: datetime) -> str:
    """``active``, ``expired`` or ``revoked`` (one of ``STATES``)."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def _validated(name: str, scope: str, days: int) -> tuple[str, str, int]:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the token a name (what will use it)", field="name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"The name is longer than {MAX_NAME_CHARS} characters", field="name")
    if scope not in API_SCOPES:
        raise InvalidInput(f"Unknown scope {scope!r}; known: {', '.join(API_SCOPES)}",
                           field="scope")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"A token lasts between 1 and {MAX_DAYS} days", field="days")
    return name, scope, days


def create_token(*, user: User, name: str, scope: str, days: int, now: datetime,
                 actor: User | None, actor_label: str = "",
                 origin: Origin = NO_ORIGIN) -> NewApiToken:
    """A new token of ``user``, valid for ``days``; recorded in the audit log as made by
    ``actor`` (None: the command line, named by ``actor_label``)."""
    name, scope, days = _validated(name, scope, days)
    if not user.active:
        raise InvalidInput(f"{user.email} is disabled; its tokens would not work")
    secret = new_secret()
    token = ApiToken(user_id=user.id, name=name, scope=scope, token_hash=token_hash(secret),
                     prefix=secret[:SHOWN_PREFIX_CHARS], created_at=now,
                     expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.create", "api_token", token.id,
                 {"owner": user.email, "name": name, "scope": scope, "days": days},
                 origin=origin, actor_label=actor_label, commit=False)
    db.session.commit()
    return NewApiToken(token, secret)


def list_tokens(user_id: int | None = None) -> list[ApiToken]:
    """The tokens of ``user_id`` (None: everyone's), newest first, revoked ones included."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(db.session.scalars(query))


def revoke_token(token_id: int, *, owner_id: int | None, now: datetime, actor: User | None,
                 actor_label: str = "", origin: Origin = NO_ORIGIN) -> ApiToken:
    """Stop a token from working at once. ``owner_id``: only that account's token (another
    one does not exist for them); None: anyone's (the command line)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFound(f"No API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(actor, "api_token.revoke", "api_token", token.id,
                     {"owner": token.user.email, "name": token.name},
                     origin=origin, actor_label=actor_label, commit=False)
        db.session.commit()
    return token


HINT = "Create a token under Account → API tokens and send it as `Authorization: Bearer hld_…`."


def authenticate(secret: str, *, now: datetime) -> ApiToken:
    """The token ``secret`` names, if it may be used now; else ``NotAuthenticated`` saying
    why (unknown, expired, revoked, or its account disabled)."""
    token = None
    if secret.startswith(SECRET_PREFIX) and len(secret) <= MAX_SECRET_CHARS:
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if token is None:
        raise NotAuthenticated("This API token is not known here.", hint=HINT)
    state = state_of(token, now)
    if state == "revoked":
        raise NotAuthenticated(f"This API token ({token.prefix}…) was revoked.", hint=HINT)
    if state == "expired":
        raise NotAuthenticated(f"This API token ({token.prefix}…) expired on "
                               f"{token.expires_at:%Y-%m-%d %H:%M} UTC.", hint=HINT)
    if not token.user.active:
        raise NotAuthenticated("The account this API token belongs to is disabled.",
                               hint="Ask an administrator.")
    return token


def record_use(token: ApiToken, *, method: str, path: str, now: datetime,
               origin: Origin = NO_ORIGIN) -> None:
    """A use of ``token``: shown as its last use, and an ``api.call`` audit event."""
    token.last_used_at = now
    token.last_used_ip = (origin.ip or None) and origin.ip[:64]
    audit.record(token.user, "api.call", "api_token", token.id,
                 {"method": method, "path": path[:200], "scope": token.scope},
                 origin=origin, commit=False)
    db.session.commit()
