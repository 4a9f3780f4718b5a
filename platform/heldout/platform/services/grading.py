"""Grading one submission: claim it under a lease, run the graders, store the outcome."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, update

from heldout.graders.bundle import Bundle
from heldout.graders.errors import BundleError
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.result import Evaluation as GradedResult
from heldout.graders.variants import VariantError, bind_variant
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import DATABASE_UNAVAILABLE
from heldout.platform.extensions import db
from heldout.platform.models import EvaluationRecord, PublicRun, Submission, utcnow
from heldout.platform.remote_files import FilesUnavailable
from heldout.platform.services.catalogue import BundleCatalogue

log = logging.getLogger(__name__)

Evaluator = Callable[[Bundle, Path], GradedResult]
# Seconds to wait before the 2nd, 3rd, … try after a platform error.
BACKOFF_SECONDS = (15, 60, 300, 900)
DEFAULT_LEASE_SECONDS = 900
# An artefact above this is listed on the evaluation but not kept: candidate code wrote it.
MAX_ARTEFACT_BYTES = 16 * 1024 * 1024
MAX_ARTEFACTS = 20
# Pauses between tries to save a finished result while the database is away (~60 s).
STORE_RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


@dataclass(frozen=True)
class GradingSettings:
    bundles: BundleCatalogue
    blobs: BlobStore
    runs_dir: Path
    tries: int
    lease_margin_seconds: int
    # Stable across restarts of the worker: leases name it, so a restarted worker can tell
    # its previous life's jobs (see heldout.platform.identity).
    worker_id: str
    worker_life: str
    # The variant cache the web app serves from; None: ``variants/`` beside ``runs_dir``
    # (both live in the data directory).
    variants_dir: Path | None = None

    @property
    def variant_cache(self) -> Path:
        return self.variants_dir or self.runs_dir.parent / "variants"


@dataclass(frozen=True)
class GradingOutcome:
    """What happened to one job.

    ``skipped``: someone else has (or had) it. ``not_due``: its retry is ``retry_in``
    seconds away, so it was left alone.
    """

    submission_id: int
    status: str
    retry_in: float | None = None
    detail: str = ""


def lease_owner(worker_id: str, worker_life: str) -> str:
    """``worker:life:claim``: whose job it is, in which life of that worker, which claim."""
    return f"{worker_id}:{worker_life}:{uuid.uuid4().hex[:8]}"


def backoff(tries: int) -> int:
    return BACKOFF_SECONDS[min(max(tries, 1), len(BACKOFF_SECONDS)) - 1]


# The rows a worker runs under a lease: a submission's grading, or a public run.
Leased = type[Submission] | type[PublicRun]


class StoredFile(Protocol):
    """A file of a stored job: its name and the sha256 of its content in the blob store."""

    @property
    def name(self) -> str: ...

    @property
    def sha256(self) -> str: ...


def claimable(now: datetime, model: Leased = Submission) -> ColumnElement[bool]:
    """Rows a worker may take: queued, due for a retry, or running past their lease.

    A retry is due only once ``retry_at`` has passed: the back-off recorded is the one kept.
    """
    return or_(
        model.status == "queued",
        (model.status == "internal_error") & model.retry_at.is_not(None)
        & (model.retry_at <= now),
        (model.status == "running") & (model.lease_expires_at < now),
    )


def claim_row(model: Leased, row_id: int, owner: str, lease_seconds: float,
              now: datetime) -> bool:
    """Take the job atomically: of two workers racing, one UPDATE matches the row."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, claimable(now, model))
        .values(status="running", tries=model.tries + 1, lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds), started_at=now,
                retry_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(getattr(result, "rowcount", 0))


def _claim(submission_id: int, owner: str, lease_seconds: float, now: datetime) -> bool:
    return claim_row(Submission, submission_id, owner, lease_seconds, now)


