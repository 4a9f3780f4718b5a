"""Interviewer pages: the candidates of an assessment and a candidate's report."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from heldout.platform.services import reports
from heldout.platform.views.auth import role_required
from heldout.platform.views.common import blob_store, now

bp = Blueprint("review", __name__)

INTERVIEWERS = ("interviewer",)


@bp.get("/assessments/<int:assessment_id>/candidates")
@role_required(*INTERVIEWERS)
def candidates(assessment_id: int) -> ResponseReturnValue:
    """Every candidate of an assessment with per-challenge and total scores."""
    assessment, rows = reports.candidates(assessment_id, now=now())
    return render_template("review/candidates.html", assessment=assessment, rows=rows)


@bp.get("/attempts/<int:attempt_id>/report")
@role_required(*INTERVIEWERS)
def report(attempt_id: int) -> ResponseReturnValue:
    """One candidate's report: scores, checks, metrics, run statistics, code, history."""
    report = reports.candidate_report(attempt_id, blobs=blob_store(), now=now())
    return render_template("review/report.html", report=report)
