"""Public checks while working: store a run of the candidate's code, run it, explain it.

A public run is never a submission: it has its own table, it is graded by the bundle's
public checks alone (``evaluate(split="public")``: public data or cases, nothing from
``hidden/`` mounted), and the worker takes it only after every waiting submission.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from flask_babel import gettext
from sqlalchemy import func, select

from heldout.graders.bundle import Bundle
from heldout.graders.checks import explain
from heldout.graders.console import read_console
from heldout.graders.console_input import ConsoleInputError, ConsoleRequest, parse_request
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.kinds.notebook.config import EXECUTED_ARTEFACT
from heldout.graders.kinds.notebook.render import cell_outputs as notebook_cell_outputs
from heldout.graders.kinds.sql import SHAPES_ARTEFACT
from heldout.graders.result import Evaluation, Split
from heldout.platform.blobs import BlobMissing, BlobStore
from heldout.platform.errors import InvalidInput, PublicRunsUsedUp, TooManySubmissions
from heldout.platform.extensions import db
from heldout.platform.i18n import N_
from heldout.platform.models import Attempt, Challenge, PublicRun, utcnow
from heldout.platform.remote_files import FilesUnavailable
from heldout.platform.services import jobs
from heldout.platform.services.attempts import assessment_challenge, hold_attempt, open_attempt
from heldout.platform.services.catalogue import BundleCatalogue
from heldout.platform.services.grading import keep_artefacts
from heldout.platform.services.grids import QueryRows, query_rows
from heldout.platform.services.scoring import (
    PENDING,
    GradingStatus,
    Reason,
    grading_pending,
    public_run_spent,
    public_runs_left,
    shortfalls,
)
from heldout.platform.services.submissions import STATUS_LABELS, SubmittedFile, check_files

log = logging.getLogger(__name__)

# One at a time per attempt: the checks take seconds, and a queue of a candidate's own
# stale runs would only delay the answer they are waiting for.
MAX_PENDING_PUBLIC_RUNS = 1


class PublicEvaluate(Protocol):
    """The graders' ``evaluate``; the service always calls it with ``split="public"``, and
    with ``console`` for a run of the run console."""

    def __call__(self, bundle: Bundle, submission: Path, *, split: Split) -> Evaluation: ...


class ConsoleEvaluate(Protocol):
    def __call__(self, bundle: Bundle, submission: Path, *, split: Split,
                 console: ConsoleRequest) -> Evaluation: ...


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int


class RunRecord(Protocol):
    """What a run's files and the candidate's view of it read: a public run's row, or a
    practice run's (``services/practice.py``)."""

    @property
    def id(self) -> int: ...

    @property
    def status(self) -> GradingStatus: ...

    @property
    def retry_at(self) -> datetime | None: ...

    @property
    def started_at(self) -> datetime | None: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def files(self) -> list[Any]: ...

    @property
    def evaluation(self) -> dict[str, Any] | None: ...

    @property
    def output(self) -> dict[str, Any] | None: ...


def store_files(files: Sequence[SubmittedFile], blobs: BlobStore) -> list[dict[str, Any]]:
    """Put checked files in the blob store: a run's ``files`` column (name, sha256, size)."""
    return [{"name": f.name, "sha256": blobs.put(f.data), "size": len(f.data)} for f in files]


def stored_files(run: RunRecord) -> list[StoredFile]:
    return [StoredFile(str(f["name"]), str(f["sha256"]), int(f["size"])) for f in run.files]


def pending_public_runs(attempt: Attempt) -> int:
    """Public runs of the attempt waiting or running, checks and console alike."""
    return int(db.session.scalar(
        select(func.count()).select_from(PublicRun)
        .where(PublicRun.attempt_id == attempt.id,
               PublicRun.status.in_(PENDING))) or 0)


@dataclass(frozen=True)
class PublicBudget:
    """An attempt's public-check runs of one challenge: the bundle's budget and its use."""

    budget: int | None  # None: no budget
    spent: int

    @property
    def left(self) -> int | None:
        return public_runs_left(self.budget, self.spent)


def public_budget(attempt: Attempt, challenge: Challenge, bundle: Bundle) -> PublicBudget:
    spent = int(db.session.scalar(
        select(func.count()).select_from(PublicRun)
        .where(PublicRun.attempt_id == attempt.id, PublicRun.challenge_id == challenge.id,
               public_run_spent())) or 0)
    return PublicBudget(bundle.grading.public_run_budget, spent)