def materialise_files(files: Iterable[StoredFile], blobs: BlobStore, directory: Path) -> None:
    """Write a job's stored files under ``directory`` (which must not exist yet)."""
    directory.mkdir(parents=True, exist_ok=False)
    for item in files:
        target = directory / item.name
        # Names were checked at submit time; check again rather than trust the database.
        if not target.resolve().is_relative_to(directory.resolve()):
            raise BlobMissing(f"unsafe stored file name {item.name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blobs.get(item.sha256))


def _materialise(submission: Submission, blobs: BlobStore, directory: Path) -> None:
    materialise_files(submission.files, blobs, directory)


def grade_submission(submission_id: int, settings: GradingSettings, *,
                     evaluate: Evaluator | None = None,
                     clock: Callable[[], datetime] = utcnow) -> GradingOutcome:
    """Grade one submission if nobody else holds it; never lets a platform fault be a score.

    The bundle is the version the submission was made against, from the bundle store:
    editing the challenges directory never changes how an earlier submission is graded.
    When that version generates per-candidate data, it is bound to the attempt's variant
    (the one its candidate downloaded); a generator failure is a platform error.
    """
    evaluate = evaluate or graders_evaluate
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        return GradingOutcome(submission_id, "skipped", detail="no such submission")
    now = clock()
    if submission.status == "internal_error" and submission.retry_at is not None \
            and submission.retry_at > now:
        return GradingOutcome(submission_id, "not_due",
                              (submission.retry_at - now).total_seconds(), "retry not due yet")

    bundle: Bundle | None = None
    problem: str | None = None
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    try:
        bundle = settings.bundles.at_version(submission.challenge_slug,
                                             submission.challenge_version)
        lease_seconds = bundle.limits.wall_seconds + settings.lease_margin_seconds
    except (BundleVersionMissing, BundleError) as exc:
        problem = f"challenge bundle unavailable: {exc}"

    owner = lease_owner(settings.worker_id, settings.worker_life)
    if not _claim(submission_id, owner, lease_seconds, now):
        return GradingOutcome(submission_id, "skipped", detail="not claimable")
    db.session.refresh(submission)
    log.info("grading submission %s (try %s) as %s", submission_id, submission.tries, owner)

    workdir = settings.runs_dir / f"{submission_id}-{owner.replace(':', '-')}"
    try:
        if bundle is None:
            result = GradedResult.internal_error(submission.challenge_slug,
                                                 submission.challenge_version, problem or "")
        else:
            try:
                _materialise(submission, settings.blobs, workdir / "submission")
                graded = bind_variant(bundle, submission.attempt.variant_seed,
                                      settings.variant_cache)
                # Hold no transaction (nor its connection) through the sandbox run: a
                # database restarted meanwhile must not cost the result when it is saved.
                db.session.commit()
                result = evaluate(graded, workdir / "submission")
            except BlobMissing as exc:
                result = GradedResult.internal_error(bundle.slug, bundle.version, str(exc))
            except VariantError as exc:
                log.error("submission %s: %s", submission_id, exc)
                result = GradedResult.internal_error(bundle.slug, bundle.version,
                                                     f"variant: {exc}")
            except Exception as exc:  # any fault of ours is a platform error, never a zero
                log.exception("grading submission %s failed", submission_id)
                result = GradedResult.internal_error(bundle.slug, bundle.version,
                                                     f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    kept: list[dict[str, Any]] = []
    if result.status == "graded":
        try:
            kept = keep_artefacts(result.artefacts, settings.blobs)
        except FilesUnavailable as exc:
            # A worker on another host could not send its artefacts back to the web app:
            # a platform error, retried after the usual back-off, not a job left "running"
            # until its lease runs out (and never a score recorded without its artefacts).
            log.error("submission %s: artefacts not sent back: %s", submission_id, exc)
            result = GradedResult.internal_error(result.challenge, result.version,
                                                 f"artefacts could not be stored: {exc}")
    return store_despite_outage(
        lambda: _store(submission_id, owner, result, settings.tries, clock(), kept),
        f"submission {submission_id}")


def store_despite_outage(store: Callable[[], GradingOutcome], job: str) -> GradingOutcome:
    """Save a finished job's result, waiting out a short database outage (a restart).

    The result exists only in this process: if the save failed for good, the job would be
    run again once its lease ran out. The lease is still ours meanwhile, so nobody else
    grades it; after the last wait the error goes up and the job is retried as before.
    """
    for pause in STORE_RETRY_SECONDS:
        try:
            return store()
        except DATABASE_UNAVAILABLE as exc:
            with contextlib.suppress(*DATABASE_UNAVAILABLE):
                db.session.rollback()
            log.warning("%s: database unavailable while saving the result, again in %s s (%s)",
                        job, pause, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            time.sleep(pause)
    return store()  # the last try: its error goes up and the job is retried as before


def keep_artefacts(artefacts: Mapping[str, bytes], blobs: BlobStore) -> list[dict[str, Any]]:
    """Store each artefact content-addressed; what the evaluation records about them.

    Stored before the evaluation row is committed, so a recorded hash always names a blob.
    One over the size cap, past the count cap, or that the store refuses is listed with a
    note instead: the score stands, only the report's view of that file is missing.
    """
    kept: list[dict[str, Any]] = []
    for index, (name, data) in enumerate(sorted(artefacts.items())):
        entry: dict[str, Any] = {"name": name[:200], "sha256": None, "size": len(data)}
        if index >= MAX_ARTEFACTS:
            entry["note"] = f"not kept: more than {MAX_ARTEFACTS} artefacts"
        elif len(data) > MAX_ARTEFACT_BYTES:
            entry["note"] = f"not kept: over the {MAX_ARTEFACT_BYTES // (1024 * 1024)} MB cap"
        else:
            try:
                entry["sha256"] = blobs.put(data)
            except OSError as exc:
                log.error("artefact %s not kept: %s", name, exc)
                entry["note"] = f"not kept: the blob store refused it ({exc.strerror or exc})"
        kept.append(entry)
    return kept


def _store(submission_id: int, owner: str, result: GradedResult, tries_allowed: int,
           now: datetime, artefacts: list[dict[str, Any]] | None = None) -> GradingOutcome:
    submission = db.session.get(Submission, submission_id, populate_existing=True)
    if submission is None or submission.lease_owner != owner or submission.status != "running":
        # The lease ran out and another worker took the job: its result will count.
        db.session.rollback()
        return GradingOutcome(submission_id, "skipped", detail="lease lost")

    retry_in: float | None = None
    if result.status == "graded":
        submission.status = "graded"
        submission.error = None
        submission.retry_at = None
    else:
        submission.status = "internal_error"
        submission.error = result.error
        if submission.tries < tries_allowed:
            retry_in = backoff(submission.tries)
            submission.retry_at = now + timedelta(seconds=retry_in)
        else:
            submission.retry_at = None
        log.warning("submission %s: platform error on try %s/%s: %s", submission_id,
                    submission.tries, tries_allowed, result.error)
    submission.finished_at = now
    submission.lease_owner = None
    submission.lease_expires_at = None
    if result.status == "graded" or retry_in is None:
        _save_evaluation(submission, result, now, artefacts or [])
    db.session.commit()
    return GradingOutcome(submission_id, submission.status, retry_in, result.error or "")


def _save_evaluation(submission: Submission, result: GradedResult, now: datetime,
                     artefacts: list[dict[str, Any]]) -> None:
    row = submission.evaluation or EvaluationRecord(submission=submission)
    row.status = result.status
    row.challenge_version = result.version
    row.score = result.score
    row.max_score = result.max_score
    row.checks = [check.as_dict() for check in result.checks]
    row.metrics = dict(result.metrics)
    row.run = None if result.run is None else result.run.as_dict()
    row.error = result.error
    row.artefacts = artefacts
    row.created_at = now
    db.session.add(row)
