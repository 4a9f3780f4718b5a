"""Staff accounts: creation, password checks, session tokens."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import ROLES, User
from heldout.platform.services import audit
from heldout.platform.services.names import checked_name

# One plain mailbox: a dot-atom before the @ and a host name after it. Quotes, brackets,
# commas, backslashes and the like are refused: in a mail header they would quote, escape
# or add recipients.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
MIN_PASSWORD_LENGTH = 10
MAX_NAME_CHARS = 120  # User.name's column
# Who the audit log names for account changes made with `heldout users ...`.
COMMAND_LINE = "heldout command"


@cache
def _dummy_hash() -> str:
    # Checked against when the e-mail is unknown, so both paths cost the same time. Made on
    # first use: importing this module (the CLI, the worker, every test) must not pay scrypt.
    return generate_password_hash("not-a-real-password", method="scrypt")


def _record(action: str, user_id: int | None, email: str, **detail: str) -> None:
    # Part of the caller's transaction: the change and its audit event commit together.
    audit.record(None, action, "user", user_id, {"email": email, **detail},
                 actor_label=COMMAND_LINE, commit=False)


def normalise_email(email: str) -> str:
    """``email`` lower-cased if it is one plain mailbox (name@host.example), else
    ``InvalidInput``: every address that reaches a mail header passes here."""
    email = email.strip().lower()
    if not EMAIL.fullmatch(email) or len(email) > 254 or len(email.split("@")[0]) > 64:
        shown = email if email.isprintable() else repr(email)
        raise InvalidInput(f"{shown or 'An empty value'} is not an e-mail address",
                           hint="Give one address such as name@example.com, without a name, "
                                "quotes or brackets.", field="email")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters",
                           field="password")


def create_user(email: str, name: str, role: str, password: str) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; known: {', '.join(ROLES)}", field="role")
    name = checked_name(name, what="The name", field="name", max_chars=MAX_NAME_CHARS)
    _check_password(password)
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise InvalidInput(f"{email} already has an account", field="email")
    user = User(email=email, name=name, role=role,
                password_hash=generate_password_hash(password, method="scrypt"))
    db.session.add(user)
    _record("user.create", None, email, role=role)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether or not it exists)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No account for {email.strip() or 'an empty e-mail'}")
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def end_sessions(user_id: int) -> None:
    """Every session of this user ends (sign-out): a saved cookie opens nothing afterwards."""
    user = db.session.get(User, user_id)
    if user is not None:
        user.rotate_session_token()
        db.session.commit()


def set_active(email: str, active: bool) -> User:
    """Disable (its sessions end, it can't sign in) or re-enable an account."""
    user = user_by_email(email)
    if user.active != active:
        user.active = active
        user.rotate_session_token()
        _record("user.enable" if active else "user.disable", user.id, user.email)
        db.session.commit()
    return user


def user_by_session_token(token: str) -> User | None:
    return db.session.scalar(select(User).where(User.session_token == token, User.active))


def set_password_by_email(email: str, password: str) -> User:
    return set_password(user_by_email(email).id, password)


def set_password(user_id: int, password: str) -> User:
    """Change a password; every existing session of that user ends."""
    _check_password(password)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}")
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.rotate_session_token()
    _record("user.password_reset", user.id, user.email)
    db.session.commit()
    return user


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
