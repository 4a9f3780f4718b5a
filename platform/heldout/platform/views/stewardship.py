"""Admin pages for a candidate's data: what is held about a person, exported or erased."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Invite
from heldout.platform.services import stewardship
from heldout.platform.views.auth import record_action, role_required, staff_user
from heldout.platform.views.common import blob_store, now, request_origin

bp = Blueprint("stewardship", __name__, url_prefix="/admin/candidates")


def _page(*, found: stewardship.Holdings | None = None, error: InvalidInput | None = None,
          receipt: stewardship.Receipt | None = None, email: str = "",
          status: int = 200) -> ResponseReturnValue:
    invites = [] if found is None else list(db.session.scalars(
        select(Invite).where(Invite.id.in_(found.rows.get("invite", ()))).order_by(Invite.id)))
    return render_template("admin/candidate_data.html", found=found, invites=invites,
                           error=error, receipt=receipt, email=email, now=now()), status


@bp.get("/")
@role_required()
def candidate_data() -> ResponseReturnValue:
    """Find what heldout holds about a person, by their e-mail address."""
    return _page()


@bp.post("/")
@role_required()
def candidate_find() -> ResponseReturnValue:
    email = request.form.get("email", "")
    try:
        found = stewardship.holdings(email)
    except InvalidInput as exc:
        return _page(error=exc, email=email, status=400)
    return _page(found=found, email=found.email)


@bp.post("/export")
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


@bp.post("/erase")
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
