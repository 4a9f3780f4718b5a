"""Assessments: build one from the catalogue, list them with invite counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, AssessmentChallenge, Challenge, Invite
from heldout.platform.services import access

MIN_MINUTES = 5
MAX_MINUTES = 24 * 60


@dataclass(frozen=True)
class AssessmentSummary:
    assessment: Assessment
    invited: int
    started: int
    finished: int


def create_assessment(*, name: str, challenge_slugs: Sequence[str], time_limit_minutes: int,
                      instructions: str, expires_at: datetime | None, show_scores: bool,
                      created_by_id: int) -> Assessment:
    """A new assessment with the challenges in the order given."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the assessment a name", field="name")
    if not challenge_slugs:
        raise InvalidInput("Choose at least one challenge", field="challenges")
    if len(set(challenge_slugs)) != len(challenge_slugs):
        raise InvalidInput("A challenge can appear only once", field="challenges")
    if not MIN_MINUTES <= time_limit_minutes <= MAX_MINUTES:
        raise InvalidInput(f"The time limit must be between {MIN_MINUTES} and {MAX_MINUTES} "
                           "minutes", field="time_limit_minutes")
    found = {c.slug: c for c in db.session.scalars(
        select(Challenge).where(Challenge.slug.in_(challenge_slugs), Challenge.available))}
    missing = [slug for slug in challenge_slugs if slug not in found]
    if missing:
        raise InvalidInput(f"Unknown or unavailable challenge: {', '.join(missing)}",
                           field="challenges")
    assessment = Assessment(name=name, instructions=instructions.strip(),
                            time_limit_minutes=time_limit_minutes, expires_at=expires_at,
                            show_scores=show_scores, created_by_id=created_by_id)
    assessment.items = [AssessmentChallenge(challenge=found[slug], position=i)
                        for i, slug in enumerate(challenge_slugs)]
    assessment.team_id = access.team_for_new_assessment(created_by_id)
    db.session.add(assessment)
    db.session.commit()
    return assessment


def get_assessment(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"No assessment {assessment_id}")
    return access.checked(assessment)


def list_assessments(*, include_archived: bool = False) -> list[AssessmentSummary]:
    query = select(Assessment).order_by(Assessment.created_at.desc(), Assessment.id.desc())
    query = access.scoped(query)
    if not include_archived:
        query = query.where(Assessment.archived.is_(False))
    assessments = list(db.session.scalars(query))
    counts: dict[int, Counter[str]] = {a.id: Counter() for a in assessments}
    rows = db.session.execute(select(Invite.assessment_id, Invite.started_at, Invite.finished_at)
                              .where(Invite.assessment_id.in_(list(counts))))
    for assessment_id, started_at, finished_at in rows:
        count = counts[assessment_id]
        count["invited"] += 1
        count["started"] += started_at is not None
        count["finished"] += finished_at is not None
    return [AssessmentSummary(a, counts[a.id]["invited"], counts[a.id]["started"],
                              counts[a.id]["finished"]) for a in assessments]


def expected_minutes(assessment: Assessment) -> int:
    return sum(c.expected_minutes for c in assessment.challenges)
