"""One way into the JSON routes: who is asking, decided once and handed to the view.

``authenticated`` resolves the request to an explicit viewer before the view runs:

- ``candidate=True``: the browser bound to the URL's attempt (the same check as the
  candidate's pages, ``views.candidate.check_bound``), as a ``CandidateViewer``; anyone
  else gets 404, as if the attempt did not exist.
- ``staff=(roles…)``: a signed-in staff member with one of the roles (admins always), as a
  ``StaffViewer`` with their teams; the URL's ids are checked against those teams here
  (404 for another team's work). Nobody signed in gets 401 when asking for JSON; a person
  following a link (the export's download button) is sent to sign in and back, as from
  every staff page. A wrong role gets 403.
- ``staff=(roles…), scope="read"|"invite"|"admin"``: the public API (``/api/v1``). Only an
  API token counts here (``Authorization: Bearer hld_…``), never the browser's session, so
  no other site can make a signed-in browser call it. The token acts as its owner, as a
  ``StaffViewer``: the same role and team rules as above, and its scope must reach
  ``scope`` (services/api_tokens.py). No token, or one unknown, expired or revoked: 401
  with ``WWW-Authenticate: Bearer``; too narrow a scope: 403. Every use is recorded.

Views and services only ever see the viewer. Errors are problem documents (http.py), as
for everything under the API blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar, cast

from flask import abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from heldout.platform.errors import Forbidden, NotAuthenticated, PlatformError
from heldout.platform.http import problem, wants_json
from heldout.platform.services import access, api_tokens
from heldout.platform.views.auth import staff_viewer
from heldout.platform.views.candidate import check_bound
from heldout.platform.views.common import now, request_origin

P = ParamSpec("P")
V = TypeVar("V", access.StaffViewer, access.CandidateViewer)
View = Callable[Concatenate[V, P], ResponseReturnValue]


REALM = 'Bearer realm="heldout"'


def _staff_from_request() -> access.StaffViewer | None:
    """The staff member this request's browser session is signed in as; None: nobody."""
    return staff_viewer() if current_user.is_authenticated else None


def bearer_secret() -> str | None:
    """The secret of this request's ``Authorization: Bearer …`` header (None: none sent)."""
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def _refuse(status: int, error: PlatformError, challenge: str, code: str = "") -> NoReturn:
    """Answer ``error`` as a problem with the ``WWW-Authenticate`` challenge of RFC 6750."""
    response = problem(status, error.title, error.message, code=code or type(error).__name__,
                       hint=error.hint)
    response.headers["WWW-Authenticate"] = challenge
    abort(response)


def _token_viewer(scope: str) -> access.StaffViewer:
    """The owner of this request's API token, if the token may be used for ``scope``."""
    secret = bearer_secret()
    if secret is None:
        _refuse(401, NotAuthenticated("This API needs an API token, sent as "
                                      "`Authorization: Bearer hld_…`.", hint=api_tokens.HINT),
                REALM)
    try:
        token = api_tokens.authenticate(secret, now=now())
    except NotAuthenticated as exc:
        _refuse(401, exc, f'{REALM}, error="invalid_token"')
    api_tokens.record_use(token, method=request.method, path=request.path, now=now(),
                          origin=request_origin())
    if not api_tokens.allows(token.scope, scope):
        _refuse(403, Forbidden(f"This token's scope is {token.scope}; this call needs {scope}.",
                               hint=f"Create a token with the {scope} scope for it."),
                f'{REALM}, error="insufficient_scope", scope="{scope}"', "InsufficientScope")
    return access.StaffViewer.of(token.user)


def resolve_viewer(*, staff: tuple[str, ...], candidate: bool, url_args: dict[str, Any],
                   scope: str | None = None) -> access.Viewer:
    """Who asks, for a route open to ``staff`` roles (by API token when ``scope`` is given)
    or to the URL's ``candidate``."""
    if candidate:
        attempt_id = str(url_args["attempt_id"])
        check_bound(attempt_id)
        return access.CandidateViewer(attempt_id)
    viewer = _token_viewer(scope) if scope is not None else _staff_from_request()
    if viewer is None:
        if wants_json():
            abort(401)
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    if not viewer.has_role(*staff):
        if scope is not None:
            raise Forbidden(f"An account with the {viewer.role} role can't do this.",
                            hint="Ask an administrator if you need access.")
        abort(403)
    access.check_ids(viewer, url_args)
    return viewer


def authenticated(*, staff: tuple[str, ...] = (), candidate: bool = False,
                  scope: str | None = None
                  ) -> Callable[[View[V, P]], Callable[P, ResponseReturnValue]]:
    """Every JSON view's door: the view gets the viewer as its first argument."""
    if candidate == bool(staff):
        raise TypeError("authenticated() takes either staff roles or candidate=True")
    if scope is not None and scope not in api_tokens.SCOPE_RANK:
        raise TypeError(f"unknown scope {scope!r}; known: {', '.join(api_tokens.SCOPE_RANK)}")

    def decorator(view: View[V, P]) -> Callable[P, ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            viewer = resolve_viewer(staff=staff, candidate=candidate, scope=scope,
                                    url_args=dict(request.view_args or {}))
            return view(cast(V, viewer), *args, **kwargs)

        return wrapped

    return decorator
