"""Staff JSON: the candidates table of an assessment as a JSON file."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from heldout.platform.services import candidates, exports
from heldout.platform.services.access import StaffViewer
from heldout.platform.views.api.auth import authenticated
from heldout.platform.views.common import now
from heldout.platform.views.review import READERS, export_download, signal_context, table_query

bp = Blueprint("staff", __name__)


@bp.get("/assessments/<int:assessment_id>/candidates.json")
@authenticated(staff=READERS)
def export(viewer: StaffViewer, assessment_id: int) -> ResponseReturnValue:
    """The candidates table (as filtered and sorted on the page) as JSON, to keep."""
    table = candidates.candidates_table(assessment_id, table_query(request.args), now=now(),
                                        viewer=viewer, signals=signal_context(viewer))
    return export_download(viewer.user, assessment_id, "json", exports.to_json(table),
                           "application/json")
