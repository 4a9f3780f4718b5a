"""Recruiter pages: the assessments list, the builder (role templates, the catalogue), editing,
duplicating and archiving, a challenge's preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from heldout.platform.errors import InvalidInput
from heldout.platform.services import (
    assessments,
    assistant,
    catalogue,
    roles,
)
from heldout.platform.views.auth import (
    record_action,
    role_required,
    staff_user,
    staff_viewer,
)
from heldout.platform.views.common import (
    parse_int,
)
from heldout.platform.views.staff.common import (
    RECRUITERS,
    STAFF,
    bp,
    parse_expiry,
    smtp_settings,
)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Staff start at the assessments list."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.assessment_list"))
    return redirect(url_for("auth.login"))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness for load balancers and compose: the database answers."""
    from sqlalchemy import text

    from heldout.platform.extensions import db

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/assessments")
@role_required(*STAFF)
def assessment_list() -> ResponseReturnValue:
    """Assessments with invited / started / finished counts; archived ones on request."""
    archived = request.args.get("archived") == "1"
    listing = assessments.list_assessments(viewer=staff_viewer(), include_archived=archived,
                                           page=parse_int(request.args.get("page"), 1) or 1)
    return render_template("staff/assessments.html", listing=listing,
                           summaries=listing.summaries, archived=archived,
                           smtp=smtp_settings() is not None)


def _builder_form(form: Mapping[str, Any]) -> assessments.AssessmentForm:
    getlist = getattr(form, "getlist", None)
    chosen = tuple(getlist("challenges")) if getlist is not None else ()
    return assessments.AssessmentForm(
        name=str(form.get("name", "")), challenge_slugs=chosen,
        time_limit_minutes=parse_int(form.get("time_limit_minutes"), 0) or 0,
        instructions=str(form.get("instructions", "")),
        expires_at=parse_expiry(str(form.get("expires_at", "")).strip()),
        show_scores=form.get("show_scores") == "on",
        counting=str(form.get("counting") or "last"),
        ai_policy=str(form.get("ai_policy") or "not_allowed"),
        assistant_available=_assistant_settings() is not None,
        followups=form.get("followups") == "on",
        feedback_to_candidates=form.get("feedback_to_candidates") == "on")


def _assistant_settings() -> assistant.AssistantSettings | None:
    return assistant.AssistantSettings.from_config(current_app.config)


def _catalogue_filter() -> assessments.CatalogueFilter:
    args = request.args
    return assessments.CatalogueFilter(kind=args.get("kind", "")[:40],
                                       skill=args.get("skill", "")[:80],
                                       difficulty=args.get("difficulty", "")[:40])


def _builder(*, form: Mapping[str, Any], chosen: list[str], error: InvalidInput | None,
             editing: Any = None, role: roles.Role | None = None,
             picks: list[roles.Pick] | None = None) -> str:
    challenges = catalogue.available_challenges()
    view = assessments.filter_catalogue(challenges, _catalogue_filter())
    shown = {c.slug for c in view.challenges}
    by_slug = {c.slug: c for c in challenges}
    summed = sum(by_slug[s].expected_minutes for s in chosen if s in by_slug)
    return render_template(
        "staff/assessment_new.html", challenges=challenges, view=view, shown=shown,
        wanted=_catalogue_filter(), form=form, chosen=chosen, error=error, editing=editing,
        summed=summed, roles=roles.ROLES, role=role, picks=picks or [],
        missing_kinds=roles.missing_kinds(role, picks or []) if role else (),
        ai_labels=assistant.LABELS, assistant_settings=_assistant_settings(),
        started=editing is not None and assessments.has_started_attempts(editing.id))


