"""Public checks while working: store a run of the candidate's code, run it, explain it.

A public run is never a submission: it has its own table, it is graded by the bundle's
public checks alone (``evaluate(public=True)``: public data or cases, nothing from
``hidden/`` mounted), and the worker takes it only after every waiting submission.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from heldout.graders.bundle import Bundle
from heldout.graders.checks import METRIC, RUN, get_check
from heldout.graders.errors import BundleError, UnknownName
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.result import Evaluation, RunStats
from heldout.graders.variants import VariantError, bind_variant
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import TooManySubmissions
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, PublicRun, utcnow
from heldout.platform.services import grading
from heldout.platform.services.attempts import assessment_challenge, open_attempt
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.recovery import QUEUED_GRACE_SECONDS, Previous, _owner_dead
from heldout.platform.services.submissions import (
    PENDING_STATUSES,
    STATUS_LABELS,
    SubmittedFile,
    check_files,
)

log = logging.getLogger(__name__)

# One at a time per attempt: the checks take seconds, and a queue of a candidate's own
# stale runs would only delay the answer they are waiting for.
MAX_PENDING_PUBLIC_RUNS = 1


class PublicQueue(Protocol):
    """What public runs need of the queue: put a run on it, see which runs wait."""

    def enqueue_public_run(self, run_id: int, *, delay: float | None = None) -> None: ...

    def waiting_public_run_ids(self) -> set[int]: ...


class PublicEvaluate(Protocol):
    """The graders' ``evaluate``; the service always calls it with ``public=True``."""

    def __call__(self, bundle: Bundle, submission: Path, *, public: bool) -> Evaluation: ...


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int


def stored_files(run: PublicRun) -> list[StoredFile]:
    return [StoredFile(str(f["name"]), str(f["sha256"]), int(f["size"])) for f in run.files]


def pending_public_runs(attempt: Attempt) -> int:
    return int(db.session.scalar(
        select(func.count()).select_from(PublicRun)
        .where(PublicRun.attempt_id == attempt.id,
               PublicRun.status.in_(PENDING_STATUSES))) or 0)


def request_public_run(*, attempt_public_id: str, challenge_slug: str,
                       files: Sequence[SubmittedFile], blobs: BlobStore, queue: PublicQueue,
                       bundles: BundleCatalogue, now: datetime,
                       pasted_code: str | None = None) -> PublicRun:
    """Store the files (checked as a submission's are) and the queued run, then enqueue it.

    Refused once the attempt is closed (``AttemptClosed``) and while another public run
    of the attempt waits or runs (``TooManySubmissions``). The row is committed before
    the job is queued: a failed enqueue is picked up by the watchdog.
    """
    attempt = open_attempt(attempt_public_id, now=now)
    challenge = assessment_challenge(attempt, challenge_slug)
    bundle = bundles.for_challenge(challenge)
    if pending_public_runs(attempt) >= MAX_PENDING_PUBLIC_RUNS:
        # The earliest the run in the way can be over: its own time limit.
        raise TooManySubmissions(
            "Your previous public check run has not finished yet.",
            hint="Wait for its results below, then run the checks again; your code is still "
                 "in the editor.", retry_after=max(1, int(bundle.limits.wall_seconds)))
    if not files and pasted_code is not None:
        files = [SubmittedFile(bundle.submission.entrypoint, pasted_code.encode("utf-8"))]
    checked = check_files(bundle.submission, files)
    run = PublicRun(attempt=attempt, challenge=challenge, challenge_slug=challenge.slug,
                    challenge_version=bundle.version, status="queued", created_at=now,
                    files=[{"name": f.name, "sha256": blobs.put(f.data), "size": len(f.data)}
                           for f in checked])
    db.session.add(run)
    db.session.commit()
    try:
        queue.enqueue_public_run(run.id)
    except Exception:  # the row is safe; the watchdog will queue it again
        log.exception("could not enqueue public run %s; the watchdog will retry", run.id)
    return run


