"""Assessments: list, read, create, change, archive and restore them."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue

from heldout.platform.models import Assessment
from heldout.platform.services import assessments, assistant
from heldout.platform.services.access import StaffViewer
from heldout.platform.views.api.v1 import schemas
from heldout.platform.views.api.v1.base import (
    bp,
    check_if_match,
    operation,
    resource,
    updated,
    updates,
)
from heldout.platform.views.auth import record_action

# As on the pages: recruiters build and archive; interviewers read the list.
READERS = ("recruiter", "interviewer")
BUILDERS = ("recruiter",)
TAGS = ["Assessments"]
ID = "<int:assessment_id>"


def assessment_record(assessment: Assessment, counts: dict[str, int]) -> dict[str, Any]:
    return {"id": assessment.id, "name": assessment.name,
            "instructions": assessment.instructions,
            "challenges": [c.slug for c in assessment.challenges],
            "time_limit_minutes": assessment.time_limit_minutes,
            "expected_minutes": assessments.expected_minutes(assessment),
            "expires_at": assessment.expires_at, "show_scores": assessment.show_scores,
            "followups": assessment.followups,
            "feedback_to_candidates": assessment.feedback_to_candidates,
            "counting": assessment.counting, "ai_policy": assessment.ai_policy,
            "archived": assessment.archived,
            "team_id": assessment.team_id, "created_by": assessment.created_by.email,
            "created_at": assessment.created_at,
            **{key: counts.get(key, 0) for key in ("invited", "started", "finished")}}


def _one(assessment: Assessment) -> dict[str, Any]:
    return assessment_record(assessment, assessments.invite_counts([assessment.id])[assessment.id])


@operation(scope="read", roles=READERS, ids=False)
@bp.etag
@bp.arguments(schemas.AssessmentQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.Assessment(many=True))
@bp.paginate()
def list_assessments(viewer: StaffViewer, include_archived: bool,
                     pagination_parameters: Any) -> ResponseReturnValue:
    """The assessments you may see

    Newest first, with how many candidates were invited, started and finished.
    """
    wanted = pagination_parameters
    listing = assessments.list_assessments(viewer=viewer, include_archived=include_archived,
                                           page=wanted.page, per_page=wanted.page_size)
    wanted.item_count = listing.total
    if listing.page != wanted.page:
        return []  # past the last page
    return [assessment_record(s.assessment, {"invited": s.invited, "started": s.started,
                                             "finished": s.finished})
            for s in listing.summaries]


@operation(scope="admin", roles=BUILDERS, ids=False)
@bp.arguments(schemas.AssessmentCreate)
@bp.response(201, schemas.Assessment)
@bp.alt_response(400, response="BAD_REQUEST")
def create_assessment(viewer: StaffViewer, body: dict[str, Any]) -> ResponseReturnValue:
    """Create an assessment

    Its challenges in the order given; it joins your first team.
    """
    created = assessments.create_assessment(
        name=body["name"], challenge_slugs=body["challenges"],
        time_limit_minutes=body["time_limit_minutes"],
        instructions=body.get("instructions", ""), expires_at=body.get("expires_at"),
        show_scores=body.get("show_scores", False), created_by_id=viewer.user.id,
        counting=body.get("counting", "last"), ai_policy=body.get("ai_policy", "not_allowed"),
        assistant_available=_assistant_available(), followups=body.get("followups", False),
        feedback_to_candidates=body.get("feedback_to_candidates", False))
    return _one(created)


def _assistant_available() -> bool:
    return assistant.AssistantSettings.from_config(current_app.config) is not None


@operation(scope="read", roles=READERS)
@bp.etag
@bp.response(200, schemas.Assessment)
def get_assessment(viewer: StaffViewer, assessment_id: int) -> ResponseReturnValue:
    """One assessment"""
    return _one(assessments.get_assessment(assessment_id))


@operation(scope="admin", roles=BUILDERS)
@updates
@bp.arguments(schemas.AssessmentFields, required=False)
@bp.response(200, schemas.Assessment)
@bp.alt_response(400, response="BAD_REQUEST")
def update_assessment(viewer: StaffViewer, body: dict[str, Any],
                      assessment_id: int) -> ResponseReturnValue:
    """Change an assessment

    Only the fields sent change. Once a candidate has started, its challenges stay as they
    are (400): duplicate it in the app instead. Send the ETag you read as `If-Match` to
    refuse the change (412) if someone changed it since.
    """
    current = assessments.get_assessment(assessment_id)
    check_if_match(schemas.Assessment, _one(current))
    form = assessments.AssessmentForm(
        name=body.get("name", current.name),
        challenge_slugs=tuple(body.get("challenges", [c.slug for c in current.challenges])),
        time_limit_minutes=body.get("time_limit_minutes", current.time_limit_minutes),
        instructions=body.get("instructions", current.instructions),
        expires_at=body.get("expires_at", current.expires_at),
        show_scores=body.get("show_scores", current.show_scores),
        counting=body.get("counting", current.counting),
        ai_policy=body.get("ai_policy", current.ai_policy),
        assistant_available=_assistant_available(),
        followups=body.get("followups", current.followups),
        feedback_to_candidates=body.get("feedback_to_candidates",
                                        current.feedback_to_candidates))
    return updated(_one(assessments.update_assessment(assessment_id, form)), schemas.Assessment)


resource("/assessments", "assessments", tags=TAGS, get=list_assessments, post=create_assessment)
resource(f"/assessments/{ID}", "assessment", tags=TAGS, get=get_assessment, patch=update_assessment)


def _archive(viewer: StaffViewer, assessment_id: int, archived: bool) -> ResponseReturnValue:
    check_if_match(schemas.Assessment, _one(assessments.get_assessment(assessment_id)))
    assessment = assessments.set_archived(assessment_id, archived)
    record_action(viewer.user, "assessment.archive", "assessment", assessment_id,
                  {"on": archived, "via": "api"})
    return updated(_one(assessment), schemas.Assessment)


@bp.route(f"/assessments/{ID}/archive", methods=["POST"], tags=TAGS)
@operation(scope="admin", roles=BUILDERS)
@updates
@bp.response(200, schemas.Assessment)
def archive_assessment(viewer: StaffViewer, assessment_id: int) -> ResponseReturnValue:
    """Archive an assessment

    Hidden from the list; no new invites; its links stop opening.
    """
    return _archive(viewer, assessment_id, True)


@bp.route(f"/assessments/{ID}/restore", methods=["POST"], tags=TAGS)
@operation(scope="admin", roles=BUILDERS)
@updates
@bp.response(200, schemas.Assessment)
def restore_assessment(viewer: StaffViewer, assessment_id: int) -> ResponseReturnValue:
    """Restore an archived assessment"""
    return _archive(viewer, assessment_id, False)
