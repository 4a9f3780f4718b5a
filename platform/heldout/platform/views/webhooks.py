"""Admin pages for webhooks: a team's endpoints, their secrets, the delivery log."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.errors import InvalidInput
from heldout.platform.services import shown_once, users_admin, webhook_sending, webhooks
from heldout.platform.services.ats import callbacks as ats_callbacks
from heldout.platform.views.auth import role_required, staff_user
from heldout.platform.views.common import now, parse_int, request_origin

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

# A secret just made for an endpoint, kept server-side for the one page that shows it.
NEW_SECRET_KEY = "webhook_new_secret"  # noqa: S105 (a session key, not a secret)


def _form_input() -> webhooks.EndpointInput:
    form = request.form
    return webhooks.EndpointInput(team_id=parse_int(form.get("team")), url=form.get("url", ""),
                                  events=form.getlist("events"),
                                  description=form.get("description", ""))


def _keep_secret(created: webhooks.NewEndpoint) -> ResponseReturnValue:
    session[NEW_SECRET_KEY] = {"endpoint_id": created.endpoint.id,
                               "secret": shown_once.keep(created.secret, now=now())}
    return redirect(url_for("webhooks.endpoint", endpoint_id=created.endpoint.id), code=303)


def _take_secret(endpoint_id: int) -> str | None:
    kept = session.get(NEW_SECRET_KEY)
    if not isinstance(kept, dict) or kept.get("endpoint_id") != endpoint_id:
        return None
    session.pop(NEW_SECRET_KEY)
    return shown_once.take(kept.get("secret"), now=now())


def _list_page(*, error: InvalidInput | None = None) -> ResponseReturnValue:
    return render_template("admin/webhooks.html", rows=webhooks.list_endpoints(),
                           callbacks=ats_callbacks.recent(),
                           teams=users_admin.list_teams(), events=webhooks.EVENTS,
                           form=request.form if error else {},
                           chosen=set(request.form.getlist("events")) if error else set(),
                           error=error), 400 if error else 200


@bp.get("/")
@role_required()
def endpoints() -> ResponseReturnValue:
    """Every team's endpoints, how their deliveries went; register a new one."""
    return _list_page()


@bp.post("/")
@role_required()
def endpoint_create() -> ResponseReturnValue:
    try:
        created = webhooks.create_endpoint(_form_input(), actor=staff_user(),
                                           origin=request_origin())
    except InvalidInput as exc:
        return _list_page(error=exc)
    return _keep_secret(created)


def _endpoint_page(endpoint_id: int, *, error: InvalidInput | None = None,
                   status: int = 200) -> ResponseReturnValue:
    endpoint = webhooks.get_endpoint(endpoint_id)
    chosen_status = request.args.get("status", "")
    log = webhooks.deliveries(endpoint_id, status=chosen_status,
                              page=parse_int(request.args.get("page"), 1) or 1)
    return render_template("admin/webhook.html", endpoint=endpoint, log=log,
                           statuses=webhooks.STATUSES, chosen_status=chosen_status,
                           teams=users_admin.list_teams(), events=webhooks.EVENTS,
                           new_secret=_take_secret(endpoint_id), error=error,
                           max_tries=webhook_sending.MAX_TRIES,
                           form=request.form if error else {}), status


# One rule for both methods: werkzeug matches a path's methods before its converters, so
# with a rule per method an id past the database's range would answer 405, not 404.
@bp.route("/<int:endpoint_id>", methods=["GET", "POST"])
@role_required()
def endpoint(endpoint_id: int) -> ResponseReturnValue:
    """One endpoint: its settings, its secret (once), its delivery log with redelivery;
    POST changes its settings."""
    if request.method != "POST":
        return _endpoint_page(endpoint_id)
    try:
        webhooks.update_endpoint(endpoint_id, _form_input(), actor=staff_user(),
                                 origin=request_origin())
    except InvalidInput as exc:
        return _endpoint_page(endpoint_id, error=exc, status=400)
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/active")
@role_required()
def endpoint_active(endpoint_id: int) -> ResponseReturnValue:
    webhooks.set_active(endpoint_id, request.form.get("active") == "1", actor=staff_user(),
                        origin=request_origin(), now=now())
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/secret")
@role_required()
def endpoint_secret(endpoint_id: int) -> ResponseReturnValue:
    """A new signing secret, shown once; the old one signs nothing from now on."""
    return _keep_secret(webhooks.roll_secret(endpoint_id, actor=staff_user(),
                                             origin=request_origin()))


@bp.post("/<int:endpoint_id>/test")
@role_required()
def endpoint_test(endpoint_id: int) -> ResponseReturnValue:
    webhooks.send_test(endpoint_id, actor=staff_user(), origin=request_origin(), now=now())
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/delete")
@role_required()
def endpoint_delete(endpoint_id: int) -> ResponseReturnValue:
    webhooks.delete_endpoint(endpoint_id, actor=staff_user(), origin=request_origin())
    return redirect(url_for("webhooks.endpoints"), code=303)


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@role_required()
def redeliver(endpoint_id: int, delivery_id: int) -> ResponseReturnValue:
    """Send a logged delivery again, as a new delivery of the same event."""
    try:
        webhooks.redeliver(endpoint_id, delivery_id, actor=staff_user(),
                           origin=request_origin(), now=now())
    except InvalidInput as exc:
        return _endpoint_page(endpoint_id, error=exc, status=400)
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint_id), code=303)
