"""HTTP concerns in one place: domain errors to status codes, HTML or JSON, headers.

An error is answered as an HTML page, or as ``application/problem+json`` (RFC 9457) under
the API blueprint (``views/api/``), the workers' internal API (``views/internal.py``) and
to any client that prefers JSON: one JSON error shape for the whole site. A problem has
``type``, ``title``, ``status``, ``detail`` and ``instance``, plus ``hint`` (what to do
next, as the pages say it).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request, session
from flask_babel import gettext, ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from heldout.platform import errors
from heldout.platform.extensions import db, limiter, login_manager
from heldout.platform.i18n import N_
from heldout.platform.redaction import mask_logger

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[errors.PlatformError], int], ...] = (
    (errors.UploadTooLarge, 413),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.NotAuthenticated, 401),
    (errors.StaleVersion, 412),
    (errors.InviteInvalid, 404),
    (errors.InviteExpired, 410),
    (errors.InviteRevoked, 410),
    (errors.InviteUsed, 410),
    (errors.SessionMoved, 403),
    (errors.InviteError, 410),
    (errors.AttemptClosed, 409),
    (errors.OnBreak, 409),
    (errors.TooManySubmissions, 429),
    (errors.PublicRunsUsedUp, 429),
    (errors.TooManyStreams, 429),
    (errors.AssistantOff, 403),
    (errors.AssistantBusy, 429),
    (errors.AssistantUsedUp, 429),
    (errors.AssistantFailed, 502),
    (errors.QueueUnavailable, 503),
    (errors.ServerBusy, 503),
    (errors.StorageFull, 507),
    (errors.ConfigError, 500),
    (errors.PlatformError, 400),
)

HSTS = "max-age=31536000; includeSubDomains"

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def status_of(error: errors.PlatformError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


PROBLEM_JSON = "application/problem+json"
# The name of the blueprint every JSON route lives under (views/api/), and the URL prefix
# of the public API to come: an error there is a problem document whatever was asked.
API_BLUEPRINT = "api"
API_PREFIX = "/api/"
INTERNAL_BLUEPRINT = "internal"
JSON_BLUEPRINTS = (API_BLUEPRINT, INTERNAL_BLUEPRINT)
# A problem's type names what went wrong, stable across messages and languages: a path
# on this site (relative, as RFC 9457 allows), e.g. /api/problems/session-moved.
PROBLEM_TYPE_BASE = "/api/problems/"


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and (
        request.accept_mimetypes["application/json"] > request.accept_mimetypes["text/html"])


def _endpoint() -> str:
    """The endpoint this request was routed to; for a method the route doesn't take (405),
    the endpoint the path names with another method."""
    if request.url_rule is not None:
        return str(request.url_rule.endpoint)
    allowed = getattr(request.routing_exception, "valid_methods", None)
    if not allowed:
        return ""
    try:
        endpoint, _ = current_app.url_map.bind_to_environ(request.environ).match(
            method=sorted(allowed)[0])
    except HTTPException:
        return ""
    return str(endpoint)


def is_api_request() -> bool:
    """Whether this request is for a JSON route (views/api/, views/internal.py, ``/api/``)."""
    return (_endpoint().split(".", 1)[0] in JSON_BLUEPRINTS
            or request.path.startswith(API_PREFIX))


def problem_type(code: str) -> str:
    """The type URI of a problem named ``code`` ("SessionMoved", "Not Found")."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", code).replace("_", " ").split()
    return PROBLEM_TYPE_BASE + "-".join(word.lower() for word in words)


def problem(status: int, title: str, detail: str, *, code: str, hint: str = "",
            errors: Mapping[str, Any] | None = None) -> Response:
    """An ``application/problem+json`` answer (RFC 9457) about this request; ``errors``:
    what was wrong with each part of a request that could not be read."""
    body: dict[str, Any] = {"type": problem_type(code), "title": title, "status": status,
                            "detail": detail, "instance": request.path}
    if hint:
        body["hint"] = hint
    if errors:
        body["errors"] = dict(errors)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def error_response(status: int, title: str, message: str, *, hint: str = "",
                   contact: str = "", code: str = "") -> tuple[Any, int]:
    db.session.rollback()
    if is_api_request() or wants_json():
        return problem(status, title, message, code=code or title, hint=hint), status
    return render_template("error.html", status=status, title=title, message=message,
                           hint=hint, contact=contact), status


def _platform_error(error: errors.PlatformError) -> Any:
    contact = getattr(error, "contact", "")
    response, status = error_response(status_of(error), gettext(error.title), error.message,
                                      hint=error.hint, contact=contact,
                                      code=type(error).__name__)
    if isinstance(error, errors.RetryLater) and error.retry_after is not None:
        return response, status, {"Retry-After": str(error.retry_after)}
    return response, status


def _too_large(error: RequestEntityTooLarge) -> tuple[Any, int]:
    limit = current_app.config["HELDOUT_MAX_UPLOAD_MB"]
    return error_response(413, gettext("File too large"),
                          gettext("What you sent is larger than the %(limit)s MiB this site "
                                  "accepts.", limit=limit),
                          hint=gettext("Go back and submit code only (no data or model files); "
                                       "your earlier submissions are kept."),
                          code="UploadTooLarge")


