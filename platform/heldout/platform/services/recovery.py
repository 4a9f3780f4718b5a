"""Nothing is lost: re-queue leased jobs whose queue entry vanished or whose worker died."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.services.jobs import LeasedJob, Queue, Row, release

log = logging.getLogger(__name__)

# A freshly committed job is enqueued right after; leave it that long alone.
QUEUED_GRACE_SECONDS = 60


@dataclass(frozen=True)
class Previous:
    """A worker identity whose earlier lives' leases are dead (the identity is held by us)."""

    worker_id: str
    life: str


@dataclass(frozen=True)
class RecoveryReport:
    kind: str
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


def recover(job: LeasedJob[Row], queue: Queue, *, now: datetime, tries_allowed: int,
            previous: Previous | None = None) -> RecoveryReport:
    """Release the kind's stale leases and queue again every job without a waiting entry.

    Stale: running past its lease, or (at worker start-up, given ``previous``) held by an
    earlier life of this worker. A job that exhausted its tries becomes a final
    ``internal_error``.
    """
    model = job.model
    stale: list[int] = []
    given_up: list[int] = []
    for row in db.session.scalars(select(model).where(model.status == "running")):
        expired = row.lease_expires_at is None or row.lease_expires_at < now
        if expired or _owner_dead(row.lease_owner, previous):
            queued = release(job, row, now=now, tries_allowed=tries_allowed)
            (stale if queued else given_up).append(row.id)
    db.session.commit()

    waiting = queue.waiting(job.kind)
    grace = now - timedelta(seconds=QUEUED_GRACE_SECONDS)
    due = db.session.scalars(select(model).where(
        ((model.status == "queued") & (model.created_at < grace))
        | model.id.in_(stale)
        | ((model.status == "internal_error") & model.retry_at.is_not(None)
           & (model.retry_at < now))))
    requeued = [row.id for row in due if row.id not in waiting]
    for job_id in requeued:
        queue.enqueue(job.kind, job_id)
    if stale or given_up or requeued:
        log.warning("recovery of %s jobs: stale %s, given up %s, re-queued %s", job.kind,
                    stale, given_up, requeued)
    return RecoveryReport(job.kind, tuple(requeued), tuple(stale), tuple(given_up))
