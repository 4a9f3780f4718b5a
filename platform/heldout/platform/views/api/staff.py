"""Staff JSON: the candidates table of an assessment as a JSON file."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from heldout.platform.services import exports
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.assessments import get_assessment
from heldout.platform.views.api.auth import authenticated
from heldout.platform.views.common import now
from heldout.platform.views.review import READERS, export_download, signal_context, table_query

bp = Blueprint("staff", __name__)


@bp.get("/assessments/<int:assessment_id>/candidates.json")
@authenticated(staff=READERS)
def export(viewer: StaffViewer, assessment_id: int) -> ResponseReturnValue:
    """The candidates table (as filtered and sorted on the page) as JSON, to keep."""
    get_assessment(assessment_id)  # a missing one is a 404, before any byte is sent
    body = exports.streamed(exports.json_chunks, assessment_id, table_query(request.args),
                            now=now(), viewer_id=viewer.user.id,
                            paste_chars=signal_context(viewer).paste_chars)
    return export_download(viewer.user, assessment_id, "json", body, "application/json")