def attempt_public_run(attempt: Attempt, run_id: int) -> PublicRun | None:
    """A public run of this attempt only (another attempt's id is simply not found)."""
    run = db.session.get(PublicRun, run_id)
    return run if run is not None and run.attempt_id == attempt.id else None


def latest_public_run(attempt: Attempt, challenge_id: int) -> PublicRun | None:
    return db.session.scalars(
        select(PublicRun).where(PublicRun.attempt_id == attempt.id,
                                PublicRun.challenge_id == challenge_id)
        .order_by(PublicRun.id.desc()).limit(1)).first()


def run_public_checks(run_id: int, settings: grading.GradingSettings, *,
                      evaluate: PublicEvaluate | None = None,
                      clock: Callable[[], datetime] = utcnow) -> grading.GradingOutcome:
    """Run one public run if nobody else holds it, under a lease like a submission's grading."""
    evaluator: PublicEvaluate = evaluate or graders_evaluate
    run = db.session.get(PublicRun, run_id)
    if run is None:
        return grading.GradingOutcome(run_id, "skipped", detail="no such public run")
    now = clock()
    if run.status == "internal_error" and run.retry_at is not None and run.retry_at > now:
        return grading.GradingOutcome(run_id, "not_due", (run.retry_at - now).total_seconds(),
                                      "retry not due yet")
    bundle: Bundle | None = None
    problem = ""
    lease_seconds: float = grading.DEFAULT_LEASE_SECONDS
    try:
        bundle = settings.bundles.at_version(run.challenge_slug, run.challenge_version)
        lease_seconds = bundle.limits.wall_seconds + settings.lease_margin_seconds
    except (BundleVersionMissing, BundleError) as exc:
        problem = f"challenge bundle unavailable: {exc}"

    owner = grading.lease_owner(settings.worker_id, settings.worker_life)
    if not grading.claim_row(PublicRun, run_id, owner, lease_seconds, now):
        return grading.GradingOutcome(run_id, "skipped", detail="not claimable")
    db.session.refresh(run)
    log.info("public run %s (try %s) as %s", run_id, run.tries, owner)
    workdir = settings.runs_dir / f"public-{run_id}-{owner.replace(':', '-')}"
    try:
        result = _evaluate(run, bundle, problem, settings, evaluator, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _store(run_id, owner, result, settings.tries, clock())


def _evaluate(run: PublicRun, bundle: Bundle | None, problem: str,
              settings: grading.GradingSettings, evaluate: PublicEvaluate,
              workdir: Path) -> Evaluation:
    if bundle is None:
        return Evaluation.internal_error(run.challenge_slug, run.challenge_version, problem)
    run_id = run.id  # read now: after the commit below, ``run`` is expired
    try:
        grading.materialise_files(stored_files(run), settings.blobs, workdir / "submission")
        bound = bind_variant(bundle, run.attempt.variant_seed, settings.variant_cache)
        db.session.commit()  # no transaction held through the sandbox run (see grading)
        result = evaluate(bound, workdir / "submission", public=True)
    except (BlobMissing, VariantError) as exc:
        return Evaluation.internal_error(bundle.slug, bundle.version, str(exc))
    except Exception as exc:  # any fault of ours is a platform error, never a failed check
        log.exception("public run %s failed", run_id)
        return Evaluation.internal_error(bundle.slug, bundle.version,
                                         f"{type(exc).__name__}: {exc}")
    if result.split != "public":
        # Whatever the evaluator, hidden checks' details (they quote expected values)
        # must never reach the candidate's page.
        return Evaluation.internal_error(bundle.slug, bundle.version,
                                         "the evaluator did not run the public checks")
    return result


def _store(run_id: int, owner: str, result: Evaluation, tries_allowed: int,
           now: datetime) -> grading.GradingOutcome:
    run = db.session.get(PublicRun, run_id, populate_existing=True)
    if run is None or run.lease_owner != owner or run.status != "running":
        db.session.rollback()  # the lease ran out and another worker took the run
        return grading.GradingOutcome(run_id, "skipped", detail="lease lost")
    retry_in: float | None = None
    if result.status == "graded":
        run.status, run.error, run.retry_at = "graded", None, None
    else:
        run.status, run.error = "internal_error", result.error
        if run.tries < tries_allowed:
            retry_in = grading.backoff(run.tries)
            run.retry_at = now + timedelta(seconds=retry_in)
        else:
            run.retry_at = None
        log.warning("public run %s: platform error on try %s/%s: %s", run_id, run.tries,
                    tries_allowed, result.error)
    run.finished_at = now
    run.lease_owner = None
    run.lease_expires_at = None
    if result.status == "graded" or retry_in is None:
        run.evaluation = result.as_dict()
    db.session.commit()
    return grading.GradingOutcome(run_id, run.status, retry_in, result.error or "")


@dataclass(frozen=True)
class PublicRecovery:
    requeued: tuple[int, ...]
    stale: tuple[int, ...]
    given_up: tuple[int, ...]


def recover_public_runs(queue: PublicQueue, *, now: datetime, tries_allowed: int,
                        previous: Previous | None = None) -> PublicRecovery:
    """A public run left by a dead worker is run again, or fails saying so; none is lost."""
    stale: list[int] = []
    given_up: list[int] = []
    for run in db.session.scalars(select(PublicRun).where(PublicRun.status == "running")):
        expired = run.lease_expires_at is None or run.lease_expires_at < now
        if not (expired or _owner_dead(run.lease_owner, previous)):
            continue
        run.lease_owner = None
        run.lease_expires_at = None
        if run.tries >= tries_allowed:
            run.status, run.retry_at, run.finished_at = "internal_error", None, now
            run.error = (f"the run was interrupted {run.tries} times (worker stopped or "
                         "timed out); gave up")
            given_up.append(run.id)
        else:
            run.status = "queued"
            stale.append(run.id)
    db.session.commit()

    waiting = queue.waiting_public_run_ids()
    grace = now - timedelta(seconds=QUEUED_GRACE_SECONDS)
    due = db.session.scalars(select(PublicRun).where(
        ((PublicRun.status == "queued") & (PublicRun.created_at < grace))
        | PublicRun.id.in_(stale)
        | ((PublicRun.status == "internal_error") & PublicRun.retry_at.is_not(None)
           & (PublicRun.retry_at < now))))
    requeued = [run.id for run in due if run.id not in waiting]
    for run_id in requeued:
        queue.enqueue_public_run(run_id)
    if stale or given_up or requeued:
        log.warning("public runs recovery: stale %s, given up %s, re-queued %s", stale,
                    given_up, requeued)
    return PublicRecovery(tuple(requeued), tuple(stale), tuple(given_up))


# --- what the candidate reads --------------------------------------------------------

@dataclass(frozen=True)
class CheckView:
    name: str
    passed: bool
    score: float
    max_score: float
    detail: str
    explanation: str


@dataclass(frozen=True)
class Problem:
    """Why a run failed, in plain words, and what to try."""

    title: str
    detail: str
    advice: str


@dataclass(frozen=True)
class PublicRunView:
    id: int
    status: str
    label: str
    final: bool
    message: str
    created_at: str
    elapsed_seconds: int | None
    passed: int
    total: int
    checks: tuple[CheckView, ...]
    problems: tuple[Problem, ...]
    stdout: str
    stderr: str
    ran: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "label": self.label, "final": self.final,
                "message": self.message, "elapsed_seconds": self.elapsed_seconds}


