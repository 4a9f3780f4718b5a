"""HTTP concerns in one place: domain errors to status codes, HTML or JSON, headers."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, Response, g, render_template, request, session
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from heldout.platform import errors
from heldout.platform.extensions import db, limiter, login_manager

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[errors.PlatformError], int], ...] = (
    (errors.UploadTooLarge, 413),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.InviteInvalid, 404),
    (errors.InviteExpired, 410),
    (errors.InviteRevoked, 410),
    (errors.InviteUsed, 410),
    (errors.SessionMoved, 403),
    (errors.InviteError, 410),
    (errors.AttemptClosed, 409),
    (errors.TooManySubmissions, 429),
    (errors.QueueUnavailable, 503),
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


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and (
        request.accept_mimetypes["application/json"] > request.accept_mimetypes["text/html"])


def error_response(status: int, title: str, message: str, *, hint: str = "",
                   contact: str = "", code: str = "") -> tuple[Any, int]:
    db.session.rollback()
    if wants_json():
        return {"error": code or title, "title": title, "message": message,
                "hint": hint}, status
    return render_template("error.html", status=status, title=title, message=message,
                           hint=hint, contact=contact), status


def _platform_error(error: errors.PlatformError) -> tuple[Any, int]:
    contact = getattr(error, "contact", "")
    return error_response(status_of(error), error.title, error.message, hint=error.hint,
                          contact=contact, code=type(error).__name__)


def _too_large(error: RequestEntityTooLarge) -> tuple[Any, int]:
    from flask import current_app

    limit = current_app.config["HELDOUT_MAX_UPLOAD_MB"]
    return error_response(413, "File too large",
                          f"What you sent is larger than the {limit} MiB this site accepts.",
                          hint="Go back and submit code only (no data or model files); your "
                               "earlier submissions are kept.", code="UploadTooLarge")


def _csrf_error(error: CSRFError) -> tuple[Any, int]:
    return error_response(400, "This form expired",
                          "The page belongs to a session that has ended, or was sent from "
                          "elsewhere, so it was not accepted.",
                          hint="Go back, reload the page and try again.",
                          code="CSRFError")


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets another one through (at least 1)."""
    import time

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def _rate_limited(error: RateLimitExceeded) -> Any:
    wait = retry_after_seconds()
    if request.endpoint == "auth.login":
        title, message = ("Too many sign-in attempts",
                          "Too many wrong passwords were tried for this account or from "
                          "this address, so sign-in is paused.")
    else:
        title, message = "Too many requests", "This was asked too often in a short time."
    response, status = error_response(429, title, message,
                                      hint=f"Try again in {_in_words(wait)}.",
                                      code="TooManyRequests")
    return response, status, {"Retry-After": str(wait)}


MESSAGES = {
    401: ("Please sign in", "This page is for signed-in staff.", "Sign in and try again."),
    403: ("Not allowed", "Your account can't open this page.",
          "Ask an administrator if you need access."),
    404: ("Not found", "There is nothing at this address.",
          "Check the link, or go back to the previous page."),
    405: ("Not allowed", "This address does not accept that kind of request.", ""),
}


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status < 400:
        return error
    title, message, hint = MESSAGES.get(
        status, (error.name, error.description or "", "Try again in a moment."))
    response, code = error_response(status, title, message, hint=hint)
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
        503, "Temporarily unavailable",
        "The site can't reach its database for a moment, so this request was not "
        "carried out. Work saved or submitted before now is kept.",
        hint=f"Wait {DATABASE_RETRY_AFTER} seconds and try again. If you were submitting, "
             "your code was not sent: submit it again once the page answers.",
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
    return error_response(500, "Something went wrong on our side",
                          "The server failed to answer this request.",
                          hint="Try again in a moment; if it keeps happening, tell the team "
                               "running this site.", code="InternalServerError")


def _private(response: Response) -> bool:
    """Whether the answer is for one person: staff signed in, a candidate's attempt, JSON."""
    # The session's keys, not current_user: deciding a header must not query the database.
    return response.is_json or bool(session.get("_user_id") or session.get("attempt")
                                    or session.get("invite"))


def _security_headers(response: Response) -> Response:
    from flask import current_app

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
