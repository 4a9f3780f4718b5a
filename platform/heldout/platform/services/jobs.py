"""One leased job, whatever it runs: claim, materialise, evaluate, store despite an outage.

A submission's grading, a public run (of the checks or of the run console), and a graded
submission's integrity run and similarity check go through this same pipeline; each kind
says only what differs (``LeasedJob``): which row, which files, inputs and request, how it
is evaluated, how its result is recorded and what is queued after it. Recovery of what a
dead worker left is in ``recovery``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from sqlalchemy import ColumnElement, or_, update

from heldout.graders.bundle import Bundle
from heldout.graders.errors import BundleError
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.result import Evaluation
from heldout.graders.variants import VariantError, bind_variant
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import DATABASE_UNAVAILABLE
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    FollowupQuestion,
    IntegrityRun,
    PracticeRun,
    PublicRun,
    SimilarityCheck,
    Submission,
    utcnow,
)
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.scoring import GradingStatus

if TYPE_CHECKING:
    from heldout.sandbox.backend import Sandbox

log = logging.getLogger(__name__)

# Seconds to wait before the 2nd, 3rd, … try after a platform error.
BACKOFF_SECONDS = (15, 60, 300, 900)
DEFAULT_LEASE_SECONDS = 900
# Pauses between tries to save a finished result while the database is away (~60 s).
STORE_RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

# The rows a worker runs under a lease.
Row = TypeVar("Row", Submission, PublicRun, IntegrityRun, SimilarityCheck, FollowupQuestion,
              PracticeRun)
# Beside a job's ``submission`` directory: the stored files its evaluation reads besides
# the candidate's (``LeasedJob.inputs``); never mounted in a sandbox.
INPUTS_DIR = "inputs"


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
    # Set once the worker is stopping: a job whose run it cut short goes back to the queue.
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def variant_cache(self) -> Path:
        return self.variants_dir or self.runs_dir.parent / "variants"


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job.

    ``skipped``: someone else has (or had) it. ``not_due``: its retry is ``retry_in``
    seconds away, so it was left alone. ``retry_in`` (when not None): queue it again then.
    """

    job_id: int
    status: str
    retry_in: float | None = None
    detail: str = ""
    # Jobs to queue now that this one is stored: (kind, id) pairs.
    then: tuple[tuple[str, int], ...] = ()


class Queue(Protocol):
    """What the services need of the queue: put a job of a kind on it, see which wait."""

    def enqueue(self, kind: str, job_id: int, *, delay: float | None = None) -> None: ...

    def waiting(self, kind: str) -> set[int]: ...


class StoredFile(Protocol):
    """A file of a stored job: its name and the sha256 of its content in the blob store."""

    @property
    def name(self) -> str: ...

    @property
    def sha256(self) -> str: ...


