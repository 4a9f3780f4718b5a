"""What admins do to accounts and teams: create, disable, reset, change role, team up.

Every change is written to the audit log in the same transaction as the change itself.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.platform.errors import Forbidden, InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import ROLES, Assessment, Team, TeamMember, User
from heldout.platform.services import accounts, audit
from heldout.platform.services.access import DEFAULT_TEAM, team_ids_of
from heldout.platform.services.names import checked_name

# 16 URL-safe bytes: about 128 bits, shown once and never stored in clear.
PASSWORD_BYTES = 16
TEAM_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")


@dataclass(frozen=True)
class UserFilter:
    role: str = ""             # one of ROLES, or "" for every role
    state: str = ""            # "active", "disabled" or "" for both


@dataclass(frozen=True)
class UserRow:
    user: User
    teams: tuple[Team, ...]


@dataclass(frozen=True)
class NewPassword:
    """A password made for someone, the only moment it exists in clear."""

    user: User
    password: str


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def _teams_by_user() -> dict[int, list[Team]]:
    teams = {t.id: t for t in db.session.scalars(select(Team))}
    found: dict[int, list[Team]] = {}
    for member in db.session.scalars(select(TeamMember).order_by(TeamMember.team_id)):
        found.setdefault(member.user_id, []).append(teams[member.team_id])
    return found


def list_users(criteria: UserFilter) -> list[UserRow]:
    if criteria.role and criteria.role not in ROLES:
        raise InvalidInput(f"unknown role {criteria.role!r}; known: {', '.join(ROLES)}",
                           field="role")
    query = select(User).order_by(User.email)
    if criteria.role:
        query = query.where(User.role == criteria.role)
    if criteria.state == "active":
        query = query.where(User.active.is_(True))
    elif criteria.state == "disabled":
        query = query.where(User.active.is_(False))
    teams = _teams_by_user()
    return [UserRow(user, tuple(teams.get(user.id, ()))) for user in db.session.scalars(query)]


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}")
    return user


def user_teams(user_id: int) -> list[int]:
    return team_ids_of(user_id)


def set_memberships(user_id: int, team_ids: Sequence[int]) -> list[str]:
    """The user is in exactly these teams (part of the caller's transaction); their slugs."""
    wanted = set(team_ids)
    known = {t.id: t for t in db.session.scalars(select(Team).where(Team.id.in_(wanted)))}
    unknown = wanted - set(known)
    if unknown:
        raise InvalidInput(f"Unknown team {min(unknown)}", field="teams")
    members = {m.team_id: m for m in db.session.scalars(
        select(TeamMember).where(TeamMember.user_id == user_id))}
    for team_id, member in members.items():
        if team_id not in wanted:
            db.session.delete(member)
    for team_id in wanted - set(members):
        db.session.add(TeamMember(team_id=team_id, user_id=user_id))
    return sorted(known[t].slug for t in wanted)


def create_user(*, actor: User, email: str, name: str, role: str, team_ids: Sequence[int],
                origin: audit.Origin) -> NewPassword:
    """A new account with a generated password, which the admin hands over once."""
    password = new_password()
    email = accounts.normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"Choose a role: {', '.join(ROLES)}", field="role")
    name = checked_name(name, what="The name", field="name", max_chars=accounts.MAX_NAME_CHARS)
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise InvalidInput(f"{email} already has an account", field="email")
    user = User(email=email, name=name, role=role,
                password_hash=generate_password_hash(password, method="scrypt"))
    db.session.add(user)
    db.session.flush()
    teams = set_memberships(user.id, team_ids)
    audit.record(actor, "user.create", "user", user.id,
                 {"email": email, "role": role, "teams": teams}, origin=origin, commit=False)
    db.session.commit()
    return NewPassword(user, password)


def _not_self(actor: User, user: User, what: str) -> None:
    if actor.id == user.id:
        raise Forbidden(f"You can't {what} your own account",
                        hint="Ask another admin, so an installation never loses its last admin.")