def request_public_run(*, attempt_public_id: str, challenge_slug: str,
                       files: Sequence[SubmittedFile], blobs: BlobStore, queue: jobs.Queue,
                       bundles: BundleCatalogue, now: datetime,
                       pasted_code: str | None = None,
                       console: Mapping[str, str] | None = None) -> PublicRun:
    """Store the files (checked as a submission's are) and the queued run, then enqueue it.

from heldout.platform.errors import InvalidInput, PublicRunsUsedUp, TooManySubmissions
    """
    attempt = open_attempt(attempt_public_id, now=now)
    challenge = assessment_challenge(attempt, challenge_slug)
    bundle = bundles.for_challenge(challenge)
    request: ConsoleRequest | None = None
    if console is not None:
        try:
            request = parse_request(bundle.kind, console)
        except ConsoleInputError as exc:
            raise InvalidInput(str(exc), hint="Nothing was run; change the input and run "
                               "it again.") from None
    hold_attempt(attempt)  # until the commit: concurrent requests count one another
    if pending_public_runs(attempt) >= MAX_PENDING_PUBLIC_RUNS:
        db.session.rollback()  # lets the others go
        # The earliest the run in the way can be over: its own time limit.
        raise TooManySubmissions(
            gettext("Your previous run (public checks or console) has not finished yet."),
            hint=gettext("Wait for its results below, then run again; your code is still "
                         "in the editor."), retry_after=max(1, int(bundle.limits.wall_seconds)))
    budget = public_budget(attempt, challenge, bundle)
    if request is None and budget.left == 0:
        db.session.rollback()
        raise PublicRunsUsedUp(
            gettext("This challenge allows %(budget)s public check runs per attempt, and all "
                    "of them are used.", budget=budget.budget),
            hint=gettext("Your code is still in the editor; you can still submit it to be "
                         "graded (the final score uses other rows than the public checks)."))
    if not files and pasted_code is not None:
        files = [SubmittedFile(bundle.submission.entrypoint, pasted_code.encode("utf-8"))]
    checked = check_files(bundle.submission, files)
    run = PublicRun(attempt=attempt, challenge=challenge, challenge_slug=challenge.slug,
                    challenge_version=bundle.version, status=GradingStatus.QUEUED, created_at=now,
                    files=store_files(checked, blobs),
                    console=None if request is None else request.as_dict())
    db.session.add(run)
    db.session.commit()
    jobs.enqueue_committed(queue, PUBLIC_RUNS.kind, run.id)
    return run


def attempt_public_run(attempt: Attempt, run_id: int) -> PublicRun | None:
    """A public run of this attempt only (another attempt's id is simply not found)."""
    run = db.session.get(PublicRun, run_id)
    return run if run is not None and run.attempt_id == attempt.id else None


def latest_public_run(attempt: Attempt, challenge_id: int, *,
                      console: bool = False) -> PublicRun | None:
    """The attempt's latest run of the public checks (``console``: of the run console)."""
    mode = PublicRun.console.is_not(None) if console else PublicRun.console.is_(None)
    return db.session.scalars(
        select(PublicRun).where(PublicRun.attempt_id == attempt.id,
                                PublicRun.challenge_id == challenge_id, mode)
        .order_by(PublicRun.id.desc()).limit(1)).first()


