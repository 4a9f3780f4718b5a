"""Staff accounts: creation, password checks, session tokens."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import ROLES, User

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD_LENGTH = 10
# Checked against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email) or len(email) > 254:
        raise InvalidInput(f"{email or 'An empty value'} is not an e-mail address", field="email")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters",
                           field="password")


def create_user(email: str, name: str, role: str, password: str) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; known: {', '.join(ROLES)}", field="role")
    if not name.strip():
        raise InvalidInput("A name is required", field="name")
    _check_password(password)
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise InvalidInput(f"{email} already has an account", field="email")
    user = User(email=email, name=name.strip(), role=role,
                password_hash=generate_password_hash(password, method="scrypt"))
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether or not it exists)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def user_by_session_token(token: str) -> User | None:
    return db.session.scalar(select(User).where(User.session_token == token, User.active))


def set_password(user_id: int, password: str) -> User:
    """Change a password; every existing session of that user ends."""
    _check_password(password)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}")
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.rotate_session_token()
    db.session.commit()
    return user


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
