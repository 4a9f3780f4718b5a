"""What a workspace shows live: each submission with why it fell short and whether it counts,
the latest public run and console run, the deadline's submission. One snapshot serves the page, polling and
the server-sent events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from heldout.graders.result import Check, RunStats
from heldout.platform.extensions import db
from heldout.platform.i18n import N_
from heldout.platform.models import Attempt, DeadlineSubmission, EvaluationRecord, Submission
from heldout.platform.services import console_runs, public_runs, submissions
from heldout.platform.services.scoring import (
    Counting,
    GradingStatus,
    Reason,
    counted_submission,
    shortfalls,
)

COUNTING_SENTENCES: dict[str, str] = {
    Counting.LAST: N_("You can submit as often as you like; your last graded submission counts."),
    Counting.BEST: N_("You can submit as often as you like; your best-scoring submission "
                      "counts."),
}


def counting_sentence(counting: str) -> str:
    """The rule in words, shown before the candidate submits (in the page's language)."""
    return str(gettext(COUNTING_SENTENCES.get(counting, COUNTING_SENTENCES[Counting.LAST])))


def reasons(record: EvaluationRecord) -> tuple[Reason, ...]:
    """Plain reasons a graded submission lost points, from its stored evaluation (a
    malformed run or check record is left out, never an error on the candidate's page)."""
    run = None
    if record.run is not None:
        try:
            run = RunStats.from_dict(record.run)
        except ValueError:
            run = None
    checks = []
    for raw in record.checks:
        try:
            checks.append(Check.from_dict(raw))
        except (KeyError, TypeError, ValueError):
            continue
    return shortfalls(run, checks, public=False)


def submission_state(submission: Submission, *, show_scores: bool, counting: str,
                     counted: Submission | None, now: datetime) -> dict[str, Any]:
    """``candidate_status`` plus the reasons and whether this one is the submission counted."""
    view = submissions.candidate_status(submission, show_scores=show_scores, now=now)
    record = submission.evaluation
    graded = submission.status == GradingStatus.GRADED
    found = reasons(record) if graded and record is not None else ()
    note = _count_note(submission, counted, counting) if graded and counted is not None else ""
    view.update({"reasons": [asdict(r) for r in found], "counts": counted is not None
                 and counted.id == submission.id, "count_note": note})
    return view


def _count_note(submission: Submission, counted: Submission, counting: str) -> str:
    """Why this graded submission counts, or which one does instead (``scoring.counted``)."""
    if counted.id == submission.id:
        return "This is the submission that counts."
    if counting != Counting.BEST:
        return "A later submission counts (the last graded one counts)."
    if counted.id > submission.id:
        return "A later submission scored higher, and it counts (best counts)."
    mine, theirs = (s.evaluation.score if s.evaluation is not None else None
                    for s in (submission, counted))
    if mine is not None and mine == theirs:
        return ("An earlier submission reached the same score first, and it still counts "
                "(best counts).")
    return "An earlier submission scored higher, and it still counts (best counts)."


def deadline_submission(attempt: Attempt, challenge_id: int) -> DeadlineSubmission | None:
    return db.session.scalar(select(DeadlineSubmission).where(
        DeadlineSubmission.attempt_id == attempt.id,
        DeadlineSubmission.challenge_id == challenge_id))


def workspace_state(attempt: Attempt, challenge_id: int, *, now: datetime) -> dict[str, Any]:
    """Everything the workspace's live parts show, newest submission first."""
    assessment = attempt.invite.assessment
    history = [s for s in attempt.submissions if s.challenge_id == challenge_id]
    counted = counted_submission(history, assessment.counting)
    views = [submission_state(s, show_scores=assessment.show_scores,
                             counting=assessment.counting, counted=counted, now=now)
             for s in reversed(history)]
    run = public_runs.latest_public_run(attempt, challenge_id)
    run_view = public_runs.public_run_view(run, now=now) if run is not None else None
    console = console_runs.latest_console_run(attempt, challenge_id, now=now)
    claim = deadline_submission(attempt, challenge_id)
    return {
        "submissions": views,
        "public_run": run_view.as_json() if run_view is not None else None,
        "console_run": console.as_json() if console is not None else None,
        "closed": attempt.finished_at is not None or now >= attempt.deadline,
        "deadline_submission": None if claim is None or claim.submission_id is None else {
            "submission_id": claim.submission_id,
            "submitted_at": claim.created_at.isoformat(),
            "draft_saved_at": claim.draft_saved_at.isoformat() if claim.draft_saved_at else None,
        },
        "final": all(v["final"] for v in views) and (run_view is None or run_view.final)
        and (console is None or console.final),
    }


def digest(state: dict[str, Any]) -> str:
    """A fingerprint of what the page shows (running seconds included: they are news too)."""
    steady = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(steady.encode()).hexdigest()
