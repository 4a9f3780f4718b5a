"""Sign-in and sign-out for staff, the role check every staff view uses, and the team check
every staff URL gets (from the signed-in staff member, as an explicit ``StaffViewer``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.flask_client import OAuth
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
from joserfc.errors import JoseError

from heldout.platform.errors import PlatformError
from heldout.platform.extensions import limiter
from heldout.platform.http import API_BLUEPRINT
from heldout.platform.models import User
from heldout.platform.services import access, accounts, audit, sso
from heldout.platform.views.common import links_base, request_origin

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
    if app.config["HELDOUT_OIDC_ISSUER"]:
        # Registered only: the provider's discovery document is read on the first sign-in,
        # never while the app is made.
        oauth = OAuth(app)
        oauth.register(
            SSO_CLIENT,
            client_id=app.config["HELDOUT_OIDC_CLIENT_ID"],
            client_secret=app.config["HELDOUT_OIDC_CLIENT_SECRET"],
            server_metadata_url=(app.config["HELDOUT_OIDC_ISSUER"].rstrip("/")
                                 + "/.well-known/openid-configuration"),
            client_kwargs={"scope": _scopes(app.config["HELDOUT_OIDC_SCOPES"]),
                           "code_challenge_method": "S256", "timeout": 10},
        )


SSO_CLIENT = "sso"


def _scopes(configured: str) -> str:
    scopes = configured.split()
    return " ".join(scopes if "openid" in scopes else ["openid", *scopes])


def _sso_client() -> Any:
    if not current_app.config["HELDOUT_OIDC_ISSUER"]:
        abort(404)
    return current_app.extensions["authlib.integrations.flask_client"].create_client(SSO_CLIENT)


def _sign_in(user: User, how: str) -> ResponseReturnValue:
    # A new session: nothing held before signing in (a form token someone planted,
    # a candidate's binding, a finished sign-on's state) carries over into the signed-in one.
    target = safe_next(session.get(_NEXT_KEY) if how == "sso" else request.args.get("next"))
    session.clear()
    login_user(user)
    audit.record(user, "login.success", "user", user.id, {"by": how} if how == "sso" else None,
                 origin=request_origin())
    return redirect(target or url_for("staff.assessment_list"))


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
    """Staff sign-in form (and the single sign-on button when it is set up)."""
    error = None
    email = ""
    if request.method == "POST":
        if not current_app.config["HELDOUT_PASSWORD_LOGIN"]:
            return _login_page("Sign-in with a password is turned off here: use single "
                               "sign-on.", status=403)
        email = request.form.get("email", "")
        user = accounts.authenticate(email, request.form.get("password", ""))
        if user is not None:
            return _sign_in(user, "password")
        error = "That e-mail and password don't match an account."
        audit.record(None, "login.failure", "user", actor_label=email.strip().lower(),
                     origin=request_origin())
    return _login_page(error, email=email, status=401 if error else 200)


def _login_page(error: str | None, *, email: str = "", status: int = 200) -> ResponseReturnValue:
    config = current_app.config
    return render_template(
        "auth/login.html", error=error, email=email,
        password_login=config["HELDOUT_PASSWORD_LOGIN"],
        sso_name=config["HELDOUT_OIDC_PROVIDER_NAME"] if config["HELDOUT_OIDC_ISSUER"] else None,
        next=safe_next(request.args.get("next")),
    ), status


_NEXT_KEY = "sso_next"


@bp.get("/login/sso")
def sso_start() -> ResponseReturnValue:
    """Off to the OpenID Connect provider (Authorization Code with PKCE, a fresh state and
    nonce kept in this browser's session)."""
    client = _sso_client()
    session[_NEXT_KEY] = safe_next(request.args.get("next"))
    try:
        return cast(ResponseReturnValue, client.authorize_redirect(
            links_base() + url_for("auth.sso_callback")))
    except OSError:
        return _login_page(f"{current_app.config['HELDOUT_OIDC_PROVIDER_NAME']} can't be "
                           "reached just now; try again in a moment.", status=502)


@bp.get("/login/sso/callback")
def sso_callback() -> ResponseReturnValue:
    """Back from the provider: the code is exchanged (with the PKCE verifier), the ID token
    checked (signature, issuer, audience, expiry, nonce), then the account signs in."""
    client = _sso_client()
    label = current_app.config["HELDOUT_OIDC_PROVIDER_NAME"]
    names = sso.ClaimNames(role=current_app.config["HELDOUT_OIDC_ROLE_CLAIM"],
                           teams=current_app.config["HELDOUT_OIDC_TEAMS_CLAIM"])
    try:
        token = client.authorize_access_token(claims_options=_id_token_checks(client))
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise ValueError("no ID token")
        # Many providers put only the subject in the ID token: the rest is at user info.
        if any(name and name not in claims for name in ("email", names.role, names.teams)):
            extra = dict(client.userinfo(token=token))
            if extra.get("sub") != claims.get("sub"):
                raise ValueError("the user info is about someone else")
            claims = {**extra, **claims}
    except (AuthlibBaseError, JoseError, ValueError, OSError) as exc:
        audit.record(None, "login.failure", "user", None, {"by": "sso", "reason": str(exc)[:200]},
                     actor_label="single sign-on", origin=request_origin())
        session.pop(_NEXT_KEY, None)
        return _login_page(f"Signing in with {label} did not work ({_reason(exc)}). "
                           "Please start again.", status=403)
    try:
        outcome = sso.sign_in(claims, issuer=current_app.config["HELDOUT_OIDC_ISSUER"],
                              names=names, origin=request_origin())
    except PlatformError as exc:
        return _login_page(f"{exc.message}. {exc.hint}".strip(), status=403)
    if outcome.waiting:
        return _login_page(f"Welcome, {outcome.user.name}: your account is made and waits for "
                           "an admin to give it a role. Sign in again once they have.",
                           status=403)
    return _sign_in(outcome.user, "sso")


def _id_token_checks(client: Any) -> dict[str, Any]:
    """What the ID token's issuer and audience must be. Authlib checks the audience only
    through ``azp``, so a token for another application that names heldout as its
    authorized party would pass: the audience must contain our client id."""
    issuer = current_app.config["HELDOUT_OIDC_ISSUER"]
    if client.load_server_metadata().get("issuer") != issuer:
        raise ValueError("the provider's discovery document names another issuer")
    return {"iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [current_app.config["HELDOUT_OIDC_CLIENT_ID"]]}}


def _reason(exc: Exception) -> str:
    if isinstance(exc, MismatchingStateError):
        return "this sign-in was started elsewhere or already used"
    if isinstance(exc, OSError):
        return "the provider can't be reached"
    return "the provider's answer was refused"


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the staff session, and every copy of its cookie with it."""
    if current_user.is_authenticated:
        accounts.end_sessions(staff_user().id)
    logout_user()
    return redirect(url_for("auth.login"))