class LeasedJob(ABC, Generic[Row]):
    """A kind of job run under a lease: only what differs from one kind to another."""

    # The queue's name for the kind (its task's name: kept across releases).
    kind: str
    # How logs name one job of the kind: "submission 12".
    name: str
    # Higher first where the queue's storage orders by priority.
    priority: int = 0
    # Work directories are ``<prefix><id>-<worker>-<life>-<claim>`` (see worker.sweep_work_dirs).
    workdir_prefix: str = ""
    # The final error after ``{tries}`` runs cut short (worker stopped or timed out).
    gave_up: str

    def __init__(self, evaluate: Callable[..., Evaluation] | None = None) -> None:
        # None: the graders' own evaluate, looked up when the job runs.
        self.evaluator = evaluate

    def using(self, evaluate: Callable[..., Evaluation]) -> Self:
        """The same kind, evaluated by ``evaluate`` (the graders', bound to a sandbox)."""
        return type(self)(evaluate)

    def with_sandbox(self, sandbox: Sandbox) -> Self:
        """The same kind, running its jobs in ``sandbox`` (the worker's)."""
        return self.using(partial(graders_evaluate, sandbox=sandbox))

    def inputs(self, row: Row) -> Iterable[StoredFile]:
        """Stored files the evaluation reads besides the candidate's (none by default),
        written under ``INPUTS_DIR`` beside the ``submission`` directory."""
        return ()

    def variant_seed(self, row: Row) -> int | None:
        """The seed of the data variant the job's files were written for: its attempt's
        (a kind whose rows belong to no attempt says so by overriding this)."""
        attempt: Attempt = getattr(row, "attempt")  # noqa: B009 (one row type has none)
        return attempt.variant_seed

    def queued_after(self, row: Row) -> tuple[tuple[str, int], ...]:
        """Jobs to queue once this one's final result is committed (none by default)."""
        return ()

    @property
    @abstractmethod
    def model(self) -> type[Row]: ...

    @abstractmethod
    def files(self, row: Row) -> Iterable[StoredFile]: ...

    def request(self, row: Row) -> dict[str, Any] | None:
        """What the run is asked beyond its files (a console run's input), read from the row
        before the run starts; None: run the checks."""
        return None

    @abstractmethod
    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        """Run the checks on the job's files (or answer its ``request``); a platform fault
        may raise."""

    def keep(self, job_id: int, result: Evaluation, blobs: BlobStore
             ) -> tuple[Evaluation, list[dict[str, Any]]]:
        """What to keep of a finished run beside its result (nothing, unless a kind says)."""
        return result, []

    @abstractmethod
    def record(self, row: Row, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        """Store a final result on (or beside) the row; the caller commits."""


def enqueue_committed(queue: Queue, kind: str, row_id: int) -> bool:
    """Queue the job of a committed row. If the queue is away the row is safe: the watchdog
    queues it again later (False: not queued now)."""
    try:
        queue.enqueue(kind, row_id)
    except Exception:  # the row is committed: the watchdog queues it again
        log.exception("could not enqueue %s %s; the watchdog will retry", kind, row_id)
        return False
    return True


def lease_owner(worker_id: str, worker_life: str) -> str:
    """``worker:life:claim``: whose job it is, in which life of that worker, which claim."""
    return f"{worker_id}:{worker_life}:{uuid.uuid4().hex[:8]}"


def backoff(tries: int) -> int:
    return BACKOFF_SECONDS[min(max(tries, 1), len(BACKOFF_SECONDS)) - 1]


def claimable(now: datetime, model: type[Row]) -> ColumnElement[bool]:
    """Rows a worker may take: queued, due for a retry, or running past their lease.

    A retry is due only once ``retry_at`` has passed: the back-off recorded is the one kept.
    """
    return or_(
        model.status == "queued",
        (model.status == "internal_error") & model.retry_at.is_not(None)
        & (model.retry_at <= now),
        (model.status == "running") & (model.lease_expires_at < now),
    )


def claim(model: type[Row], row_id: int, owner: str, lease_seconds: float,
          now: datetime) -> bool:
    """Take the job atomically: of two workers racing, one UPDATE matches the row."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, claimable(now, model))
        .values(status=GradingStatus.RUNNING, tries=model.tries + 1, lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds), started_at=now,
                retry_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(getattr(result, "rowcount", 0))


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


def run(job: LeasedJob[Row], job_id: int, settings: GradingSettings, *,
        clock: Callable[[], datetime] = utcnow) -> JobOutcome:
    """Run one job if nobody else holds it; a platform fault is never a result.

    The bundle is the version the job was made against, from the bundle store: editing
    the challenges directory never changes how an earlier job runs. When that version
    generates per-candidate data, it is bound to the attempt's variant (the one its
    candidate downloaded); a generator failure is a platform error.
    """
    row = db.session.get(job.model, job_id)
    if row is None:
        return JobOutcome(job_id, "skipped", detail=f"no such {job.name}")
    now = clock()
    if row.status == "internal_error" and row.retry_at is not None and row.retry_at > now:
        return JobOutcome(job_id, "not_due", (row.retry_at - now).total_seconds(),
                          "retry not due yet")
    if settings.stopping.is_set():  # taken from the queue as the worker stops: give it back
        return JobOutcome(job_id, row.status, 0.0, "not run: the worker is stopping")
    bundle: Bundle | None = None
    problem = ""
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    try:
        bundle = settings.bundles.at_version(row.challenge_slug, row.challenge_version)
        lease_seconds = bundle.limits.wall_seconds + settings.lease_margin_seconds
    except (BundleVersionMissing, BundleError) as exc:
        problem = f"challenge bundle unavailable: {exc}"

    owner = lease_owner(settings.worker_id, settings.worker_life)
    if not claim(job.model, job_id, owner, lease_seconds, now):
        return JobOutcome(job_id, "skipped", detail="not claimable")
    db.session.refresh(row)
    log.info("%s %s (try %s) as %s", job.name, job_id, row.tries, owner)
    workdir = settings.runs_dir / f"{job.workdir_prefix}{job_id}-{owner.replace(':', '-')}"
    try:
        result = _evaluate(job, row, bundle, problem, settings, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result, kept = job.keep(job_id, result, settings.blobs)
    if result.status != "graded" and settings.stopping.is_set():
        # Cut short by its worker's stop (or failing as it stops): run it again, at once.
        return store_despite_outage(
            lambda: _release(job, job_id, owner, settings.tries, clock()),
            f"{job.name} {job_id}")
    return store_despite_outage(
        lambda: _store(job, job_id, owner, result, settings.tries, clock(), kept),
        f"{job.name} {job_id}")


def _evaluate(job: LeasedJob[Row], row: Row, bundle: Bundle | None, problem: str,
              settings: GradingSettings, workdir: Path) -> Evaluation:
    if bundle is None:
        return Evaluation.internal_error(row.challenge_slug, row.challenge_version, problem)
    job_id = row.id  # read now: after the commit below, ``row`` is expired
    try:
        materialise_files(job.files(row), settings.blobs, workdir / "submission")
        materialise_files(job.inputs(row), settings.blobs, workdir / INPUTS_DIR)
        bound = bind_variant(bundle, job.variant_seed(row), settings.variant_cache)
        request = job.request(row)
        # Hold no transaction (nor its connection) through the sandbox run: a database
        # restarted meanwhile must not cost the result when it is saved.
        db.session.commit()
        return job.evaluate(bound, workdir / "submission", request)
    except BlobMissing as exc:
        return Evaluation.internal_error(bundle.slug, bundle.version, str(exc))
    except VariantError as exc:
        log.error("%s %s: %s", job.name, job_id, exc)
        return Evaluation.internal_error(bundle.slug, bundle.version, f"variant: {exc}")
    except Exception as exc:  # any fault of ours is a platform error, never a result
        log.exception("%s %s failed", job.name, job_id)
        return Evaluation.internal_error(bundle.slug, bundle.version,
                                         f"{type(exc).__name__}: {exc}")


def store_despite_outage(store: Callable[[], JobOutcome], job: str) -> JobOutcome:
    """Save a finished job's result, waiting out a short database outage (a restart).

    The result exists only in this process: if the save failed for good, the job would be
    run again once its lease ran out. The lease is still ours meanwhile, so nobody else
    runs it; after the last wait the error goes up and the job is retried as before.
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


