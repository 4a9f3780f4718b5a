"""Attempts and where they stand, candidates' reports, and the candidates table as a file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from flask.typing import ResponseReturnValue

from heldout.platform.errors import NotFound
from heldout.platform.services import (
    access,
    assistant,
    attempts,
    candidates,
    exports,
    integrity_signals,
    reports,
    reviews,
)
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.assessments import get_assessment
from heldout.platform.views.api.v1 import schemas
from heldout.platform.views.api.v1.assessments import ID as ASSESSMENT_ID
from heldout.platform.views.api.v1.base import bp, operation
from heldout.platform.views.common import blob_store, links_base, now
from heldout.platform.views.review import READERS, export_download, signal_context

TAGS = ["Attempts and reports"]
ID = "<int:attempt_id>"


def attempt_record(row: candidates.CandidateRow) -> dict[str, Any]:
    attempt = row.attempt
    assert attempt is not None  # rows with an attempt only
    invite = row.invite
    return {"id": attempt.id, "invite_id": invite.id, "assessment_id": invite.assessment_id,
            "candidate_name": invite.candidate_name, "candidate_email": invite.candidate_email,
            "status": row.state, "started_at": attempt.started_at, "deadline": attempt.deadline,
            "finished_at": attempt.finished_at, "finish_reason": attempt.finish_reason,
            "time_used_seconds": round(row.time_used.total_seconds()) if row.time_used else 0,
            "total": row.total, "percentile": row.percentile,
            "no_submission": row.no_submission, "review_status": row.review_status,
            "recommendation": row.review.consensus if row.review is not None else None,
            "challenges": [{"slug": r.challenge.slug, "state": r.state, "score": r.score,
                            "version": r.graded_version} for r in row.results]}


def _attempt_rows(viewer: StaffViewer, assessment_id: int,
                  at: datetime) -> list[candidates.CandidateRow]:
    _, rows = candidates.every_row(assessment_id, candidates.TableQuery(), now=at,
                                   viewer=viewer)
    return [row for row in rows if row.attempt is not None]


def _row(viewer: StaffViewer, attempt_id: int, at: datetime) -> candidates.CandidateRow:
    assessment = access.assessment_of("attempt_id", attempt_id)
    row = None if assessment is None else next(
        (r for r in _attempt_rows(viewer, assessment.id, at)
         if r.attempt is not None and r.attempt.id == attempt_id), None)
    if row is None:
        raise NotFound(f"No attempt {attempt_id}")
    return row


@bp.route(f"/assessments/{ASSESSMENT_ID}/attempts", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=READERS)
@bp.etag
@bp.arguments(schemas.AttemptQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.Attempt(many=True))
@bp.paginate(page_size=50)
def list_attempts(viewer: StaffViewer, assessment_id: int, pagination_parameters: Any,
                  status: str = "", updated_since: datetime | None = None) -> ResponseReturnValue:
    """The attempts of an assessment

    Newest invite first: each candidate's status, scores (as the candidates table counts
    them), percentile, time used and review status. Filter by status, or poll with
    `updated_since` for what changed.
    """
    at = now()
    rows = _attempt_rows(viewer, assessment_id, at)
    if status:
        rows = [row for row in rows if row.state == status]
    if updated_since is not None:
        changed = attempts.changed_since(assessment_id, updated_since)
        rows = [row for row in rows if row.attempt is not None and row.attempt.id in changed]
    wanted = pagination_parameters
    wanted.item_count = len(rows)
    return [attempt_record(row) for row in
            rows[wanted.first_item:wanted.last_item + 1]]


@bp.route(f"/attempts/{ID}", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=READERS)
@bp.etag
@bp.response(200, schemas.Attempt)
def get_attempt(viewer: StaffViewer, attempt_id: int) -> ResponseReturnValue:
    """One attempt and where it stands"""
    return attempt_record(_row(viewer, attempt_id, now()))


def _check(check: dict[str, Any]) -> dict[str, Any]:
    return {"name": str(check.get("name", "")), "kind": str(check.get("kind", "")),
            "passed": check.get("passed"), "score": check.get("score"),
            "max_score": check.get("max_score"), "detail": str(check.get("detail") or "")}


def _section(report: reports.CandidateReport, section: reports.ChallengeSection
             ) -> dict[str, Any]:
    result = section.result
    evaluation = result.evaluation
    activity = report.activity.get(result.challenge.id)
    return {
        "slug": result.challenge.slug, "title": result.challenge.title,
        "kind": result.challenge.kind, "state": result.state, "score": result.score,
        "version": result.graded_version, "percentile": section.percentile,
        "peers": section.peers,
        "counted_submission_id": result.counted.id if result.counted is not None else None,
        "checks": [_check(c) for c in evaluation.checks] if evaluation is not None else [],
        "metrics": dict(evaluation.metrics) if evaluation is not None else {},
        "run": evaluation.run if evaluation is not None else None,
        "submissions": [{"id": s.id, "status": s.status, "created_at": s.created_at,
                         "finished_at": s.finished_at,
                         "score": s.evaluation.score if s.evaluation is not None else None,
                         "version": s.challenge_version} for s in result.history],
        "public_runs": {"count": activity.count if activity else 0,
                        "statuses": list(activity.statuses) if activity else [],
                        "times": list(activity.times) if activity else []},
        "draft_snapshots": len(section.drafts),
    }


def _reviews(viewer: StaffViewer, attempt_id: int) -> dict[str, Any]:
    """The reviews as the report page shows them to ``viewer``: a reviewer sees the others'
    once they have submitted their own."""
    panel = reviews.review_panel(attempt_id, viewer)
    shown = ([panel.mine] if panel.mine is not None else []) + list(panel.others)
    summary = reviews.review_summaries([attempt_id], viewer)[attempt_id]
    return {"submitted": summary.submitted, "consensus": summary.consensus,
            "hidden": panel.others_count - len(panel.others),
            "items": [{"reviewer": r.reviewer.email, "recommendation": r.recommendation,
                       "levels": dict(r.scores), "notes": r.notes,
                       "submitted_at": r.submitted_at} for r in shown]}


@bp.route(f"/attempts/{ID}/report", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=READERS)
@bp.etag
@bp.response(200, schemas.Report)
def get_report(viewer: StaffViewer, attempt_id: int) -> ResponseReturnValue:
    """A candidate's report

    What the report page shows, as data: the total and percentile, then per challenge the
    score, checks, metrics, run, every submission, the public-check runs made while
    working, the reviews you may see, and the integrity signals with their reviews.
    """
    at = now()
    report = reports.candidate_report(attempt_id, blobs=blob_store(), now=at, viewer=viewer)
    return {"attempt": attempt_record(_row(viewer, attempt_id, at)),
            "assessment": report.assessment.name,
            "time_limit_minutes": report.assessment.time_limit_minutes,
            "counting": report.counting, "peers": report.peers,
            "skills": [{"skill": skill, "score": score} for skill, score in report.skills],
            "challenges": [_section(report, section) for section in report.sections],
            "reviews": _reviews(viewer, attempt_id), "ai": _ai(report),
            "integrity": _integrity(viewer, report)}


def _integrity(viewer: StaffViewer, report: reports.CandidateReport) -> list[dict[str, Any]]:
    """The report page's integrity panel, as data: each signal with its review."""
    panel = integrity_signals.signal_panel(report.attempt, signal_context(viewer))
    slugs = {c.id: c.slug for c in report.assessment.challenges}
    lines = []
    for entry in panel.entries:
        signal, review = entry.signal, entry.review
        evidence = signal.evidence
        page = url_for(evidence.endpoint, _anchor=evidence.anchor, **evidence.values)
        lines.append({
            "key": signal.key, "kind": signal.source,
            "challenge": slugs.get(signal.challenge_id) if signal.challenge_id else None,
            "title": signal.title, "reason": signal.reason, "review_suggested": True,
            "evidence": {"page": f"{links_base()}{page}",
                         **{ref: evidence.refs.get(ref) for ref in
                            ("submission_id", "similarity_pair_id", "editor_event_id")}},
            "review": {"reviewed": review is not None,
                       "note": review.note if review is not None else None,
                       "reviewed_by": review.reviewed_by.email
                       if review is not None and review.reviewed_by is not None else None,
                       "reviewed_at": review.reviewed_at if review is not None else None}})
    return lines


