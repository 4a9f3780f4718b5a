"""Hiring teams decide what staff see: the one place every staff and review lookup asks.

Admins see everything. Recruiters and interviewers see the assessments of their teams, and
through them those assessments' invites, attempts, submissions and reports. An account in
no team, and an assessment with no team, belong to the default team (slug ``default``):
that is where an installation starts, and where the migration put everything that
existed before teams.

Who asks is an explicit ``Viewer``, made by the web layer from the request (a session
today, an API token later) and handed in; nothing here reads the request. The web layer
checks the ids a URL names against it before any view runs (``check_ids``); services that
choose which assessments to show take it as an argument (``restrict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select

from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Invite,
    PublicRun,
    SimilarityPair,
    Submission,
    Team,
    TeamMember,
    User,
)

DEFAULT_TEAM = "default"
# URL parameters of staff pages that name something belonging to an assessment.
SCOPED_PARAMETERS = ("assessment_id", "invite_id", "attempt_id", "submission_id", "run_id",
                     "pair_id")


def has_role(role: str, *roles: str) -> bool:
    """Whether a staff member with ``role`` holds one of ``roles`` (an admin holds them all)."""
    return role == "admin" or role in roles


@dataclass(frozen=True)
class StaffViewer:
    """A signed-in staff member: what they see follows from their role and teams."""

    user: User
    team_ids: tuple[int, ...]

    @classmethod
    def of(cls, user: User) -> StaffViewer:
        return cls(user, tuple(team_ids_of(user.id)))

    @property
    def role(self) -> str:
        return self.user.role

    def has_role(self, *roles: str) -> bool:
        return has_role(self.role, *roles)


@dataclass(frozen=True)
class CandidateViewer:
    """A candidate's browser, bound to one attempt (by its public id) and nothing else."""

    attempt_public_id: str


Viewer = StaffViewer | CandidateViewer


def team_ids_of(user_id: int) -> list[int]:
    return list(db.session.scalars(select(TeamMember.team_id)
                                   .where(TeamMember.user_id == user_id)
                                   .order_by(TeamMember.team_id)))


def default_team() -> Team | None:
    return db.session.scalar(select(Team).where(Team.slug == DEFAULT_TEAM))


def _scope(viewer: StaffViewer) -> tuple[list[int], bool]:
    """The teams whose work ``viewer`` sees, and whether that includes the default team."""
    ids = list(viewer.team_ids)
    if not ids:
        return ids, True
    default = default_team()
    return ids, default is not None and default.id in ids


def restrict(query: Select[Any], viewer: StaffViewer | None) -> Select[Any]:
    """``query`` (over Assessment) limited to what ``viewer`` may see; None (the command
    line, the worker: no person asks) sees everything."""
    if viewer is None or viewer.role == "admin":
        return query
    ids, in_default = _scope(viewer)
    default = default_team() if in_default else None
    seen = [*ids, *([default.id] if default is not None else [])]
    conditions = [Assessment.team_id.in_(seen)] if seen else []
    if in_default:
        conditions.append(Assessment.team_id.is_(None))
    return query.where(or_(*conditions) if conditions else false())


def visible_assessments(viewer: StaffViewer) -> Select[Any]:
    """Every assessment ``viewer`` may open, as a query to order or filter further."""
    return restrict(select(Assessment), viewer)


def can_see(viewer: StaffViewer, assessment: Assessment) -> bool:
    if viewer.role == "admin":
        return True
    ids, in_default = _scope(viewer)
    if assessment.team_id is None:
        return in_default
    if assessment.team_id in ids:
        return True
    default = default_team() if in_default else None
    return default is not None and assessment.team_id == default.id


def in_team(team_id: int | None) -> ColumnElement[bool]:
    """A condition on ``Assessment``: of the hiring team ``team_id`` (None, or the default
    team's id: the default team, which also holds every assessment in no team)."""
    default = default_team()
    if team_id is not None and (default is None or team_id != default.id):
        return Assessment.team_id == team_id
    in_default: list[ColumnElement[bool]] = [Assessment.team_id.is_(None)]
    if default is not None:
        in_default.append(Assessment.team_id == default.id)
    return or_(*in_default)


