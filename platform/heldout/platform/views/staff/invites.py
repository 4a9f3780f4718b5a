"""Recruiter pages: one assessment and its invites, one by one or by CSV: resend, extend,
accommodations, revoke; the mail test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from heldout.platform.errors import InvalidInput
from heldout.platform.models import Invite
from heldout.platform.services import (
    assessments,
    assistant,
    bulk_invites,
    clock,
    invites,
    mail,
    shown_once,
)
from heldout.platform.views.auth import (
    record_action,
    role_required,
    safe_next,
    staff_user,
)
from heldout.platform.views.common import (
    invite_link,
    links_base,
    now,
    parse_int,
    request_origin,
)
from heldout.platform.views.staff.common import RECRUITERS, bp, parse_expiry, smtp_settings

# The link of an invite just created or resent, kept server-side for the one page that
# shows it: the session holds the handle (shown_once), never the token.
NEW_INVITE_KEY = "new_invite"


def _address_mismatch() -> str | None:
    """The address this page was reached at, when invite links name another one."""
    here = request.host_url.rstrip("/")
    return here if here.lower() != links_base().lower() else None


def _assessment_page(assessment_id: int, *, form: Mapping[str, str] | None = None,
                     error: InvalidInput | None = None, preview: Any = None) -> str:
    assessment = assessments.get_assessment(assessment_id)
    new_invite, link = _take_new_invite(assessment_id)
    state = request.args.get("status", "")
    if state not in invites.STATES:
        state = ""
    page = invites.list_invites(assessment_id, now=now(), state=state,
                                page=parse_int(request.args.get("page"), 1) or 1)
    return render_template("staff/assessment.html", assessment=assessment, listing=page,
                           invites=page.rows, states=invites.STATES, now=now(),
                           expected_minutes=assessments.expected_minutes(assessment),
                           form=form or {}, error=error, new_invite=new_invite, link=link,
                           preview=preview, smtp=smtp_settings() is not None,
                           links_base=links_base(), reached_at=_address_mismatch(),
                           ai_labels=assistant.LABELS,
                           limits={"bytes": bulk_invites.MAX_CSV_BYTES, "rows": bulk_invites.MAX_CSV_ROWS})


def _take_new_invite(assessment_id: int) -> tuple[Invite | None, str | None]:
    """The invite created just before this page and its link, once: a reload shows neither."""
    kept = session.get(NEW_INVITE_KEY)
    if not isinstance(kept, dict) or kept.get("assessment_id") != assessment_id:
        return None, None
    session.pop(NEW_INVITE_KEY)
    token = shown_once.take(kept.get("secret"), now=now())
    if token is None:
        return None, None
    return invites.get_invite(int(kept["invite_id"])), invite_link(token)


def _hand_over(created: invites.NewInvite, *, kind: str) -> None:
    """E-mail the link when SMTP is set up; otherwise (or when that fails) show it once."""
    smtp = smtp_settings()
    if smtp is not None:
        ((invite, error),) = invites.deliver(
            [created], kind=kind, smtp=smtp, link_for=invite_link,
            org_name=current_app.config["HELDOUT_ORG_NAME"])
        if error is None:
            flash(f"E-mail with the link sent to {invite.candidate_email}.", "success")
            return
        flash(f"The e-mail to {invite.candidate_email} was not sent ({error}); copy the link "
              "below and send it yourself.", "error")
    session[NEW_INVITE_KEY] = {"assessment_id": created.invite.assessment_id,
                               "invite_id": created.invite.id,
                               "secret": shown_once.keep(created.token, now=now())}


@bp.get("/assessments/<int:assessment_id>")
@role_required(*RECRUITERS)
def assessment_detail(assessment_id: int) -> ResponseReturnValue:
    """One assessment: its challenges, its invites, and the forms to invite candidates."""
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
        wanted = _accommodation_form(form)
        created = invites.create_invite(
            assessment_id=assessment_id, candidate_name=form.get("candidate_name", ""),
            candidate_email=form.get("candidate_email", ""), created_by_id=staff_user().id,
            secret=config["SECRET_KEY"], ttl_days=config["HELDOUT_INVITE_TTL_DAYS"], now=now(),
            note=form.get("note", ""), delivery="page")
    except InvalidInput as exc:
        return _assessment_page(assessment_id, form=form, error=exc), 400
    record_action(staff_user(), "invite.create", "invite", created.invite.id)
    clock.set_accommodation(created.invite, wanted, actor=staff_user(),
                            origin=request_origin(), now=now())
    _hand_over(created, kind="invite")
    return redirect(url_for("staff.assessment_detail", assessment_id=assessment_id), code=303)


@bp.post("/assessments/<int:assessment_id>/invites/preview")
@role_required(*RECRUITERS)
def invite_bulk_preview(assessment_id: int) -> ResponseReturnValue:
    """Read an uploaded CSV and show which rows will be invited and which are left out.

    Nothing is stored: the confirm button sends the same list back.
    """
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("Choose a CSV file to upload", field="file")
        data = upload.stream.read(bulk_invites.MAX_CSV_BYTES + 1)
        preview = bulk_invites.preview_bulk(assessment_id, data, now=now())
    except InvalidInput as exc:
        return _assessment_page(assessment_id, error=exc), 400
    return _assessment_page(assessment_id, preview=preview)


@bp.post("/assessments/<int:assessment_id>/invites/bulk")
@role_required(*RECRUITERS)
def invite_bulk_create(assessment_id: int) -> ResponseReturnValue:
    """Invite the previewed list: e-mail the links, or hand them over once as a CSV."""
    config = current_app.config
    smtp = smtp_settings()
    try:
        created, _ = bulk_invites.create_bulk(
            assessment_id=assessment_id, text=request.form.get("rows", ""),
            created_by_id=staff_user().id, secret=config["SECRET_KEY"],
            ttl_days=config["HELDOUT_INVITE_TTL_DAYS"], now=now(),
            delivery="email" if smtp is not None else "download")
    except InvalidInput as exc:
        return _assessment_page(assessment_id, error=exc), 400
    back = redirect(url_for("staff.assessment_detail", assessment_id=assessment_id), code=303)
    record_action(staff_user(), "invite.bulk", "assessment", assessment_id, {"invited": len(created)})
    if not created:
        flash("Nothing new to invite: every candidate of the list is already invited.", "info")
        return back
    if smtp is not None:
        results = invites.deliver(created, kind="invite", smtp=smtp, link_for=invite_link,
                                  org_name=config["HELDOUT_ORG_NAME"])
        failed_ids = {invite.id for invite, error in results if error is not None}
        flash(f"{len(created) - len(failed_ids)} invite e-mail(s) sent.", "success")
        if not failed_ids:
            return back
        why = results[0][1] if len(failed_ids) == len(results) else "see the table"
        # No link is lost: those the server did not take are handed over as a download.
        created = [new for new in created if new.invite.id in failed_ids]
        invites.mark_downloaded([new.invite for new in created])
        flash(f"{len(failed_ids)} e-mail(s) were not sent ({why}); their links are in the "
              "downloaded file instead.", "error")
    body = bulk_invites.links_csv([(new.invite, invite_link(new.token)) for new in created])
    filename = f"invite-links-{assessment_id}-{now():%Y%m%d-%H%M}.csv"
    # Shown on the next page the browser opens (the download itself shows none).
    flash(f"{len(created)} link(s) handed over. They are only in the downloaded file "
          f"{filename}; send each candidate theirs.", "success")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


def _invite_back(invite: Invite) -> ResponseReturnValue:
    return redirect(url_for("staff.assessment_detail", assessment_id=invite.assessment_id,
                            status=request.form.get("status") or None))


@bp.post("/invites/<int:invite_id>/resend")
@role_required(*RECRUITERS)
def invite_resend(invite_id: int) -> ResponseReturnValue:
    """A new link for the candidate; the old one stops working at once."""
    config = current_app.config
    try:
        created = invites.resend_invite(invite_id, secret=config["SECRET_KEY"],
                                        ttl_days=config["HELDOUT_INVITE_TTL_DAYS"], now=now(),
                                        delivery="page")
    except InvalidInput as exc:
        flash(exc.message, "error")
        return _invite_back(invites.get_invite(invite_id))
    _hand_over(created, kind="continue" if created.invite.started_at is not None else "resend")
    record_action(staff_user(), "invite.resend", "invite", invite_id)
    return _invite_back(created.invite)


@bp.post("/invites/<int:invite_id>/extend")
@role_required(*RECRUITERS)
def invite_extend(invite_id: int) -> ResponseReturnValue:
    """Give the candidate until a later date to start (the same link)."""
    invite = invites.get_invite(invite_id)
    try:
        until = parse_expiry(request.form.get("expires_at", "").strip())
        if until is None:
            raise InvalidInput("Choose the new expiry date", field="expires_at")
        invite = invites.extend_invite(invite_id, until=until, now=now())
        record_action(staff_user(), "invite.extend", "invite", invite_id, {"until": str(until.date())})
    except InvalidInput as exc:
        flash(exc.message + (f" {exc.hint}" if exc.hint else ""), "error")
        return _invite_back(invite)
    smtp = smtp_settings()
    message = f"{invite.candidate_name}'s link now expires on {invite.expires_at:%d %b %Y}."
    if smtp is not None:
        ((_, error),) = invites.deliver([invites.NewInvite(invite, "")], kind="extend",
                                        smtp=smtp, link_for=invite_link,
                                        org_name=current_app.config["HELDOUT_ORG_NAME"])
        message += " They were told by e-mail." if error is None else \
            f" The e-mail telling them was not sent ({error})."
    flash(message, "success")
    return _invite_back(invite)


def _accommodation_form(form: Mapping[str, str]) -> clock.AccommodationInput:
    return clock.parse_accommodation(form.get("time_factor", ""), form.get("extra_minutes", ""),
                                     form.get("break_minutes", ""))


@bp.post("/invites/<int:invite_id>/accommodation")
@role_required(*RECRUITERS)
def invite_accommodation(invite_id: int) -> ResponseReturnValue:
    """Set or clear a candidate's extra time and breaks, until they start (audited; never
    shown to interviewers)."""
    invite = invites.get_invite(invite_id)
    try:
        wanted = _accommodation_form(request.form)
        clock.set_accommodation(invite, wanted, actor=staff_user(), origin=request_origin(),
                                now=now())
    except InvalidInput as exc:
        flash(exc.message + (f" {exc.hint}" if exc.hint else ""), "error")
        return _invite_back(invite)
    flash(f"{invite.candidate_name}'s accommodation: {wanted.describe()}.", "success")
    return _invite_back(invite)


@bp.post("/invites/<int:invite_id>/revoke")
@role_required(*RECRUITERS)
def invite_revoke(invite_id: int) -> ResponseReturnValue:
    """Withdraw an invite link."""
    invite = invites.revoke_invite(invite_id, now=now())
    record_action(staff_user(), "invite.revoke", "invite", invite_id)
    flash(f"The link sent to {invite.candidate_name} no longer opens.", "success")
    return _invite_back(invite)


@bp.post("/mail/test")
@role_required(*RECRUITERS)
def mail_test() -> ResponseReturnValue:
    """Send a test e-mail to the signed-in staff member through the configured server."""
    user = staff_user()
    try:
        mail.send_test(smtp_settings(), to_name=user.name, to_email=user.email,
                       org_name=current_app.config["HELDOUT_ORG_NAME"])
    except InvalidInput as exc:
        flash(exc.message + (f" {exc.hint}" if exc.hint else ""), "error")
    else:
        flash(f"Test e-mail sent to {user.email}.", "success")
    return redirect(safe_next(request.form.get("back")) or url_for("staff.assessment_list"),
                    code=303)
