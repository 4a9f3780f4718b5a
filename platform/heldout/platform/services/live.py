"""What a workspace shows live: each submission with why it fell short and whether it counts,
the latest public run, the deadline's submission. One snapshot serves the page, polling and
the server-sent events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from heldout.graders.result import Check, RunStats
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, DeadlineSubmission, EvaluationRecord, Submission
from heldout.platform.services import public_runs, submissions

COUNTING_WORDS = {
    "last": "your last graded submission counts",
    "best": "your best-scoring submission counts",
}


@dataclass(frozen=True)
class Reason:
    """Why a graded run fell short, in plain words, and what to try."""

    title: str
    detail: str
    advice: str


def counting_sentence(counting: str) -> str:
    """The rule in words, shown before the candidate submits."""
    words = COUNTING_WORDS.get(counting, COUNTING_WORDS["last"])
    return f"You can submit as often as you like; {words}."


def _run_reasons(run: RunStats) -> list[Reason]:
    if run.timed_out or run.limit == "time":
        return [Reason("Time limit reached", f"The run was stopped after {run.wall_seconds:.0f} s.",
                       "Look for an endless loop or a slow step (row-by-row loops, a large "
                       "search); time it on a sample of the data first.")]
    if run.oom_killed or run.limit == "memory":
        return [Reason("Out of memory",
                       f"The run was killed at the memory limit (peak {run.peak_memory_mb:.0f} MB).",
                       "Load only the columns you need, use smaller dtypes, avoid copies of "
                       "large frames, or work in chunks.")]
    if run.limit is not None:
        return [Reason(f"The {run.limit.replace('_', ' ')} limit was reached",
                       "The sandbox stopped the run.",
                       "Write less output and fewer or smaller files; keep processes few.")]
    if run.exit_code not in (0, None):
        signal = f" (signal {run.signal})" if run.signal is not None else ""
        return [Reason("Your program crashed", f"It exited with code {run.exit_code}{signal}.",
                       "The error output of a graded run is not shown, since it ran on "
                       "hidden data: press \"Run public checks\" to see the traceback on the "
                       "public data.")]
    return []


def reasons(record: EvaluationRecord) -> tuple[Reason, ...]:
    """Plain reasons a graded submission lost points (run failures and unusable files)."""
    found: list[Reason] = []
    run = None
    if record.run is not None:
        try:
            run = RunStats.from_dict(record.run)
        except ValueError:
            run = None
    if run is not None:
        found.extend(_run_reasons(run))
    ran_ok = run is None or not found
    for raw in record.checks:
        try:
            check = Check.from_dict(raw)
        except (KeyError, TypeError, ValueError):
            continue
        if check.passed:
            continue
        if check.name == "submission":
            found.append(Reason("Your files were not run", check.detail,
                                "Check the file names the challenge accepts and include the "
                                "entrypoint."))
        elif check.name == "predictions" and ran_ok:
            found.append(Reason("The output file could not be used", check.detail,
                                "Write the file the statement names, in its format: one row "
                                "per id, the columns it asks for, no extra index."))
    return tuple(found)


def submission_view(submission: Submission, *, show_scores: bool, counting: str,
                    counted: Submission | None, now: datetime) -> dict[str, Any]:
    """``candidate_status`` plus the reasons and whether this one is the submission counted."""
    view = submissions.candidate_status(submission, show_scores=show_scores, now=now)
    record = submission.evaluation
    found = reasons(record) if submission.status == "graded" and record is not None else ()
    note = ""
    if submission.status == "graded" and counted is not None:
        if counted.id == submission.id:
            note = "This is the submission that counts."
        elif counting == "best":
            note = "An earlier submission scored higher, and it still counts (best counts)."
        else:
            note = "A later submission counts (the last graded one counts)."
    view.update({"reasons": [asdict(r) for r in found], "counts": counted is not None
                 and counted.id == submission.id, "count_note": note})
    return view


def deadline_submission(attempt: Attempt, challenge_id: int) -> DeadlineSubmission | None:
    return db.session.scalar(select(DeadlineSubmission).where(
        DeadlineSubmission.attempt_id == attempt.id,
        DeadlineSubmission.challenge_id == challenge_id))


def workspace_state(attempt: Attempt, challenge_id: int, *, now: datetime) -> dict[str, Any]:
    """Everything the workspace's live parts show, newest submission first."""
    assessment = attempt.invite.assessment
    history = [s for s in attempt.submissions if s.challenge_id == challenge_id]
    counted = submissions.counted_submission(history, assessment.counting)
    views = [submission_view(s, show_scores=assessment.show_scores,
                             counting=assessment.counting, counted=counted, now=now)
             for s in reversed(history)]
    run = public_runs.latest_public_run(attempt, challenge_id)
    run_view = public_runs.public_run_view(run, now=now) if run is not None else None
    claim = deadline_submission(attempt, challenge_id)
    return {
        "submissions": views,
        "public_run": run_view.as_json() if run_view is not None else None,
        "closed": attempt.finished_at is not None or now >= attempt.deadline,
        "deadline_submission": None if claim is None or claim.submission_id is None else {
            "submission_id": claim.submission_id,
            "submitted_at": claim.created_at.isoformat(),
            "draft_saved_at": claim.draft_saved_at.isoformat() if claim.draft_saved_at else None,
        },
        "final": all(v["final"] for v in views) and (run_view is None or run_view.final),
    }


def digest(state: dict[str, Any]) -> str:
    """A fingerprint of what the page shows (running seconds included: they are news too)."""
    steady = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(steady.encode()).hexdigest()