def explanation(name: str, kind: str) -> str:
    """The registry's one-line explanation of a check (``tests: ties`` is a ``tests`` check).

    The registry words them for hidden grading; a public run used the public data or
    cases, and telling the candidate otherwise would mislead them about what ran.
    """
    for candidate in (name, name.split(":", 1)[0].strip()):
        try:
            return _public_wording(get_check(candidate).explanation)
        except UnknownName:
            continue
    by_kind = {"metric": METRIC, "run": RUN}.get(kind)
    return _public_wording(by_kind.explanation) if by_kind is not None else ""


def _public_wording(text: str) -> str:
    return text.replace("hidden", "public")


def problems(evaluation: Evaluation) -> tuple[Problem, ...]:
    """Plain-language reasons a graded public run fell short, each with what to try."""
    found: list[Problem] = []
    run = evaluation.run
    if run is not None:
        found.extend(_run_problems(run))
    for check in evaluation.checks:
        if check.name == "submission" and not check.passed:
            found.append(Problem("Your files were not run", check.detail,
                                 "Check the file names the challenge accepts and submit "
                                 "the entrypoint."))
        elif check.name == "predictions" and not check.passed and (run is None or _ran_ok(run)):
            found.append(Problem("The output file could not be used", check.detail,
                                 "Write the file the statement names, in its format: one "
                                 "row per id, the columns it asks for, no extra index."))
    return tuple(found)


