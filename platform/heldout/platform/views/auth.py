"""Sign-in and sign-out for staff, the role check every staff view uses, and the team check
every staff URL gets (from the signed-in staff member, as an explicit ``StaffViewer``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user

from heldout.platform.extensions import limiter
from heldout.platform.http import API_BLUEPRINT
from heldout.platform.models import User
from heldout.platform.services import access, accounts, audit
from heldout.platform.views.common import request_origin

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to see that page."
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.user_loader(accounts.user_by_session_token)


def role_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in staff with one of ``roles`` (admin always) may call the view."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not access.has_role(current_user.role, *roles):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def staff_user() -> User:
    return cast(User, current_user._get_current_object())


def staff_viewer() -> access.StaffViewer:
    """The signed-in staff member of this request with their teams (made once a request).
    For views behind a sign-in check: anyone else is refused (401)."""
    if not current_user.is_authenticated:
        abort(401)
    viewer = g.get("staff_viewer")
    if viewer is None:
        viewer = g.staff_viewer = access.StaffViewer.of(staff_user())
    return cast(access.StaffViewer, viewer)


def record_action(actor: User, action: str, target_type: str, target_id: int | str,
                  detail: dict[str, Any] | None = None) -> None:
    """The audit event of what ``actor`` just did by this request, with its origin."""
    audit.record(actor, action, target_type, target_id, detail, origin=request_origin())


# Admin pages are for admins alone, who see every team's work anyway; a candidate's pages
# belong to the browser that started the attempt, whoever else is signed in; the JSON
# routes check their viewer themselves (views/api/auth.py), however it was authenticated.
UNGUARDED_BLUEPRINTS = ("admin", "candidate", API_BLUEPRINT)


def _check_url_ids() -> None:
    outermost = request.blueprints[-1] if request.blueprints else None
    if not request.view_args or outermost in UNGUARDED_BLUEPRINTS:
        return
    if current_user.is_authenticated:
        access.check_ids(staff_viewer(), request.view_args)


def init_app(app: Flask) -> None:
    """Check every staff URL's ids against the signed-in staff member's teams, so a page
    added later is scoped without remembering to ask."""
    app.before_request(_check_url_ids)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path of this site, else None (go to the default page).

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so "/",
    a tab, "/evil.example" or "/\\evil.example" would lead off the site: control characters
    are removed first (a newline would also break the header), and the rest must parse as
    a bare path.
    """
    if not target:
        return None
    cleaned = "".join(ch for ch in target if unicodedata.category(ch) != "Cc")
    if "\\" in cleaned or not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return None
    return cleaned


def _login_account() -> str:
    # Counted per address too: failures from elsewhere must not lock the owner out.
    return f"{get_remote_address()} {request.form.get('email', '').strip().lower()}"


def _login_limit(setting: str) -> Callable[[], str]:
    return lambda: str(current_app.config[setting])


def _failed(response: Response) -> bool:
    # Only wrong passwords count: a colleague signing in many times is not an attack.
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit("HELDOUT_LOGIN_LIMIT_ACCOUNT"), key_func=_login_account,
               methods=["POST"], deduct_when=_failed, scope="login-account")
@limiter.limit(_login_limit("HELDOUT_LOGIN_LIMIT_ADDRESS"), methods=["POST"],
               deduct_when=_failed, scope="login-address")
def login() -> ResponseReturnValue:
    """Staff sign-in form."""
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        user = accounts.authenticate(email, request.form.get("password", ""))
        if user is not None:
            # A new session: nothing held before signing in (a form token someone planted,
            # a candidate's binding) carries over into the signed-in one.
            session.clear()
            login_user(user)
            audit.record(user, "login.success", "user", user.id, origin=request_origin())
            target = safe_next(request.args.get("next"))
            return redirect(target or url_for("staff.assessment_list"))
        error = "That e-mail and password don't match an account."
        audit.record(None, "login.failure", "user", actor_label=email.strip().lower(),
                     origin=request_origin())
    return render_template("auth/login.html", error=error, email=email), 401 if error else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the staff session, and every copy of its cookie with it."""
    if current_user.is_authenticated:
        accounts.end_sessions(staff_user().id)
    logout_user()
    return redirect(url_for("auth.login"))
