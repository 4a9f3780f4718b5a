"""The home of JSON: every JSON route of the site, under one blueprint (``api``).

- One way in: ``auth.authenticated`` decides who asks before a view runs (the browser's
  session today; API tokens plug into the same place) and hands the view an explicit
  viewer, a staff member with role and teams or a candidate's attempt. Views pass what
  services need as arguments; no service reads the request or the signed-in user.
- One error shape: every error under this blueprint, routing's 404 and 405 included, is
  ``application/problem+json`` (RFC 9457), whatever the client accepts (``http.py``).
- The routes keep the addresses the pages' scripts call: the workspace's live status and
  drafts under ``/a/<attempt>/…`` (``candidate``), the candidates export under
  ``/assessments/<id>/…`` (``staff``). The versioned public API is another child
  blueprint, under ``/api/v1`` (``v1``), called with API tokens.

The workers' internal files API (views/internal.py) stays apart: it is a host-to-host
contract authenticated by the shared ``HELDOUT_INTERNAL_TOKEN`` alone, never by a person,
so it has no viewer and no team or role rules, and it must not be exposed where this API is.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from heldout.platform.http import API_BLUEPRINT
from heldout.platform.views.api import assistant, candidate, staff, streams, v1

bp = Blueprint(API_BLUEPRINT, __name__)
bp.register_blueprint(candidate.bp)
bp.register_blueprint(assistant.bp)
bp.register_blueprint(staff.bp)
bp.register_blueprint(v1.bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    streams.init_app(app)
    assistant.init_app(app)
    v1.init_app(app)
