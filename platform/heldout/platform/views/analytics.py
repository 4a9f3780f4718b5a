"""Item analytics: a staff page per challenge version, over the viewer's hiring team.

Interviewers and recruiters read it (they read the candidates' scores it sums up); the
team whose candidates it counts is one of the viewer's (``access.team_choice``).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.models import Challenge
from heldout.platform.services import item_analytics, problem_reports
from heldout.platform.views.auth import role_required, staff_viewer
from heldout.platform.views.common import now, parse_int

bp = Blueprint("analytics", __name__)

READERS = ("interviewer", "recruiter")


@bp.app_template_global()
def analytics_url(challenge: Challenge, version: str | None = None) -> str:
    """The analytics page of ``challenge`` at ``version`` (default: the catalogue's)."""
    chosen = version or challenge.version
    return url_for("analytics.item", slug=challenge.slug,
                   version_hex=chosen.removeprefix("sha256:"))


@bp.get("/catalogue/<slug>/versions/<version_hex>/analytics")
@role_required(*READERS)
def item(slug: str, version_hex: str) -> ResponseReturnValue:
    """Attempts, completion, scores, time, checks' pass rates and discrimination of one
    challenge version, over one of the viewer's teams."""
    found = item_analytics.item_analytics(
        slug, version_hex, viewer=staff_viewer(),
        team_id=parse_int(request.args.get("team")), now=now())
    return render_template("staff/item_analytics.html", item=found,
                           small_sample=item_analytics.SMALL_SAMPLE,
                           categories=problem_reports.CATEGORIES)