def _held(job: LeasedJob[Row], job_id: int, owner: str) -> Row | None:
    """The job's row, fresh, if this claim still holds its lease (else nothing to save)."""
    row = db.session.get(job.model, job_id, populate_existing=True)
    if row is None or row.lease_owner != owner or row.status != "running":
        # The lease ran out and another worker took the job: its result will count.
        db.session.rollback()
        return None
    return row


def _store(job: LeasedJob[Row], job_id: int, owner: str, result: Evaluation,
           tries_allowed: int, now: datetime, kept: list[dict[str, Any]]) -> JobOutcome:
    row = _held(job, job_id, owner)
    if row is None:
        return JobOutcome(job_id, "skipped", detail="lease lost")
    retry_in: float | None = None
    if result.status == "graded":
        row.status, row.error, row.retry_at = GradingStatus.GRADED, None, None
    else:
        row.status, row.error = GradingStatus.INTERNAL_ERROR, result.error
        if row.tries < tries_allowed:
            retry_in = backoff(row.tries)
            row.retry_at = now + timedelta(seconds=retry_in)
        else:
            row.retry_at = None
        log.warning("%s %s: platform error on try %s/%s: %s", job.name, job_id, row.tries,
                    tries_allowed, result.error)
    row.finished_at = now
    row.lease_owner = None
    row.lease_expires_at = None
    if result.status == "graded" or retry_in is None:
        job.record(row, result, now, kept)
    db.session.commit()
    then = job.queued_after(row) if result.status == "graded" else ()
    return JobOutcome(job_id, row.status, retry_in, result.error or "", then)


def release(job: LeasedJob[Row], row: Row, *, now: datetime, tries_allowed: int) -> bool:
    """A job whose run was cut short (its worker stopped or died) goes back to the queue,
    or, once it has had all its tries, ends as a final platform error. True: queued."""
    row.lease_owner = None
    row.lease_expires_at = None
    if row.tries >= tries_allowed:
        row.status, row.retry_at, row.finished_at = GradingStatus.INTERNAL_ERROR, None, now
        row.error = job.gave_up.format(tries=row.tries)
        return False
    row.status = GradingStatus.QUEUED
    return True


def _release(job: LeasedJob[Row], job_id: int, owner: str, tries_allowed: int,
             now: datetime) -> JobOutcome:
    row = _held(job, job_id, owner)
    if row is None:
        return JobOutcome(job_id, "skipped", detail="lease lost")
    queued = release(job, row, now=now, tries_allowed=tries_allowed)
    db.session.commit()
    log.warning("%s %s: cut short by the worker's stop; %s", job.name, job_id,
                "queued again" if queued else "no tries left")
    return JobOutcome(job_id, row.status, 0.0 if queued else None, "its worker stopped")