class PublicRunJob(jobs.LeasedJob[PublicRun]):
    """A public run: the bundle's public checks only, after every waiting submission."""

    kind = "run_public_checks"
    name = "public run"
    # Huey takes higher priorities first: a public run waits behind every queued submission.
    priority = -10
    workdir_prefix = "public-"
    gave_up = "the run was interrupted {tries} times (worker stopped or timed out); gave up"

    @property
    def model(self) -> type[PublicRun]:
        return PublicRun

    def files(self, row: PublicRun) -> list[StoredFile]:
        return stored_files(row)

    def request(self, row: PublicRun) -> dict[str, Any] | None:
        return row.console

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        if request is not None:
            console: ConsoleEvaluate = self.evaluator or graders_evaluate
            result = console(bundle, directory, split="public",
                             console=ConsoleRequest.from_dict(request))
        else:
            evaluate: PublicEvaluate = self.evaluator or graders_evaluate
            result = evaluate(bundle, directory, split="public")
        if result.split != "public":
            # Whatever the evaluator, hidden checks' details (they quote expected values)
            # must never reach the candidate's page.
            return Evaluation.internal_error(bundle.slug, bundle.version,
                                             "the evaluator did not run the public checks")
        return result

    def keep(self, job_id: int, result: Evaluation, blobs: BlobStore
             ) -> tuple[Evaluation, list[dict[str, Any]]]:
        """A notebook's executed copy, for its outputs beside the cells in the workspace."""
        executed = {name: data for name, data in result.artefacts.items()
                    if name == EXECUTED_ARTEFACT}
        if result.status != "graded" or not executed:
            return result, []
        try:
            return result, keep_artefacts(executed, blobs)
        except FilesUnavailable as exc:  # the checks' results stand; the outputs are missing
            log.warning("public run %s: artefacts not sent back: %s", job_id, exc)
            return result, []

    def record(self, row: PublicRun, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        row.evaluation = {**result.as_dict(), "artefacts": kept} if kept else result.as_dict()
        row.output = shown_beside(result)


PUBLIC_RUNS = PublicRunJob()


def shown_beside(result: Evaluation) -> dict[str, Any] | None:
    """What a finished public run shows beyond checks and output, from its artefacts: the
    console's answer, or a sql run's own rows per query (a malformed one is left out)."""
    try:
        console = read_console(result.artefacts)
        if console is not None:
            return {"console": console}
        shapes = result.artefacts.get(SHAPES_ARTEFACT)
        if shapes is not None:
            queries = json.loads(shapes)
            return {"queries": queries} if isinstance(queries, list) else None
    except ValueError:
        log.warning("public run of %s: unreadable artefact left out", result.challenge)
    return None


def run_public_checks(run_id: int, settings: jobs.GradingSettings, *,
                      evaluate: PublicEvaluate | None = None,
                      clock: Callable[[], datetime] = utcnow) -> jobs.JobOutcome:
    """Run one public run if nobody else holds it, under a lease like a submission's grading."""
    return jobs.run(PublicRunJob(evaluate), run_id, settings, clock=clock)


def cell_outputs(run: PublicRun | None, blobs: BlobStore) -> dict[str, str]:
    """The outputs of each cell of the notebook the run executed, as sanitised HTML keyed
    by cell id (none for other kinds, or when the executed notebook was not kept)."""
    if run is None or run.status != "graded" or not run.evaluation:
        return {}
    for item in run.evaluation.get("artefacts") or []:
        if isinstance(item, dict) and item.get("name") == EXECUTED_ARTEFACT and item.get("sha256"):
            try:
                return notebook_cell_outputs(blobs.get(str(item["sha256"])))
            except BlobMissing:
                return {}
    return {}


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
class RunProgress:
    """Where a public run is (of the checks or the console): what the live status sends."""

    id: int
    status: str
    label: str
    final: bool
    message: str
    created_at: str
    elapsed_seconds: int | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "label": self.label, "final": self.final,
                "message": self.message, "elapsed_seconds": self.elapsed_seconds}


def progress(run: RunRecord, *, now: datetime, running: str, label: str,
             failed: str) -> RunProgress:
    """The run's status in words, in the page's language: ``running`` while it runs,
    ``failed`` after a platform problem ended it for good, ``label`` the status's name once
    finished (catalogue messages, N_)."""
    status = run.status
    retrying = status == "internal_error" and run.retry_at is not None
    message = {
        "queued": N_("Waiting for a worker (submissions go first)."),
        "running": running,
        "graded": N_("Done."),
        "internal_error": (N_("A platform problem interrupted the run; it will be retried "
                              "automatically.") if retrying else failed),
    }[status]
    elapsed = None
    if status == "running" and run.started_at is not None:
        elapsed = max(0, int((now - run.started_at).total_seconds()))
    return RunProgress(id=run.id, status=status,
                       label=gettext(label if status == "graded" else STATUS_LABELS[status]),
                       final=not grading_pending(run), message=gettext(message),
                       created_at=run.created_at.isoformat(), elapsed_seconds=elapsed)


@dataclass(frozen=True)
class PublicRunView(RunProgress):
    passed: int
    total: int
    checks: tuple[CheckView, ...]
    problems: tuple[Reason, ...]
    stdout: str
    stderr: str
    ran: bool
    # A sql run's queries: the candidate's first rows beside each expected shape.
    queries: tuple[QueryRows, ...] = ()


def explanation(name: str, kind: str) -> str:
    """The registry's one-line explanation of a check, addressed to the candidate.

    The registry words them for hidden grading; a public run used the public data or
    cases, and telling the candidate otherwise would mislead them about what ran.
    """
    return _public_wording(explain(name, kind, to_candidate=True))


def _public_wording(text: str) -> str:
    return text.replace("hidden", "public")


def problems(evaluation: Evaluation) -> tuple[Reason, ...]:
    """Plain-language reasons a graded public run fell short, each with what to try."""
    return shortfalls(evaluation.run, evaluation.checks, public=True)


def public_run_view(run: RunRecord, *, now: datetime) -> PublicRunView:
    status = run.status
    where = progress(run, now=now,
                     running=N_("Your code is running the public checks in the sandbox."),
                     label=STATUS_LABELS[GradingStatus.GRADED],
                     failed=N_("A platform problem prevented the run. It is not your code's "
                               "fault; run the checks again in a while."))
    checks: tuple[CheckView, ...] = ()
    found: tuple[Reason, ...] = ()
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
        **vars(where),
        passed=sum(1 for c in checks if c.passed), total=len(checks), checks=checks,
        problems=found, stdout=stdout, stderr=stderr, ran=ran,
        queries=query_rows(run.output) if status == "graded" else ())