def team_id_of(assessment: Assessment) -> int | None:
    """The team whose work ``assessment`` is: its own, or the default team's when it names
    none (None only if there is no default team)."""
    if assessment.team_id is not None:
        return assessment.team_id
    default = default_team()
    return None if default is None else default.id


def same_team(assessment: Assessment) -> ColumnElement[bool]:
    """A condition on ``Assessment``: of the same hiring team as ``assessment``."""
    return in_team(assessment.team_id)


@dataclass(frozen=True)
class TeamChoice:
    """A hiring team whose candidates form one population (scores are compared within a
    team, never across): ``id`` None is the default team while no row names it."""

    id: int | None
    name: str


def team_choices(viewer: StaffViewer) -> tuple[TeamChoice, ...]:
    """The teams whose candidates ``viewer`` may count, their own first: an admin's are
    every team; anyone else's are their teams (the default team when in none)."""
    default = default_team()
    default_choice = TeamChoice(default.id if default is not None else None,
                                default.name if default is not None else "Default team")
    ids, in_default = _scope(viewer)
    teams = {team.id: team for team in db.session.scalars(select(Team).order_by(Team.name))}
    choices = [TeamChoice(i, teams[i].name) for i in ids if i in teams]
    if in_default and default_choice not in choices:
        choices.append(default_choice)
    if viewer.role == "admin":
        if default_choice not in choices:
            choices.append(default_choice)
        choices += [TeamChoice(t.id, t.name) for t in teams.values()
                    if TeamChoice(t.id, t.name) not in choices]
    return tuple(choices)


def team_choice(viewer: StaffViewer, team_id: int | None) -> tuple[TeamChoice,
                                                                     tuple[TeamChoice, ...]]:
    """The team ``viewer`` asked to count (None: their first) and every team they may;
    a team they may not count does not exist for them."""
    choices = team_choices(viewer)
    if team_id is None:
        return choices[0], choices
    for choice in choices:
        if choice.id == team_id:
            return choice, choices
    raise NotFound(f"No team {team_id}")


def require_assessment_access(viewer: StaffViewer, assessment: Assessment) -> Assessment:
    """``assessment`` if ``viewer`` may see it; otherwise it does not exist for them."""
    if not can_see(viewer, assessment):
        raise NotFound(f"No assessment {assessment.id}")
    return assessment


def team_for_new_assessment(user_id: int) -> int | None:
    """The team a new assessment joins: its creator's first team (None: the default)."""
    ids = team_ids_of(user_id)
    return ids[0] if ids else None


def assessment_of(parameter: str, value: int) -> Assessment | None:
    """The assessment a staff URL's ``parameter`` points into (None: nothing by that id)."""
    if parameter == "assessment_id":
        return db.session.get(Assessment, value)
    if parameter == "invite_id":
        invite = db.session.get(Invite, value)
        return invite.assessment if invite is not None else None
    if parameter == "attempt_id":
        attempt = db.session.get(Attempt, value)
        return attempt.invite.assessment if attempt is not None else None
    if parameter == "submission_id":
        submission = db.session.get(Submission, value)
        return submission.attempt.invite.assessment if submission is not None else None
    if parameter == "run_id":
        run = db.session.get(PublicRun, value)
        return run.attempt.invite.assessment if run is not None else None
    if parameter == "pair_id":
        # A similarity pair's first side; the service checks its other side as well.
        pair = db.session.get(SimilarityPair, value)
        return pair.submission_a.attempt.invite.assessment if pair is not None else None
    return None


def check_ids(viewer: StaffViewer, ids: Mapping[str, Any]) -> None:
    """Refuse (as not found) ids naming another team's work, e.g. a staff URL's arguments."""
    if viewer.role == "admin":
        return
    for parameter in SCOPED_PARAMETERS:
        value = ids.get(parameter)
        # Only integer ids are staff ids (a candidate's attempt has a public string id).
        if not isinstance(value, int):
            continue
        assessment = assessment_of(parameter, value)
        if assessment is not None:
            require_assessment_access(viewer, assessment)
