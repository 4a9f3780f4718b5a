"""Hiring teams decide what staff see: the one place every staff and review lookup asks.

Admins see everything. Recruiters and interviewers see the assessments of their teams, and
through them those assessments' invites, attempts, submissions and reports. An account in
no team, and an assessment with no team, belong to the default team (slug ``default``):
that is where an installation starts, and where the migration put everything that
existed before teams.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from flask import Flask, has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, false, or_, select

from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Invite,
    PublicRun,
    Submission,
    Team,
    TeamMember,
    User,
)

DEFAULT_TEAM = "default"
# URL parameters of staff pages that name something belonging to an assessment.
SCOPED_PARAMETERS = ("assessment_id", "invite_id", "attempt_id", "submission_id", "run_id")


def team_ids_of(user_id: int) -> list[int]:
    return list(db.session.scalars(select(TeamMember.team_id)
                                   .where(TeamMember.user_id == user_id)
                                   .order_by(TeamMember.team_id)))


def default_team() -> Team | None:
    return db.session.scalar(select(Team).where(Team.slug == DEFAULT_TEAM))


def _scope(user: User) -> tuple[list[int], bool]:
    """The teams whose work ``user`` sees, and whether that includes the default team."""
    ids = team_ids_of(user.id)
    if not ids:
        return ids, True
    default = default_team()
    return ids, default is not None and default.id in ids


def restrict(query: Select[Any], user: User | None) -> Select[Any]:
    """``query`` (over Assessment) limited to what ``user`` may see; None: no limit."""
    if user is None or user.role == "admin":
        return query
    ids, in_default = _scope(user)
    default = default_team() if in_default else None
    seen = [*ids, *([default.id] if default is not None else [])]
    conditions = [Assessment.team_id.in_(seen)] if seen else []
    if in_default:
        conditions.append(Assessment.team_id.is_(None))
    return query.where(or_(*conditions) if conditions else false())


def visible_assessments(user: User) -> Select[Any]:
    """Every assessment ``user`` may open, as a query to order or filter further."""
    return restrict(select(Assessment), user)


def can_see(user: User, assessment: Assessment) -> bool:
    if user.role == "admin":
        return True
    ids, in_default = _scope(user)
    if assessment.team_id is None:
        return in_default
    if assessment.team_id in ids:
        return True
    default = default_team() if in_default else None
    return default is not None and assessment.team_id == default.id


def require_assessment_access(user: User, assessment: Assessment) -> Assessment:
    """``assessment`` if ``user`` may see it; otherwise it does not exist for them."""
    if not can_see(user, assessment):
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
    return None


def check_view_args(user: User, view_args: Mapping[str, Any]) -> None:
    """Refuse (as not found) a staff URL naming another team's work."""
    if user.role == "admin":
        return
    for parameter in SCOPED_PARAMETERS:
        value = view_args.get(parameter)
        # Only integer ids are staff ids (a candidate's attempt has a public string id).
        if not isinstance(value, int):
            continue
        assessment = assessment_of(parameter, value)
        if assessment is not None:
            require_assessment_access(user, assessment)


def current_viewer() -> User | None:
    """The signed-in staff member of this request; None outside a request (CLI, worker) or
    for a visitor who is not signed in (candidates are scoped by their session instead)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return cast(User, current_user._get_current_object())


def scoped(query: Select[Any]) -> Select[Any]:
    """``query`` (over Assessment) limited to what this request's staff member may see."""
    return restrict(query, current_viewer())


def checked(assessment: Assessment) -> Assessment:
    """``assessment``, unless this request's staff member may not see it (NotFound)."""
    viewer = current_viewer()
    return assessment if viewer is None else require_assessment_access(viewer, assessment)


def _guard() -> None:
    viewer = current_viewer()
    # Admin pages are for admins alone, who see every team's work anyway; a candidate's
    # pages belong to the browser that started the attempt, whoever else is signed in.
    if request.view_args and viewer is not None and \
            request.blueprint not in ("admin", "candidate"):
        check_view_args(viewer, request.view_args)


def init_app(app: Flask) -> None:
    """Check every request's URL ids against the signed-in staff member's teams, so a page
    added later is scoped without remembering to ask."""
    app.before_request(_guard)
