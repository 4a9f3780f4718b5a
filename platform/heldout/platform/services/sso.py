"""Single sign-on for staff: the account an OpenID Connect provider's checked claims sign in.

The web view runs the Authorization Code flow with PKCE (Authlib checks state, nonce,
signature, issuer, audience and expiry); this module only decides, from the claims it
returns, which account signs in, its role and its teams.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from heldout.platform.errors import Forbidden
from heldout.platform.extensions import db
from heldout.platform.models import ROLES, Team, User
from heldout.platform.services import accounts, audit, users_admin

# An account that single sign-on created and no claim gave a role to.
NO_ROLE = ""
# Never matches a password: werkzeug's check refuses a hash without a method.
NO_PASSWORD = "!sso"  # noqa: S105


@dataclass(frozen=True)
class ClaimNames:
    """Which claims carry a role and teams (empty: an admin assigns them)."""

    role: str = ""
    teams: str = ""


@dataclass(frozen=True)
class SignIn:
    """What a provider's claims led to: the account, and whether it may sign in now."""

    user: User
    created: bool
    # The account has no role yet: an admin must give it one (Admin → Users).
    waiting: bool


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return claim.replace(",", " ").split()
    if isinstance(claim, list | tuple):
        return [str(value) for value in claim if isinstance(value, str | int)]
    return []


def role_from(claims: Mapping[str, Any], names: ClaimNames) -> str | None:
    """The strongest role the role claim names, None when it names none (or isn't set)."""
    if not names.role:
        return None
    held = {value.strip().lower() for value in _values(claims.get(names.role))}
    # ROLES runs strongest first: a claim listing several gives the first it holds.
    return next((role for role in ROLES if role in held), None)


def teams_from(claims: Mapping[str, Any], names: ClaimNames) -> list[Team] | None:
    """The teams the teams claim names that exist here, None when the claim is absent."""
    if not names.teams or names.teams not in claims:
        return None
    slugs = {value.strip().lower() for value in _values(claims[names.teams])}
    return list(db.session.scalars(select(Team).where(Team.slug.in_(slugs)).order_by(Team.slug)))


def _name(claims: Mapping[str, Any], email: str) -> str:
    name = str(claims.get("name") or claims.get("preferred_username") or email.split("@")[0])
    return "".join(ch for ch in name if ch.isprintable())[:accounts.MAX_NAME_CHARS] or email


def _find(issuer: str, subject: str, email: str, email_verified: bool) -> User | None:
    user = db.session.scalar(select(User).where(User.oidc_issuer == issuer,
                                                User.oidc_subject == subject))
    if user is not None:
        return user
    by_email = db.session.scalar(select(User).where(User.email == email))
    if by_email is None:
        return None
    # An account made before single sign-on is joined only on an address the provider
    # vouches for, and only once: never one already tied to another subject.
    if not email_verified or by_email.oidc_subject is not None:
        raise Forbidden(f"{email} already has an account that this sign-in can't be joined to",
                        hint="Ask an admin: the provider must confirm the address "
                             "(email_verified) for an existing account to be joined.")
    by_email.oidc_issuer, by_email.oidc_subject = issuer, subject
    return by_email


def sign_in(claims: Mapping[str, Any], *, issuer: str, names: ClaimNames,
            origin: audit.Origin) -> SignIn:
    """The account these checked claims are (made on the first sign-in), its role and teams
    set from the claims where they carry them. A disabled account is refused."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise Forbidden("The provider sent no subject (sub) for this sign-in")
    email = accounts.normalise_email(str(claims.get("email") or ""))
    user = _find(issuer, subject, email, claims.get("email_verified") is True)
    role = role_from(claims, names)
    created = user is None
    if user is None:
        user = User(email=email, name=_name(claims, email), role=role or NO_ROLE,
                    password_hash=NO_PASSWORD, oidc_issuer=issuer, oidc_subject=subject)
        db.session.add(user)
        db.session.flush()
        audit.record(None, "user.create", "user", user.id,
                     {"email": email, "role": user.role, "by": "single sign-on"},
                     actor_label=email, origin=origin, commit=False)
    elif not user.active:
        db.session.rollback()
        raise Forbidden("This account is disabled", hint="Ask an admin to enable it.")
    elif role is not None and role != user.role:
        audit.record(None, "user.role", "user", user.id,
                     {"email": user.email, "from": user.role, "to": role, "by": "single sign-on"},
                     actor_label=email, origin=origin, commit=False)
        user.role = role
    teams = teams_from(claims, names)
    if teams is not None:
        users_admin.set_memberships(user.id, [team.id for team in teams])
    db.session.commit()
    return SignIn(user, created, waiting=user.role not in ROLES)