def _csrf_error(error: CSRFError) -> tuple[Any, int]:
    return error_response(400, gettext("This form expired"),
                          gettext("The page belongs to a session that has ended, or was sent "
                                  "from elsewhere, so it was not accepted."),
                          hint=gettext("Go back, reload the page and try again."),
                          code="FormExpired")


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets another one through (at least 1)."""
    import time

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return str(ngettext("%(num)s second", "%(num)s seconds", seconds))
    return str(ngettext("%(num)s minute", "%(num)s minutes", (seconds + 59) // 60))


def _rate_limited(error: RateLimitExceeded) -> Any:
    wait = retry_after_seconds()
    if request.endpoint == "auth.login":
        title, message = ("Too many sign-in attempts",
                          "Too many wrong passwords were tried for this account or from "
                          "this address, so sign-in is paused.")
    else:
        title, message = (gettext("Too many requests"),
                          gettext("This was asked too often in a short time."))
    response, status = error_response(429, title, message,
                                      hint=gettext("Try again in %(wait)s.",
                                                   wait=_in_words(wait)),
                                      code="TooManyRequests")
    return response, status, {"Retry-After": str(wait)}


MESSAGES = {
    401: ("Please sign in", "This page is for signed-in staff.", "Sign in and try again."),
    403: ("Not allowed", "Your account can't open this page.",
          "Ask an administrator if you need access."),
    404: (N_("Not found"), N_("There is nothing at this address."),
          N_("Check the link, or go back to the previous page.")),
    405: ("Not allowed", "This address does not accept that kind of request.", ""),
}


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status < 400:
        return error
    title, message, hint = (gettext(words) if words else words for words in MESSAGES.get(
        status, (error.name, error.description or "", N_("Try again in a moment."))))
    response, code = error_response(status, title, message, hint=hint, code=error.name)
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        return response, code, {"Allow": ", ".join(allowed)}
    return response, code


# Seconds a client is told to wait when the database is away: a restart or fail-over.
DATABASE_RETRY_AFTER = 15


def _database_unavailable(error: Exception) -> Any:
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                str(error).splitlines()[0] if str(error) else type(error).__name__)
    with contextlib.suppress(*errors.DATABASE_UNAVAILABLE):
        db.session.remove()  # the broken connection goes; nothing is left half-done
    # The page must not need the database: nobody is shown as signed in on it (a user
    # loaded before the failure may have expired attributes that would need a query).
    g._login_user = login_manager.anonymous_user()
    response, status = error_response(
        503, gettext("Temporarily unavailable"),
        gettext("The site can't reach its database for a moment, so this request was not "
                "carried out. Work saved or submitted before now is kept."),
        hint=gettext("Wait %(seconds)s seconds and try again. If you were submitting, your "
                     "code was not sent: submit it again once the page answers.",
                     seconds=DATABASE_RETRY_AFTER),
        code="DatabaseUnavailable")
    return response, status, {"Retry-After": str(DATABASE_RETRY_AFTER)}


def _end_session(_error: BaseException | None) -> None:
    # Runs before the extension's own clean-up: a connection the server cut after the
    # answer was made must not turn that answer into an error on its way out.
    try:
        db.session.remove()
    except errors.DATABASE_UNAVAILABLE as exc:
        log.warning("database connection lost at the end of a request: %s",
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        db.session.registry.clear()


def _unexpected(error: Exception) -> tuple[Any, int]:
    original = getattr(error, "original_exception", None) or error
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return error_response(500, gettext("Something went wrong on our side"),
                          gettext("The server failed to answer this request."),
                          hint=gettext("Try again in a moment; if it keeps happening, tell the "
                                       "team running this site."), code="InternalServerError")


def _private(response: Response) -> bool:
    """Whether the answer is for one person: staff signed in, a candidate's attempt, JSON."""
    # The session's keys, not current_user: deciding a header must not query the database.
    return response.is_json or bool(session.get("_user_id") or session.get("attempt")
                                    or session.get("invite"))


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Invite tokens live in URLs: never send them on to another site.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["HELDOUT_SECURE_COOKIES"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static" and _private(response):
        # Shared computers and proxies must not keep a report or a candidate's code.
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    # Failures name the request's path (Flask's own line and ours): never an invite token.
    mask_logger(app.logger)
    mask_logger(log)
    proxies = int(app.config["HELDOUT_TRUSTED_PROXIES"])
    if proxies:
        # The client's address (throttling) and scheme (secure cookies) as the proxy saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.register_error_handler(errors.PlatformError, _platform_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    for database_error in errors.DATABASE_UNAVAILABLE:
        app.register_error_handler(database_error, _database_unavailable)
    # Not Exception: under TESTING, bugs must propagate to the test instead.
    app.register_error_handler(500, _unexpected)
    app.after_request(_security_headers)
    app.teardown_appcontext(_end_session)
