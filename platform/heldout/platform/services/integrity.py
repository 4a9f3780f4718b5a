"""Integrity evidence for hidden-label challenges: a job queued after grading, and what the
report reads of it (hard-coded outputs, copied predictions, the public-vs-final gap).

Evidence only: a signal never changes a score, reads "review suggested" with its reason
and numbers, and is shown to staff alone (never on a candidate's page).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from heldout.graders.bundle import Bundle
from heldout.graders.errors import GraderError, UnknownName
from heldout.graders.kinds.model_training import PREDICTIONS_ARTEFACT
from heldout.graders.kinds.model_training.integrity import (
    Following,
    Overlap,
    error_overlap,
)
from heldout.graders.kinds.model_training.rerun import (
    COMPARED,
    FOLLOW,
    LABELS_KEY,
    NOT_COMPARED,
    ROW_ERRORS,
    ROWS,
    STUCK,
    rerun_perturbed,
)
from heldout.graders.metrics import METRICS
from heldout.graders.result import Evaluation
from heldout.platform.blobs import BundleVersionMissing
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    IntegrityRun,
    Invite,
    PublicRun,
    Submission,
    SubmissionFile,
)
from heldout.platform.services import jobs
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.scoring import (
    GradingStatus,
    PublicFinalGap,
    latest_public_metric,
    public_final_gap,
)

if TYPE_CHECKING:
    from heldout.sandbox.backend import Sandbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeptInput:
    name: str
    sha256: str


class Rerun(Protocol):
    """``rerun_perturbed``, maybe bound to a sandbox."""

    def __call__(self, bundle: Bundle, submission: Path, original: bytes, *,
                 seed: int) -> Evaluation: ...


class IntegrityJob(jobs.LeasedJob[IntegrityRun]):
    """A graded submission run once more on perturbed inputs; after every other job."""

    kind = "check_integrity"
    name = "integrity run"
    # Huey takes higher priorities first: behind submissions and public runs alike.
    priority = -20
    workdir_prefix = "integrity-"
    gave_up = "the integrity run was interrupted {tries} times; gave up"

    @property
    def model(self) -> type[IntegrityRun]:
        return IntegrityRun

    def files(self, row: IntegrityRun) -> Iterable[SubmissionFile]:
        return row.submission.files

    def inputs(self, row: IntegrityRun) -> Iterable[KeptInput]:
        """The graded run's predictions, as grading kept them."""
        evaluation = row.submission.evaluation
        for entry in (evaluation.artefacts if evaluation is not None else []) or []:
            if (isinstance(entry, dict) and entry.get("name") == PREDICTIONS_ARTEFACT
                    and isinstance(entry.get("sha256"), str)):
                return (KeptInput(PREDICTIONS_ARTEFACT, entry["sha256"]),)
        return ()

    def with_sandbox(self, sandbox: Sandbox) -> IntegrityJob:
        return self.using(partial(rerun_perturbed, sandbox=sandbox))

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        kept = directory.parent / jobs.INPUTS_DIR / PREDICTIONS_ARTEFACT
        if not kept.is_file():
            return Evaluation.internal_error(bundle.slug, bundle.version,
                                             "the graded predictions were not kept")
        original = kept.read_bytes()
        # The same submission is always perturbed the same way: a re-run reproduces it.
        seed = int.from_bytes(hashlib.sha256(original).digest()[:4], "big")
        rerun: Rerun = self.evaluator or rerun_perturbed
        return rerun(bundle, directory, original, seed=seed)

    def record(self, row: IntegrityRun, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        row.result = result.as_dict()
        key, mask = result.artefacts.get(LABELS_KEY), result.artefacts.get(ROW_ERRORS)
        row.labels_key = key.decode() if key is not None else None
        row.row_errors = mask.decode() if mask is not None else None


INTEGRITY_RUNS = IntegrityJob()


def queue_integrity_run(submission: Submission, kept: Sequence[dict[str, Any]]) -> None:
    """Add (or re-arm) the submission's integrity run when its grading kept predictions;
    in the grading's own transaction, so a committed grade never loses its follow-up."""
    if not any(entry.get("name") == PREDICTIONS_ARTEFACT and entry.get("sha256")
               for entry in kept):
        return
    row = db.session.scalar(select(IntegrityRun).where(
        IntegrityRun.submission_id == submission.id))
    if row is None:
        row = IntegrityRun(submission=submission, attempt_id=submission.attempt_id,
                           challenge_id=submission.challenge_id,
                           challenge_slug=submission.challenge_slug,
                           challenge_version=submission.challenge_version)
        db.session.add(row)
    row.status, row.tries, row.retry_at, row.error = GradingStatus.QUEUED, 0, None, None
    row.result, row.labels_key, row.row_errors = None, None, None


def queued_for(submission: Submission) -> tuple[tuple[str, int], ...]:
    """The submission's integrity run, if queued: to put on the queue once committed."""
    row_id = db.session.scalar(select(IntegrityRun.id).where(
        IntegrityRun.submission_id == submission.id,
        IntegrityRun.status == GradingStatus.QUEUED))
    return ((INTEGRITY_RUNS.kind, row_id),) if row_id is not None else ()


# --- what the report shows -----------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One piece of evidence worth a reviewer's look: what, why, and the numbers."""

    title: str
    reason: str


@dataclass(frozen=True)
class IntegrityView:
    """A challenge's integrity lines in one candidate's report."""

    state: str  # "checked", "waiting", "failed" or "not checked: <why>"
    signals: tuple[Signal, ...]
    following: str | None  # the hard-coded-output comparison, explained
    gap: PublicFinalGap | None

    @property
    def review_suggested(self) -> bool:
        return bool(self.signals)


class ReportedResult(Protocol):
    @property
    def counted(self) -> Submission | None: ...


def integrity_views(attempt: Attempt, results: Iterable[ReportedResult]
                    ) -> dict[int, IntegrityView]:
    """Integrity lines of each counted model_training submission, by challenge id."""
    views: dict[int, IntegrityView] = {}
    for result in results:
        counted = result.counted
        if counted is None or counted.evaluation is None:
            continue
        row = db.session.scalar(select(IntegrityRun).where(
            IntegrityRun.submission_id == counted.id))
        gap = _gap(attempt, counted)
        if row is None and gap is None:
            continue
        views[counted.challenge_id] = _view(attempt, row, gap)
    return views


def _view(attempt: Attempt, row: IntegrityRun | None, gap: PublicFinalGap | None
          ) -> IntegrityView:
    if row is None:
        return IntegrityView("not checked: its grading kept no predictions to compare", (),
                             None, gap)
    if row.status != GradingStatus.GRADED or row.result is None:
        state = "failed" if row.status == GradingStatus.INTERNAL_ERROR and \
            row.retry_at is None else "waiting"
        return IntegrityView(state, (), None, gap)
    evaluation = Evaluation.from_dict(row.result)
    signals: list[Signal] = []
    explained: str | None = None
    skipped = [c.detail for c in evaluation.checks if c.name == NOT_COMPARED]
    if FOLLOW in evaluation.metrics and STUCK in evaluation.metrics:
        compared = Following(evaluation.metrics[FOLLOW], evaluation.metrics[STUCK],
                             int(evaluation.metrics.get(COMPARED, 0)))
        explained = compared.explain()
        if compared.flagged:
            signals.append(Signal("the predictions do not follow the inputs", explained))
    elif skipped:
        explained = f"not compared: {skipped[0]}"
    elif evaluation.run is not None and evaluation.run.exit_code not in (0, None):
        explained = "not compared: the run on perturbed inputs failed"
    for name, overlap in copied_predictions(attempt, row):
        signals.append(Signal(f"errors overlap with {name}'s beyond chance", overlap.explain()))
    return IntegrityView("checked", tuple(signals), explained, gap)


def copied_predictions(attempt: Attempt, row: IntegrityRun
                       ) -> list[tuple[str, Overlap]]:
    """Other candidates of the same assessment, graded on the same labels, whose wrong
    rows overlap this submission's far beyond chance (the strongest of their runs)."""
    if row.labels_key is None or row.row_errors is None:
        return []
    mine = int(row.row_errors, 16)
    rows = int(Evaluation.from_dict(row.result).metrics.get(ROWS, 0)) if row.result else 0
    if rows <= 0:
        return []
    others = db.session.execute(
        select(IntegrityRun.row_errors, Invite.candidate_name, IntegrityRun.attempt_id)
        .join(Attempt, Attempt.id == IntegrityRun.attempt_id)
        .join(Invite, Invite.id == Attempt.invite_id)
        .where(IntegrityRun.labels_key == row.labels_key,
               IntegrityRun.attempt_id != attempt.id,
               IntegrityRun.row_errors.is_not(None),
               Invite.assessment_id == attempt.invite.assessment_id))
    best: dict[int, tuple[str, Overlap]] = {}
    for mask, name, other_attempt in others:
        if mask is None:
            continue
        overlap = error_overlap(mine, int(mask, 16), rows)
        if overlap.flagged and (other_attempt not in best
                                or overlap.z > best[other_attempt][1].z):
            best[other_attempt] = (name, overlap)
    return sorted(best.values(), key=lambda pair: -pair[1].z)


def _gap(attempt: Attempt, counted: Submission) -> PublicFinalGap | None:
    """The metric of the candidate's latest graded public run beside the counted one's."""
    try:
        grading: Any = get_bundles().at_version(counted.challenge_slug,
                                               counted.challenge_version).grading
        metric = METRICS.get(str(getattr(grading, "metric", "")))
    except (BundleVersionMissing, GraderError, UnknownName):
        return None
    if getattr(grading, "public_fraction", 0) <= 0 or counted.evaluation is None:
        return None
    runs = db.session.scalars(select(PublicRun).where(
        PublicRun.attempt_id == attempt.id, PublicRun.challenge_id == counted.challenge_id,
        PublicRun.status == GradingStatus.GRADED).order_by(PublicRun.id))
    public = latest_public_metric([run.evaluation or {} for run in runs], metric.name)
    final = counted.evaluation.metrics.get(metric.name)
    return public_final_gap(metric.name, public, final if isinstance(final, int | float)
                            else None, higher_is_better=metric.higher_is_better)
