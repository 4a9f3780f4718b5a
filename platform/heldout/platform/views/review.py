"""Interviewer pages: candidates table, compare, CSV export, reports, submissions, reviews,
similarity across candidates.

Recruiters see the same pages read-only (no review form); interviewers review. The JSON
export lives with the other JSON routes in views/api/.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from heldout.platform.errors import InvalidInput, PlatformError
from heldout.platform.models import User
from heldout.platform.services import assistant, exports, integrity_signals, reports, reviews, similarity
from heldout.platform.services import candidates as table
from heldout.platform.services import comparison as comparison_service
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.assessments import get_assessment
from heldout.platform.views.auth import record_action, role_required, staff_user, staff_viewer
from heldout.platform.views.common import blob_store, now, parse_int, request_origin

bp = Blueprint("review", __name__)

READERS = ("interviewer", "recruiter")
REVIEWERS = ("interviewer",)


@bp.app_template_global()
def check_explanation(check: dict[str, object]) -> str:
    """What a check type means, from the check registry (empty when unregistered)."""
    return reports.check_explanation(str(check.get("name", "")), str(check.get("kind", "")))


def table_query(args: MultiDict[str, str]) -> table.TableQuery:
    """The candidates table's filter and sort, from a URL's query (page and exports)."""
    min_total: float | None
    try:
        min_total = float(args["min"]) if args.get("min", "").strip() else None
    except ValueError:
        min_total = None
    return table.TableQuery(
        sort=args.get("sort", "invited"), descending=args.get("dir", "desc") != "asc",
        search=args.get("q", "")[:200], state=args.get("state", ""),
        review=args.get("review", "") if args.get("review", "") in table.REVIEW_FILTERS
        else "", min_total=min_total, page=parse_int(args.get("page"), 1) or 1,
        signals=args.get("signals", "") if args.get("signals", "") in table.SIGNAL_FILTERS
        else "")


def signal_context(viewer: StaffViewer) -> integrity_signals.SignalContext:
    """Whose eyes the integrity signals are for, with the instance's thresholds."""
    return integrity_signals.SignalContext(
        viewer, int(current_app.config["HELDOUT_PASTE_SIGNAL_CHARS"]))


@bp.get("/assessments/<int:assessment_id>/candidates")
@role_required(*READERS)
def candidates(assessment_id: int) -> ResponseReturnValue:
    """Every candidate of an assessment: scores, percentile, time used, review status."""
    found = table.candidates_table(assessment_id, table_query(request.args), now=now(),
                                   viewer=staff_viewer(),
                                   signals=signal_context(staff_viewer()))
    return render_template("review/candidates.html", table=found, assessment=found.assessment,
                           rows=found.page_rows)


def export_download(actor: User, assessment_id: int, fmt: str, body: Iterator[str],
                    mimetype: str) -> Response:
    """The candidates table as a file to keep, recorded in the audit log, streamed as its
    rows are read (``body`` is lazy: it runs after the view returns, in its context)."""
    record_action(actor, "export.candidates", "assessment", assessment_id, {"format": fmt})
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = \
        f'attachment; filename="assessment-{assessment_id}-candidates.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/assessments/<int:assessment_id>/candidates.csv")
@role_required(*READERS)
def export(assessment_id: int) -> ResponseReturnValue:
    """The candidates table (as filtered and sorted) as CSV."""
    get_assessment(assessment_id)  # a missing one is a 404, before any byte is sent
    viewer = staff_viewer()
    body = exports.streamed(exports.csv_chunks, assessment_id, table_query(request.args),
                            now=now(), viewer_id=viewer.user.id,
                            paste_chars=signal_context(viewer).paste_chars)
    return export_download(viewer.user, assessment_id, "csv", body, "text/csv")


@bp.get("/assessments/<int:assessment_id>/compare")
@role_required(*READERS)
def compare(assessment_id: int) -> ResponseReturnValue:
    """Selected candidates side by side: a column each, challenges and checks as rows."""
    ids = [i for i in (parse_int(v) for v in request.args.getlist("attempt")) if i is not None]
    comparison = comparison_service.compare(assessment_id, ids, now=now(), viewer=staff_viewer())
    return render_template("review/compare.html", comparison=comparison,
                           max_compared=comparison_service.MAX_COMPARED)