@bp.route("/assessments/new", methods=["GET", "POST"])
@role_required(*RECRUITERS)
def assessment_new() -> ResponseReturnValue:
    """The builder: start from a role template or pick from the catalogue."""
    if request.method == "GET":
        role_key = request.args.get("role", "")
        if role_key:
            role = roles.get_role(role_key)
            picks = roles.pick_challenges(role, catalogue.available_challenges())
            form = {"name": f"{role.title} assessment",
                    "time_limit_minutes": str(roles.suggested_minutes(picks)),
                    "instructions": ""}
            return _builder(form=form, chosen=[p.challenge.slug for p in picks], error=None,
                            role=role, picks=picks)
        return _builder(form={}, chosen=[], error=None)
    form = request.form
    try:
        values = _builder_form(form)
        created = assessments.create_assessment(
            name=values.name, challenge_slugs=values.challenge_slugs,
            time_limit_minutes=values.time_limit_minutes, instructions=values.instructions,
            expires_at=values.expires_at, show_scores=values.show_scores,
            created_by_id=staff_user().id, counting=values.counting,
            ai_policy=values.ai_policy, assistant_available=values.assistant_available,
            followups=values.followups,
            feedback_to_candidates=values.feedback_to_candidates)
    except InvalidInput as exc:
        return _builder(form=form, chosen=form.getlist("challenges"), error=exc), 400
    flash(f"Assessment “{created.name}” created. Invite candidates below.", "success")
    return redirect(url_for("staff.assessment_detail", assessment_id=created.id))


@bp.route("/assessments/<int:assessment_id>/edit", methods=["GET", "POST"])
@role_required(*RECRUITERS)
def assessment_edit(assessment_id: int) -> ResponseReturnValue:
    """The builder on an existing assessment."""
    assessment = assessments.get_assessment(assessment_id)
    if request.method == "GET":
        form = {"name": assessment.name, "instructions": assessment.instructions,
                "time_limit_minutes": str(assessment.time_limit_minutes),
                "expires_at": f"{assessment.expires_at:%Y-%m-%d}"
                if assessment.expires_at else "",
                "show_scores": "on" if assessment.show_scores else "",
                "counting": assessment.counting, "ai_policy": assessment.ai_policy,
                "followups": "on" if assessment.followups else "",
                "feedback_to_candidates": "on" if assessment.feedback_to_candidates else ""}
        return _builder(form=form, chosen=[c.slug for c in assessment.challenges], error=None,
                        editing=assessment)
    form = request.form
    try:
        assessments.update_assessment(assessment_id, _builder_form(form))
    except InvalidInput as exc:
        return _builder(form=form, chosen=form.getlist("challenges"), error=exc,
                        editing=assessment), 400
    flash("Changes saved.", "success")
    return redirect(url_for("staff.assessment_detail", assessment_id=assessment_id), code=303)


@bp.post("/assessments/<int:assessment_id>/duplicate")
@role_required(*RECRUITERS)
def assessment_duplicate(assessment_id: int) -> ResponseReturnValue:
    """A copy of the assessment, opened in the builder."""
    copy = assessments.duplicate_assessment(assessment_id, created_by_id=staff_user().id)
    flash(f"Duplicated as “{copy.name}”: rename it and adjust what you need.", "success")
    return redirect(url_for("staff.assessment_edit", assessment_id=copy.id), code=303)


@bp.post("/assessments/<int:assessment_id>/archive")
@role_required(*RECRUITERS)
def assessment_archive(assessment_id: int) -> ResponseReturnValue:
    """Archive (or, with archived=0, restore) an assessment."""
    archived = request.form.get("archived", "1") != "0"
    assessment = assessments.set_archived(assessment_id, archived)
    record_action(staff_user(), "assessment.archive", "assessment", assessment_id, {"on": archived})
    done = "archived: its links no longer open" if archived else "restored"
    flash(f"“{assessment.name}” {done}.", "success")
    return redirect(url_for("staff.assessment_list", archived="1" if archived else None),
                    code=303)


@bp.get("/catalogue/<slug>")
@role_required(*RECRUITERS)
def catalogue_preview(slug: str) -> ResponseReturnValue:
    """A challenge's statement as candidates see it."""
    return render_template("staff/catalogue_preview.html",
                           preview=assessments.statement_preview(slug))


