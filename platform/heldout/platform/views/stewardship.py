"""Admin pages for data stewardship: what is held about a person, exported or erased; how
long each kind of data is kept, and deleting what is past it."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Invite
from heldout.platform.services import retention, stewardship
from heldout.platform.views.auth import record_action, role_required, staff_user
from heldout.platform.views.common import blob_store, now, request_origin

bp = Blueprint("stewardship", __name__, url_prefix="/admin")


def _page(*, found: stewardship.Holdings | None = None, error: InvalidInput | None = None,
          receipt: stewardship.Receipt | None = None, email: str = "",
          status: int = 200) -> ResponseReturnValue:
    invites = [] if found is None else list(db.session.scalars(
        select(Invite).where(Invite.id.in_(found.rows.get("invite", ()))).order_by(Invite.id)))
    return render_template("admin/candidate_data.html", found=found, invites=invites,
                           error=error, receipt=receipt, email=email, now=now()), status


@bp.get("/candidates/")
@role_required()
def candidate_data() -> ResponseReturnValue:
    """Find what heldout holds about a person, by their e-mail address."""
    return _page()


@bp.post("/candidates/")
@role_required()
def candidate_find() -> ResponseReturnValue:
    email = request.form.get("email", "")
    try:
        found = stewardship.holdings(email)
    except InvalidInput as exc:
        return _page(error=exc, email=email, status=400)
    return _page(found=found, email=found.email)


@bp.post("/candidates/export")
@role_required()
def candidate_export() -> ResponseReturnValue:
    """Everything held about the person, as a zip (a subject access request)."""
    email = request.form.get("email", "")
    try:
        found = stewardship.holdings(email)
    except InvalidInput as exc:
        return _page(error=exc, email=email, status=400)
    if found.empty:
        return _page(found=found, email=found.email, status=404)
    data = stewardship.export_zip(found, blob_store(), now=now())
    record_action(staff_user(), "candidate.export", "candidate", found.email_sha256[:16],
                  {"tables": len(found.rows)})
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": "attachment; filename=heldout-candidate-data.zip",
        "Cache-Control": "no-store"})


@bp.post("/candidates/erase")
@role_required()
def candidate_erase() -> ResponseReturnValue:
    """Erase everything about the person; the address must be typed twice."""
    email = request.form.get("email", "")
    if email.strip().lower() != request.form.get("confirm", "").strip().lower():
        try:
            found = stewardship.holdings(email)
        except InvalidInput as exc:
            return _page(error=exc, email=email, status=400)
        return _page(found=found, email=found.email, status=400, error=InvalidInput(
            "Type the e-mail address again to confirm: erasing cannot be undone.",
            field="confirm"))
    try:
        receipt = stewardship.erase(email, actor=staff_user(), blobs=blob_store(),
                                    origin=request_origin(), now=now())
    except InvalidInput as exc:
        return _page(error=exc, email=email, status=400)
    except NotFound as exc:
        return _page(error=InvalidInput(str(exc), field="email"), email=email, status=404)
    return _page(receipt=receipt)


def _retention_page(run: retention.RetentionRun | None = None) -> ResponseReturnValue:
    config = current_app.config
    waiting = retention.apply(config, blobs=blob_store(), now=now(), dry_run=True)
    return render_template("admin/retention.html", classes=retention.CLASSES,
                           periods=retention.periods(config), waiting=waiting, run=run,
                           runs=retention.recent_runs())


@bp.get("/retention")
@role_required()
def retention_page() -> ResponseReturnValue:
    """Each kind of data's retention period, what is past it now, and the job's runs."""
    return _retention_page()


@bp.post("/retention")
@role_required()
def retention_run() -> ResponseReturnValue:
    """Delete what is past its period now, instead of waiting for the daily run."""
    run = retention.apply(current_app.config, blobs=blob_store(), now=now())
    record_action(staff_user(), "retention.start", "retention", "now",
                  {"removed": run.total, "files": run.blobs_removed})
    return _retention_page(run)
