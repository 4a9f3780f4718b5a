"""Recruiter pages: assessments, the builder, invites."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from heldout.platform.errors import InvalidInput
from heldout.platform.models import Invite
from heldout.platform.services import assessments, audit, catalogue, invites
from heldout.platform.views.auth import role_required, staff_user
from heldout.platform.views.common import now, parse_int

bp = Blueprint("staff", __name__)

STAFF = ("recruiter", "interviewer")
RECRUITERS = ("recruiter",)


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
    """Every assessment with invited / started / finished counts."""
    return render_template("staff/assessments.html", summaries=assessments.list_assessments())


def _parse_expiry(value: str) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("The expiry date must look like 2025-12-31",
                           field="expires_at") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@bp.route("/assessments/new", methods=["GET", "POST"])
@role_required(*RECRUITERS)
def assessment_new() -> ResponseReturnValue:
    """The builder: pick challenges from the catalogue, set time and instructions."""
    challenges = catalogue.available_challenges()
    form = request.form
    error: InvalidInput | None = None
    if request.method == "POST":
        try:
            created = assessments.create_assessment(
                name=form.get("name", ""),
                challenge_slugs=form.getlist("challenges"),
                time_limit_minutes=parse_int(form.get("time_limit_minutes"), 0) or 0,
                instructions=form.get("instructions", ""),
                expires_at=_parse_expiry(form.get("expires_at", "").strip()),
                show_scores=form.get("show_scores") == "on",
                created_by_id=staff_user().id)
        except InvalidInput as exc:
            error = exc
        else:
            return redirect(url_for("staff.assessment_detail", assessment_id=created.id))
    return render_template("staff/assessment_new.html", challenges=challenges, form=form,
                           chosen=form.getlist("challenges"), error=error), 400 if error else 200


# The link of an invite just created, kept in the session for the one page that shows it.
NEW_INVITE_KEY = "new_invite"


def _assessment_page(assessment_id: int, *, form: Mapping[str, str] | None = None,
                     error: InvalidInput | None = None) -> str:
    assessment = assessments.get_assessment(assessment_id)
    new_invite, link = _take_new_invite(assessment_id)
    return render_template("staff/assessment.html", assessment=assessment,
                           invites=invites.list_invites(assessment_id), now=now(),
                           expected_minutes=assessments.expected_minutes(assessment),
                           form=form or {}, error=error, new_invite=new_invite, link=link)


def _take_new_invite(assessment_id: int) -> tuple[Invite | None, str | None]:
    """The invite created just before this page and its link, once: a reload shows neither."""
    kept = session.get(NEW_INVITE_KEY)
    if not isinstance(kept, dict) or kept.get("assessment_id") != assessment_id:
        return None, None
    session.pop(NEW_INVITE_KEY)
    invite = invites.get_invite(int(kept["invite_id"]))
    link = f"{current_app.config['HELDOUT_BASE_URL']}" \
           f"{url_for('candidate.landing', token=kept['token'])}"
    return invite, link


@bp.get("/assessments/<int:assessment_id>")
@role_required(*RECRUITERS)
def assessment_detail(assessment_id: int) -> ResponseReturnValue:
    """One assessment: its challenges, its invites, and the form to invite a candidate."""
    return _assessment_page(assessment_id)


@bp.post("/assessments/<int:assessment_id>/invites")
@role_required(*RECRUITERS)
def invite_create(assessment_id: int) -> ResponseReturnValue:
    """Create an invite, then redirect to the page that shows its link (only that once).

    Post/redirect/get: reloading that page shows the assessment again and creates nothing.
    """
    config = current_app.config
    form = request.form
    try:
        created = invites.create_invite(
            assessment_id=assessment_id, candidate_name=form.get("candidate_name", ""),
            candidate_email=form.get("candidate_email", ""), created_by_id=staff_user().id,
            secret=config["SECRET_KEY"], ttl_days=config["HELDOUT_INVITE_TTL_DAYS"], now=now())
    except InvalidInput as exc:
        return _assessment_page(assessment_id, form=form, error=exc), 400
    audit.record_request(staff_user(), "invite.create", "invite", created.invite.id)
    # The signed session cookie carries the token to the next page only; the database
    # keeps its hash alone, as before.
    session[NEW_INVITE_KEY] = {"assessment_id": assessment_id, "invite_id": created.invite.id,
                               "token": created.token}
    return redirect(url_for("staff.assessment_detail", assessment_id=assessment_id), code=303)


@bp.post("/invites/<int:invite_id>/revoke")
@role_required(*RECRUITERS)
def invite_revoke(invite_id: int) -> ResponseReturnValue:
    """Withdraw an invite link."""
    invite = invites.revoke_invite(invite_id, now=now())
    audit.record_request(staff_user(), "invite.revoke", "invite", invite_id)
    return redirect(url_for("staff.assessment_detail", assessment_id=invite.assessment_id))