def _ai(report: reports.CandidateReport) -> dict[str, Any]:
    """The AI policy and what the candidate did under it, as the report page shows it."""
    config = current_app.config
    held = assistant.transcript(report.attempt, assistant.AssistantSettings.from_config(config),
                                budget=config["HELDOUT_AI_TOKEN_BUDGET"])
    slugs = {c.id: c.slug for c in report.assessment.challenges}
    return {"policy": report.assessment.ai_policy, "disclosure": report.attempt.ai_disclosure,
            "tokens_used": held.used,
            "transcript": [{"role": t.role, "challenge": slugs.get(t.challenge_id, ""),
                            "content": t.content, "tokens": t.tokens,
                            "created_at": t.created_at} for t in held.turns]}


def _export(write: exports.Writer, viewer: StaffViewer, assessment_id: int, status: str,
            q: str) -> Iterator[str]:
    get_assessment(assessment_id)  # a missing one is a 404, before any byte is sent
    return exports.streamed(write, assessment_id, candidates.TableQuery(state=status, search=q),
                            now=now(), viewer_id=viewer.user.id)


@bp.route(f"/assessments/{ASSESSMENT_ID}/export", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=READERS)
@bp.arguments(schemas.ExportQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.Export)
def export_json(viewer: StaffViewer, assessment_id: int, status: str = "",
                q: str = "") -> ResponseReturnValue:
    """The candidates table as JSON

    Every candidate (invited, started or finished) with scores, percentile and review
    status, as the page's JSON export; recorded in the audit log.
    """
    return export_download(viewer.user, assessment_id, "json",
                           _export(exports.json_chunks, viewer, assessment_id, status, q),
                           "application/json")


@bp.route(f"/assessments/{ASSESSMENT_ID}/export.csv", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=READERS)
@bp.arguments(schemas.ExportQuery, location="query", as_kwargs=True)
@bp.doc(responses={"200": {"description": "The table as CSV (cells that look like a formula "
                                          "start with an apostrophe).",
                           "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_csv(viewer: StaffViewer, assessment_id: int, status: str = "",
               q: str = "") -> ResponseReturnValue:
    """The candidates table as CSV"""
    return export_download(viewer.user, assessment_id, "csv",
                           _export(exports.csv_chunks, viewer, assessment_id, status, q),
                           "text/csv")