def _ran_ok(run: RunStats) -> bool:
    return not run.timed_out and not run.oom_killed and run.limit is None \
        and run.exit_code == 0


def _run_problems(run: RunStats) -> list[Problem]:
    if run.timed_out or run.limit == "time":
        return [Problem("Time limit reached",
                        f"The run was stopped after {run.wall_seconds:.0f} s.",
                        "Look for an endless loop or a slow step (row-by-row Python loops, "
                        "a large grid search); try it on a sample of the data first.")]
    if run.oom_killed or run.limit == "memory":
        return [Problem("Out of memory",
                        f"The run was killed at the memory limit (peak {run.peak_memory_mb:.0f}"
                        " MB).",
                        "Load only the columns you need, use smaller dtypes, avoid copies of "
                        "large frames, or process the data in chunks.")]
    if run.limit is not None:
        return [Problem(f"The {run.limit.replace('_', ' ')} limit was reached",
                        "The sandbox stopped the run.",
                        "Write less output and fewer or smaller files; keep processes and "
                        "threads few.")]
    if run.exit_code not in (0, None):
        return [Problem("Your program crashed",
                        f"It exited with code {run.exit_code}"
                        + (f" (signal {run.signal})" if run.signal is not None else "")
                        + "; the traceback is in the error output below.",
                        "Read the last lines of the error output: they name the exception "
                        "and the line of your code that raised it.")]
    return []


def public_run_view(run: PublicRun, *, now: datetime) -> PublicRunView:
    status = run.status
    retrying = status == "internal_error" and run.retry_at is not None
    message = {
        "queued": "Waiting for a worker (submissions go first).",
        "running": "Your code is running the public checks in the sandbox.",
        "graded": "Done.",
        "internal_error": ("A platform problem interrupted the run; it will be retried "
                           "automatically." if retrying else
                           "A platform problem prevented the run. It is not your code's "
                           "fault; run the checks again in a while."),
    }[status]
    elapsed = None
    if status == "running" and run.started_at is not None:
        elapsed = max(0, int((now - run.started_at).total_seconds()))
    checks: tuple[CheckView, ...] = ()
    found: tuple[Problem, ...] = ()
    stdout = stderr = ""
    ran = False
    if status == "graded" and run.evaluation is not None:
        evaluation = Evaluation.from_dict(run.evaluation)
        checks = tuple(CheckView(c.name, c.passed, c.score, c.max_score, c.detail,
                                 explanation(c.name, c.kind)) for c in evaluation.checks)
        found = problems(evaluation)
        if evaluation.run is not None:
            ran = True
            stdout, stderr = evaluation.run.stdout_tail, evaluation.run.stderr_tail
    return PublicRunView(
        id=run.id, status=status, label=STATUS_LABELS[status],
        final=status == "graded" or (status == "internal_error" and not retrying),
        message=message, created_at=run.created_at.isoformat(), elapsed_seconds=elapsed,
        passed=sum(1 for c in checks if c.passed), total=len(checks), checks=checks,
        problems=found, stdout=stdout, stderr=stderr, ran=ran)
