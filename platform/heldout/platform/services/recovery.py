"""Nothing is lost: re-queue submissions whose job vanished or whose worker died."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import Submission
from heldout.platform.queue import JobQueue

log = logging.getLogger(__name__)

# A freshly committed submission is enqueued right after; leave it that long alone.
QUEUED_GRACE_SECONDS = 60


@dataclass(frozen=True)
class RecoveryReport:
    requeued: tuple[int, ...]
    stale: tuple[int, ...]
    given_up: tuple[int, ...]


def _owner_dead(owner: str | None) -> bool:
    """Whether a lease belongs to a process of this host that no longer exists."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover(queue: JobQueue, *, now: datetime, tries_allowed: int,
            at_startup: bool = False) -> RecoveryReport:
    """Release stale leases and queue again every submission without a waiting job.

    Stale: running past its lease, or (at worker start-up) owned by a dead process of
    this host. A submission that exhausted its tries becomes a final ``internal_error``.
    """
    stale: list[int] = []
    given_up: list[int] = []
    for submission in db.session.scalars(select(Submission).where(Submission.status == "running")):
        expired = submission.lease_expires_at is None or submission.lease_expires_at < now
        if not (expired or (at_startup and _owner_dead(submission.lease_owner))):
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
