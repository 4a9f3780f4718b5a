"""Graded candidates written straight into the database, for the review pages' tests.

Loaded by path (tests/ is not a package): ``seed = load_seed()`` in a test module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    Challenge,
    EvaluationRecord,
    Invite,
    Submission,
)

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Graded:
    """One submission to write: its score (None: still queued) and when, in minutes."""

    score: float | None
    minute: float = 10.0
    version: str | None = None  # default: the challenge's current version
    checks: Sequence[dict[str, Any]] = ()
    metrics: dict[str, Any] | None = None


def checks_for(score: float) -> list[dict[str, Any]]:
    return [{"name": "run", "kind": "run", "passed": True, "score": 0, "max_score": 0,
             "detail": "ran"},
            {"name": "roc_auc", "kind": "metric", "passed": score > 0, "score": score,
             "max_score": 100, "detail": f"{score:g} points"}]


def candidate(assessment_id: int, created_by_id: int, name: str,
              submissions: dict[str, Sequence[Graded]], *, minutes_used: float = 30,
              email: str | None = None, started: datetime = START,
              index: int = 0) -> int:
    """An invite, a finished attempt and its graded submissions; the attempt's id.

    Commits nothing: the caller commits (many candidates in one transaction).
    """
    invite = Invite(assessment_id=assessment_id, candidate_name=name,
                    candidate_email=email or f"{name.lower().replace(' ', '.')}@example.org",
                    token_hash=hashlib.sha256(f"{name}-{index}".encode()).hexdigest(),
                    created_by_id=created_by_id,
                    created_at=started - timedelta(days=1, seconds=-index),
                    expires_at=started + timedelta(days=14), opened_at=started,
                    started_at=started, finished_at=started + timedelta(minutes=minutes_used))
    db.session.add(invite)
    db.session.flush()
    attempt = Attempt(invite_id=invite.id, consent_at=started, started_at=started,
                      deadline=started + timedelta(hours=1),
                      finished_at=started + timedelta(minutes=minutes_used),
                      finish_reason="candidate", variant_seed=None)
    db.session.add(attempt)
    db.session.flush()
    for slug, graded in submissions.items():
        for g in graded:
            add_submission(attempt.id, slug, g, started)
    return attempt.id


def add_submission(attempt_id: int, slug: str, g: Graded, started: datetime) -> int:
    """One submission of ``attempt_id`` (graded, unless ``g.score`` is None), ``g.minute``
    minutes after ``started``; its id. Commits nothing."""
    challenge = db.session.scalars(select(Challenge).where(Challenge.slug == slug)).one()
    version = g.version or challenge.version
    at = started + timedelta(minutes=g.minute)
    submission = Submission(
        attempt_id=attempt_id, challenge_id=challenge.id, challenge_slug=slug,
        challenge_version=version, status="graded" if g.score is not None else "queued",
        created_at=at, finished_at=at if g.score is not None else None, tries=1)
    db.session.add(submission)
    db.session.flush()
    if g.score is not None:
        db.session.add(EvaluationRecord(
            submission_id=submission.id, status="graded", challenge_version=version,
            score=g.score, max_score=100.0, checks=list(g.checks) or checks_for(g.score),
            metrics=g.metrics if g.metrics is not None else {"roc_auc": 0.7 + g.score / 1000},
            run={"exit_code": 0, "timed_out": False, "oom_killed": False,
                 "wall_seconds": 3.0, "cpu_seconds": 2.5, "peak_memory_mb": 120,
                 "output_bytes": 10, "stdout_tail": "", "stderr_tail": ""},
            created_at=at))
    return submission.id