def _render_report(attempt_id: int, error: InvalidInput | None = None,
                   form: reviews.ReviewInput | None = None,
                   signal_error: PlatformError | None = None,
                   signal_form: tuple[str, str] | None = None) -> ResponseReturnValue:
    viewer = staff_viewer()
    report = reports.candidate_report(attempt_id, blobs=blob_store(), now=now(), viewer=viewer)
    reviewer = reviews.writes_reviews(viewer)
    panel = reviews.review_panel(attempt_id, viewer)
    similar = similarity.report_lines(report.attempt, viewer)
    signals = integrity_signals.signal_panel(report.attempt, signal_context(viewer))
    config = current_app.config
    ai = assistant.transcript(report.attempt, assistant.AssistantSettings.from_config(config),
                              budget=config["HELDOUT_AI_TOKEN_BUDGET"])
    page = render_template("review/report.html", report=report, panel=panel, reviewer=reviewer,
                           similar=similar, signals=signals, signal_error=signal_error,
                           signal_form=signal_form, max_note=integrity_signals.MAX_NOTE,
                           ai=ai, ai_labels=assistant.LABELS,
                           recommendations=reviews.RECOMMENDATIONS,
                           labels=reviews.RECOMMENDATION_LABELS, error=error, form=form,
                           levels=reviews.LEVELS)
    return (page, 400) if error is not None or signal_error is not None else page


@bp.get("/attempts/<int:attempt_id>/report")
@role_required(*READERS)
def report(attempt_id: int) -> ResponseReturnValue:
    """One candidate's report: scores, percentile, skills, checks, charts, code, reviews."""
    return _render_report(attempt_id)


@bp.post("/attempts/<int:attempt_id>/review")
@role_required(*REVIEWERS)
def save_review(attempt_id: int) -> ResponseReturnValue:
    """Save a draft of, or submit (once: it is final), the signed-in interviewer's review."""
    rubric = reviews.rubric_for_attempt(attempt_id)
    data = reviews.ReviewInput(
        levels={c.key: request.form.get(f"level-{c.key}", "") for c in rubric},
        notes=request.form.get("notes", ""),
        recommendation=request.form.get("recommendation", ""),
        submit=request.form.get("action", "submit") == "submit")
    try:
        reviews.save_review(attempt_id, staff_user(), data, now=now())
    except InvalidInput as exc:
        return _render_report(attempt_id, exc, data)
    flash("Review submitted." if data.submit else "Review saved as a draft.", "success")
    record_action(staff_user(), f"review.{'submit' if data.submit else 'save'}", "attempt", attempt_id)
    return redirect(url_for("review.report", attempt_id=attempt_id, _anchor="review"))


@bp.post("/attempts/<int:attempt_id>/signals")
@role_required(*REVIEWERS)
def review_signal(attempt_id: int) -> ResponseReturnValue:
    """Mark one integrity signal of the candidate reviewed, with a note (audited)."""
    key, note = request.form.get("signal", ""), request.form.get("note", "")
    try:
        integrity_signals.mark_reviewed(attempt_id, key, note, actor=staff_user(),
                                        context=signal_context(staff_viewer()),
                                        origin=request_origin(), now=now())
    except InvalidInput as exc:
        return _render_report(attempt_id, signal_error=exc, signal_form=(key, note))
    flash("Signal marked reviewed.", "success")
    return redirect(url_for("review.report", attempt_id=attempt_id, _anchor="integrity"))


@bp.get("/attempts/<int:attempt_id>/submissions/<int:submission_id>")
@role_required(*READERS)
def submission(attempt_id: int, submission_id: int) -> ResponseReturnValue:
    """Any submission of a candidate, counted or not: its status, checks and code."""
    view = reports.submission_page(attempt_id, submission_id, blobs=blob_store())
    return render_template("review/submission.html", view=view)


@bp.get("/assessments/<int:assessment_id>/similarity")
@role_required(*READERS)
def similarity_pairs(assessment_id: int) -> ResponseReturnValue:
    """Pairs of candidates whose code is alike, per challenge version, most similar first."""
    page = similarity.assessment_pairs(assessment_id, staff_viewer())
    return render_template("review/similarity.html", page=page,
                           threshold=similarity.THRESHOLD, keep_from=similarity.KEEP_FROM,
                           max_shown=similarity.MAX_PAIRS_SHOWN)


@bp.get("/similarity/<int:pair_id>")
@role_required(*READERS)
def similarity_pair(pair_id: int) -> ResponseReturnValue:
    """Two candidates' matching code fragments side by side."""
    view = similarity.pair_view(pair_id, staff_viewer(), blob_store())
    return render_template("review/similarity_pair.html", view=view)