def set_active(*, actor: User, user_id: int, active: bool, origin: audit.Origin) -> User:
    """Disable (its sessions end at once, it can't sign in) or enable an account."""
    user = get_user(user_id)
    if not active:
        _not_self(actor, user, "disable")
    if user.active != active:
        user.active = active
        user.rotate_session_token()
        audit.record(actor, "user.enable" if active else "user.disable", "user", user.id,
                     {"email": user.email}, origin=origin,
                     commit=False)
        db.session.commit()
    return user


def reset_password(*, actor: User, user_id: int, origin: audit.Origin) -> NewPassword:
    """A new generated password; every session of the account ends."""
    user = get_user(user_id)
    password = new_password()
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.rotate_session_token()
    audit.record(actor, "user.password_reset", "user", user.id, {"email": user.email},
                 origin=origin, commit=False)
    db.session.commit()
    return NewPassword(user, password)


def change_role(*, actor: User, user_id: int, role: str, origin: audit.Origin) -> User:
    user = get_user(user_id)
    if role not in ROLES:
        raise InvalidInput(f"Choose a role: {', '.join(ROLES)}", field="role")
    if role != user.role:
        _not_self(actor, user, "change the role of")
        before, user.role = user.role, role
        audit.record(actor, "user.role", "user", user.id,
                     {"email": user.email, "from": before, "to": role}, origin=origin, commit=False)
        db.session.commit()
    return user


def set_teams(*, actor: User, user_id: int, team_ids: Sequence[int],
              origin: audit.Origin) -> User:
    user = get_user(user_id)
    teams = set_memberships(user.id, team_ids)
    audit.record(actor, "user.teams", "user", user.id, {"email": user.email, "teams": teams},
                 origin=origin, commit=False)
    db.session.commit()
    return user


@dataclass(frozen=True)
class TeamRow:
    team: Team
    members: tuple[User, ...]
    assessments: tuple[Assessment, ...]


def list_teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def team_overview() -> tuple[list[TeamRow], list[Assessment]]:
    """Every team with its members and assessments, and every assessment (to move one)."""
    teams = list_teams()
    users = {u.id: u for u in db.session.scalars(select(User).order_by(User.email))}
    members: dict[int, list[User]] = {}
    for member in db.session.scalars(select(TeamMember)):
        members.setdefault(member.team_id, []).append(users[member.user_id])
    every = list(db.session.scalars(select(Assessment).order_by(Assessment.name)))
    default = next((t for t in teams if t.slug == DEFAULT_TEAM), None)
    rows = []
    for team in teams:
        owned = [a for a in every if a.team_id == team.id
                 or (a.team_id is None and default is not None and team.id == default.id)]
        rows.append(TeamRow(team, tuple(sorted(members.get(team.id, []), key=lambda u: u.email)),
                            tuple(owned)))
    return rows, every


def create_team(*, actor: User, name: str, slug: str, origin: audit.Origin) -> Team:
    if not name.strip():
        raise InvalidInput("Give the team a name", field="name")
    name = checked_name(name, what="The team's name", field="name", max_chars=None)
    slug = slug.strip().lower() or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not TEAM_SLUG.fullmatch(slug):
        raise InvalidInput("A short name uses lower-case letters, digits and dashes",
                           field="slug")
    if db.session.scalar(select(Team).where(Team.slug == slug)) is not None:
        raise InvalidInput(f"A team called {slug} exists already", field="slug")
    team = Team(name=name[:120], slug=slug)
    db.session.add(team)
    db.session.flush()
    audit.record(actor, "team.create", "team", team.id, {"slug": slug, "name": team.name},
                 origin=origin, commit=False)
    db.session.commit()
    return team


def move_assessment(*, actor: User, assessment_id: int, team_id: int,
                    origin: audit.Origin) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"No assessment {assessment_id}")
    team = db.session.get(Team, team_id)
    if team is None:
        raise InvalidInput(f"Unknown team {team_id}", field="team")
    assessment.team_id = team.id
    audit.record(actor, "assessment.team", "assessment", assessment.id,
                 {"name": assessment.name, "team": team.slug}, origin=origin, commit=False)
    db.session.commit()
    return assessment
