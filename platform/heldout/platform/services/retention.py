"""Retention: what is kept how long, and the job that deletes what is past it.

Each class of data has a period (days after the attempt ends; 0 keeps it), set by the
``HELDOUT_RETENTION_*`` settings:
- ``drafts``: autosaved drafts and their playback snapshots;
- ``code``: the files of submissions and public runs (scores, checks, reviews stay);
- ``editor_events``: the editor events (pastes, focus lost and regained, idle gaps);
- ``ai``: the conversation with the workspace's AI assistant (the disclosure stays);
- ``candidates``: everything about an invite, erased as an admin's erasure would
  (``stewardship.erase_invites``), counted from the attempt's end, or from the link's
  expiry for an invite never used.
Practice runs (``services/practice.py``) belong to nobody: each run of ``apply`` deletes
those finished more than a day ago, whatever the settings.
The worker runs ``apply`` once a day; an admin runs it at once from the retention page or
``heldout retention run``. Every run that removed something is in the audit log
(``retention.run``), which the page lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import (
    AiMessage,
    Attempt,
    AuditEvent,
    Draft,
    DraftSnapshot,
    EditorEvent,
    Invite,
    PublicRun,
    Submission,
    SubmissionFile,
)
from heldout.platform.services import audit, practice, stewardship

ACTION = "retention.run"


@dataclass(frozen=True)
class DataClass:
    key: str
    setting: str
    label: str
    covers: str


CLASSES = (
    DataClass("drafts", "HELDOUT_RETENTION_DRAFTS_DAYS", "Drafts and playback",
              "autosaved drafts and the snapshots a playback shows"),
    DataClass("code", "HELDOUT_RETENTION_CODE_DAYS", "Submitted code",
              "the files of submissions and public runs (scores, checks and reviews stay)"),
    DataClass("editor_events", "HELDOUT_RETENTION_EDITOR_EVENTS_DAYS", "Editor events",
              "pastes (size, time, file), focus lost and regained, idle gaps in the editor"),
    DataClass("ai", "HELDOUT_RETENTION_AI_DAYS", "AI transcripts",
              "the candidate's conversation with the workspace's AI assistant (the policy "
              "and the candidate's disclosure stay)"),
    DataClass("candidates", "HELDOUT_RETENTION_CANDIDATES_DAYS", "Candidates",
              "everything about an invite: attempts, submissions, reports, reviews (erased "
              "as an admin's erasure would; the audit log keeps anonymised entries)"),
)


def periods(config: Mapping[str, Any]) -> dict[str, int]:
    """Days each class is kept (0: no limit), from the app's settings."""
    return {c.key: int(config.get(c.setting, 0) or 0) for c in CLASSES}


def _ended_before(cutoff: datetime) -> ColumnElement[bool]:
    """Attempts (joined with their invite) that ended before ``cutoff``."""
    return and_(Attempt.finished_at.is_not(None), Attempt.finished_at < cutoff)


def _attempts_ended_before(cutoff: datetime, *, sparing: list[int]) -> list[int]:
    """Attempts that ended before ``cutoff``, except those of invites in ``sparing`` (erased
    whole in the same run, so counted there)."""
    return list(db.session.scalars(select(Attempt.id).where(
        _ended_before(cutoff), Attempt.invite_id.not_in(sparing))))


def _invites_past(cutoff: datetime) -> list[int]:
    """Invites whose attempt ended before ``cutoff``, or never used and expired before it."""
    ended = select(Attempt.invite_id).where(_ended_before(cutoff))
    unused = select(Invite.id).outerjoin(Attempt, Attempt.invite_id == Invite.id).where(
        Attempt.id.is_(None), or_(Invite.expires_at < cutoff, Invite.revoked_at < cutoff))
    return sorted({*db.session.scalars(ended), *db.session.scalars(unused)})


