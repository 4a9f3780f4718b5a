"""Nothing is lost: re-queue submissions whose job vanished or whose worker died."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Submission

log = logging.getLogger(__name__)

# A freshly committed submission is enqueued right after; leave it that long alone.
QUEUED_GRACE_SECONDS = 60


class Requeue(Protocol):
    """What recovery needs of a queue: put a job back, and see which jobs are waiting."""

    def enqueue_grading(self, submission_id: int) -> None: ...

    def waiting_submission_ids(self) -> set[int]: ...


@dataclass(frozen=True)
class Previous:
    """A worker identity whose earlier lives' leases are dead (the identity is held by us)."""

    worker_id: str
    life: str


@dataclass(frozen=True)
class RecoveryReport:
    requeued: tuple[int, ...]
    stale: tuple[int, ...]
    given_up: tuple[int, ...]


def _owner_dead(owner: str | None, previous: Previous | None) -> bool:
    """Whether a lease belongs to an earlier life of the worker identity we now hold."""
    if not owner:
        return True
    if previous is None:
        return False
    worker_id, _, rest = owner.partition(":")
    life = rest.partition(":")[0]
    return worker_id == previous.worker_id and life != previous.life


def recover(queue: Requeue, *, now: datetime, tries_allowed: int,
            previous: Previous | None = None) -> RecoveryReport:
    """Release stale leases and queue again every submission without a waiting job.

    Stale: running past its lease, or (at worker start-up, given ``previous``) held by an
    earlier life of this worker. A submission that exhausted its tries becomes a final
    ``internal_error``.
    """
    stale: list[int] = []
    given_up: list[int] = []
    for submission in db.session.scalars(select(Submission).where(Submission.status == "running")):
        expired = submission.lease_expires_at is None or submission.lease_expires_at < now
        if not (expired or _owner_dead(submission.lease_owner, previous)):
            continue
        submission.lease_owner = None
        submission.lease_expires_at = None
        if submission.tries >= tries_allowed:
            submission.status = "internal_error"
            submission.retry_at = None
            submission.finished_at = now
            submission.error = (f"grading was interrupted {submission.tries} times (worker "
                                "stopped or timed out); gave up")
            given_up.append(submission.id)
        else:
            submission.status = "queued"
            stale.append(submission.id)
    db.session.commit()

    waiting = queue.waiting_submission_ids()
    grace = now - timedelta(seconds=QUEUED_GRACE_SECONDS)
    candidates = db.session.scalars(select(Submission).where(
        ((Submission.status == "queued") & (Submission.created_at < grace))
        | Submission.id.in_(stale)
        | ((Submission.status == "internal_error") & Submission.retry_at.is_not(None)
           & (Submission.retry_at < now))))
    requeued: list[int] = []
    for submission in candidates:
        if submission.id in waiting:
            continue
        queue.enqueue_grading(submission.id)
        requeued.append(submission.id)
    if stale or given_up or requeued:
        log.warning("recovery: stale %s, given up %s, re-queued %s", stale, given_up, requeued)
    return RecoveryReport(tuple(requeued), tuple(stale), tuple(given_up))
