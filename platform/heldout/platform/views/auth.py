"""Sign-in and sign-out for staff, and the role check every staff view uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user

from heldout.platform.models import User
from heldout.platform.services import accounts

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
                from flask import current_app

                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def staff_user() -> User:
    return cast(User, current_user._get_current_object())


def _safe_next(target: str | None) -> str | None:
    # Only paths of this site: "/x" but neither "//host" nor "/\\host".
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Staff sign-in form."""
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        user = accounts.authenticate(email, request.form.get("password", ""))
        if user is not None:
            login_user(user)
            target = _safe_next(request.args.get("next"))
            return redirect(target or url_for("staff.assessment_list"))
        error = "That e-mail and password don't match an account."
    return render_template("auth/login.html", error=error, email=email), 401 if error else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the staff session."""
    logout_user()
    return redirect(url_for("auth.login"))