@dataclass(frozen=True)
class RetentionRun:
    at: datetime
    removed: Mapping[str, int]          # what was deleted, by kind of row
    blobs_removed: int
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def apply(config: Mapping[str, Any], *, blobs: BlobStore, now: datetime,
          dry_run: bool = False) -> RetentionRun:
    """Delete what is past its period (or, with ``dry_run``, count it)."""
    days = periods(config)
    removed: dict[str, int] = {}
    blobs_removed = 0
    invite_ids: list[int] = []
    if days["candidates"]:
        invite_ids = _invites_past(now - timedelta(days=days["candidates"]))
        removed["candidates"] = len(invite_ids)
        if invite_ids and not dry_run:
            receipt = stewardship.erase_invites(invite_ids, actor=None, blobs=blobs,
                                                origin=audit.NO_ORIGIN, now=now,
                                                reason="retention")
            blobs_removed += receipt.blobs_removed
    if days["drafts"]:
        attempt_ids = _attempts_ended_before(now - timedelta(days=days["drafts"]),
                                             sparing=invite_ids)
        for model, key in ((Draft, "drafts"), (DraftSnapshot, "draft snapshots")):
            where = model.attempt_id.in_(attempt_ids)
            removed[key] = int(db.session.scalar(select(func.count()).where(where)
                                                 .select_from(model)) or 0)
            if not dry_run and removed[key]:
                db.session.execute(delete(model).where(where))
    if days["editor_events"]:
        attempt_ids = _attempts_ended_before(now - timedelta(days=days["editor_events"]),
                                             sparing=invite_ids)
        where = EditorEvent.attempt_id.in_(attempt_ids)
        removed["editor events"] = int(db.session.scalar(
            select(func.count()).where(where).select_from(EditorEvent)) or 0)
        if not dry_run and removed["editor events"]:
            db.session.execute(delete(EditorEvent).where(where))
    if days["ai"]:
        attempt_ids = _attempts_ended_before(now - timedelta(days=days["ai"]),
                                             sparing=invite_ids)
        where = AiMessage.attempt_id.in_(attempt_ids)
        removed["AI messages"] = int(db.session.scalar(
            select(func.count()).where(where).select_from(AiMessage)) or 0)
        if not dry_run and removed["AI messages"]:
            db.session.execute(delete(AiMessage).where(where))
    if days["code"]:
        attempt_ids = _attempts_ended_before(now - timedelta(days=days["code"]),
                                             sparing=invite_ids)
        files = select(SubmissionFile.id, SubmissionFile.sha256).join(Submission).where(
            Submission.attempt_id.in_(attempt_ids))
        found = db.session.execute(files).all()
        # JSON has no equality on PostgreSQL: the runs with files are picked here.
        runs = [run for run in db.session.scalars(select(PublicRun).where(
            PublicRun.attempt_id.in_(attempt_ids))) if run.files]
        digests = {str(digest) for _, digest in found} | {
            str(entry.get("sha256")) for run in runs for entry in run.files or []
            if isinstance(entry, dict) and entry.get("sha256")}
        removed["submitted files"] = len(found) + sum(len(run.files or []) for run in runs)
        if not dry_run and removed["submitted files"]:
            db.session.execute(delete(SubmissionFile).where(
                SubmissionFile.id.in_([row_id for row_id, _ in found])))
            db.session.execute(update(PublicRun).where(PublicRun.id.in_([r.id for r in runs]))
                               .values(files=[]))
            db.session.flush()
            unused = digests - stewardship.still_named(digests)
            db.session.commit()
            blobs_removed += sum(1 for digest in sorted(unused) if blobs.remove(digest))
    removed["practice runs"], digests = practice.prune(now=now, dry_run=dry_run)
    if not dry_run and removed["practice runs"]:
        db.session.flush()
        unused = digests - stewardship.still_named(digests)
        db.session.commit()
        blobs_removed += sum(1 for digest in sorted(unused) if blobs.remove(digest))
    run = RetentionRun(now, {k: v for k, v in removed.items() if v}, blobs_removed, dry_run)
    if not dry_run and run.total:
        audit.record(None, ACTION, "retention", None,
                     {**run.removed, "files": blobs_removed}, actor_label="retention job",
                     commit=False)
    db.session.commit()
    return run


def recent_runs(limit: int = 20) -> list[AuditEvent]:
    """The latest runs that removed something (from the audit log)."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION)
                                   .order_by(AuditEvent.id.desc()).limit(limit)))
