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

Today the staff viewer comes from the browser's session; API tokens plug into
``_staff_from_request`` and nothing else changes: views and services only ever see the
viewer. Errors are problem documents (http.py), as for everything under the API blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from flask import abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from heldout.platform.http import wants_json
from heldout.platform.services import access
from heldout.platform.views.auth import staff_viewer
from heldout.platform.views.candidate import check_bound

P = ParamSpec("P")
V = TypeVar("V", access.StaffViewer, access.CandidateViewer)
View = Callable[Concatenate[V, P], ResponseReturnValue]


def _staff_from_request() -> access.StaffViewer | None:
    """The staff member this request authenticates as: the browser's session today (an
    ``Authorization: Bearer`` API token is read here when tokens exist); None: nobody."""
    return staff_viewer() if current_user.is_authenticated else None


def resolve_viewer(*, staff: tuple[str, ...], candidate: bool,
                   url_args: dict[str, Any]) -> access.Viewer:
    """Who asks, for a route open to ``staff`` roles or to the URL's ``candidate``."""
    if candidate:
        attempt_id = str(url_args["attempt_id"])
        check_bound(attempt_id)
        return access.CandidateViewer(attempt_id)
    viewer = _staff_from_request()
    if viewer is None:
        if wants_json():
            abort(401)
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    if not viewer.has_role(*staff):
        abort(403)
    access.check_ids(viewer, url_args)
    return viewer


def authenticated(*, staff: tuple[str, ...] = (), candidate: bool = False
                  ) -> Callable[[View[V, P]], Callable[P, ResponseReturnValue]]:
    """Every JSON view's door: the view gets the viewer as its first argument."""
    if candidate == bool(staff):
        raise TypeError("authenticated() takes either staff roles or candidate=True")

    def decorator(view: View[V, P]) -> Callable[P, ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            viewer = resolve_viewer(staff=staff, candidate=candidate,
                                    url_args=dict(request.view_args or {}))
            return view(cast(V, viewer), *args, **kwargs)

        return wrapped

    return decorator
