"""Routes an applicant-tracking system calls: Greenhouse's Assessment Partner API.

Authenticated by HTTP Basic with an API token of a staff member as the user name (the
``invite`` scope); the token's owner's role and teams decide what the ATS sees, as on the
pages. Errors are JSON ``{"errors": [...]}``, as Greenhouse expects, with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from heldout.platform.extensions import csrf
from heldout.platform.services import api_tokens, ats, mail
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.ats import greenhouse
from heldout.platform.services.invites import NewInvite, deliver
from heldout.platform.views.common import invite_link, links_base, now, request_origin

bp = Blueprint("ats", __name__, url_prefix="/ats")
csrf.exempt(bp)
SCOPE = "invite"
ROLES = ("recruiter",)
REALM = 'Basic realm="heldout ATS"'


def _errors(status: int, message: str) -> Response:
    response = jsonify({"errors": [message]})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = REALM
    return response


def _viewer() -> StaffViewer:
    auth = request.authorization
    secret = (auth.username or "") if auth is not None and auth.type == "basic" else ""
    if not secret:
        raise NotAuthenticated("Send an API token as the Basic user name (no password).")
    token = api_tokens.authenticate(secret, now=now())
    api_tokens.record_use(token, method=request.method, path=request.path, now=now(),
                          origin=request_origin())
    if not api_tokens.allows(token.scope, SCOPE):
        raise Forbidden(f"This token's scope is {token.scope}; ordering tests needs {SCOPE}.")
    viewer = StaffViewer.of(token.user)
    if not viewer.has_role(*ROLES):
        raise Forbidden(f"An account with the {viewer.role} role can't order assessments.")
    return viewer


def ats_call(view: Callable[[StaffViewer], ResponseReturnValue]
             ) -> Callable[[], ResponseReturnValue]:
    """Authenticate the ATS, call the view, and answer every refusal as ``{"errors"}``."""

    @wraps(view)
    def wrapped() -> ResponseReturnValue:
        try:
            return view(_viewer())
        except NotAuthenticated as exc:
            return _errors(401, exc.message)
        except Forbidden as exc:
            return _errors(403, exc.message)
        except NotFound as exc:
            return _errors(404, exc.message)
        except InvalidInput as exc:
            return _errors(422, exc.message)

    return wrapped


@bp.get("/greenhouse/list_tests")
@ats_call
def greenhouse_list_tests(viewer: StaffViewer) -> ResponseReturnValue:
    """The assessments Greenhouse may order."""
    return jsonify(greenhouse.test_list(ats.tests(viewer)))


@bp.post("/greenhouse/send_test")
@ats_call
def greenhouse_send_test(viewer: StaffViewer) -> ResponseReturnValue:
    """Invite the candidate; the link goes out by e-mail when the server can send it."""
    assessment_id, name, email, callback, profile = greenhouse.parse_order(
        request.get_json(silent=True))
    config = current_app.config
    placed = ats.place(viewer, provider=greenhouse.PROVIDER, assessment_id=assessment_id,
                       name=name, email=email, callback_url=callback, profile_url=profile,
                       secret=config["SECRET_KEY"], ttl_days=int(config["HELDOUT_INVITE_TTL_DAYS"]),
                       now=now())
    smtp = mail.SmtpSettings.from_config(config)
    if smtp is not None and placed.link_token:
        deliver([NewInvite(placed.order.invite, placed.link_token)], kind="invite", smtp=smtp,
                link_for=invite_link, org_name=config["HELDOUT_ORG_NAME"])
    return jsonify({"partner_interview_id": placed.order.public_id})


@bp.get("/greenhouse/test_status")
@ats_call
def greenhouse_test_status(viewer: StaffViewer) -> ResponseReturnValue:
    order = ats.get_order(viewer, greenhouse.PROVIDER,
                          request.args.get("partner_interview_id", ""))
    standing = ats.standing(viewer, order, now=now())
    report = "" if standing.attempt_id is None else \
        f"{links_base()}{url_for('review.report', attempt_id=standing.attempt_id)}"
    return jsonify(greenhouse.status(order, standing, report))


@bp.post("/greenhouse/response_error")
@ats_call
def greenhouse_response_error(viewer: StaffViewer) -> ResponseReturnValue:
    """Greenhouse says what it could not take from one of our answers; kept on the order."""
    body: Any = request.get_json(silent=True) or {}
    order_id = str(body.get("partner_interview_id", "")) if isinstance(body, dict) else ""
    order = ats.get_order(viewer, greenhouse.PROVIDER, order_id)
    ats.record_error(order, str(body.get("message") or body)[:4000])
    return jsonify({})
