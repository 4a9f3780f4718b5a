"""Grading a submission: the leased job that scores it on the bundle's hidden checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from heldout.graders.bundle import Bundle
from heldout.graders.evaluate import evaluate as graders_evaluate
from heldout.graders.result import Evaluation as GradedResult
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import EvaluationRecord, Submission, SubmissionFile, utcnow
from heldout.platform.remote_files import FilesUnavailable
from heldout.platform.services import integrity, jobs, similarity, webhooks

log = logging.getLogger(__name__)

Evaluator = Callable[[Bundle, Path], GradedResult]
# An artefact above this is listed on the evaluation but not kept: candidate code wrote it.
MAX_ARTEFACT_BYTES = 16 * 1024 * 1024
MAX_ARTEFACTS = 20


class SubmissionJob(jobs.LeasedJob[Submission]):
    """A submission's grading: every check of its bundle, artefacts kept for the report."""

    kind = "grade_submission"
    name = "submission"
    gave_up = "grading was interrupted {tries} times (worker stopped or timed out); gave up"

    @property
    def model(self) -> type[Submission]:
        return Submission

    def files(self, row: Submission) -> Iterable[SubmissionFile]:
        return row.files

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> GradedResult:
        return (self.evaluator or graders_evaluate)(bundle, directory)

    def keep(self, job_id: int, result: GradedResult, blobs: BlobStore
             ) -> tuple[GradedResult, list[dict[str, Any]]]:
        if result.status != "graded":
            return result, []
        try:
            return result, keep_artefacts(result.artefacts, blobs)
        except FilesUnavailable as exc:
            # A worker on another host could not send its artefacts back to the web app:
            # a platform error, retried after the usual back-off, not a job left "running"
            # until its lease runs out (and never a score recorded without its artefacts).
            log.error("submission %s: artefacts not sent back: %s", job_id, exc)
            return GradedResult.internal_error(result.challenge, result.version,
                                               f"artefacts could not be stored: {exc}"), []

    def record(self, row: Submission, result: GradedResult, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        evaluation = row.evaluation or EvaluationRecord(submission=row)
        evaluation.status = result.status
        evaluation.challenge_version = result.version
        evaluation.score = result.score
        evaluation.max_score = result.max_score
        evaluation.checks = [check.as_dict() for check in result.checks]
        evaluation.metrics = dict(result.metrics)
        evaluation.run = None if result.run is None else result.run.as_dict()
        evaluation.error = result.error
        evaluation.artefacts = kept
        evaluation.created_at = now
        db.session.add(evaluation)
        if result.status == "graded":
            webhooks.evaluation_graded(row, score=result.score, max_score=result.max_score,
                                       now=now)
            integrity.queue_integrity_run(row, kept)
            similarity.queue_check(row, now)

    def queued_after(self, row: Submission) -> tuple[tuple[str, int], ...]:
        return integrity.queued_for(row) + similarity.queued_for(row)


SUBMISSIONS = SubmissionJob()


def grade_submission(submission_id: int, settings: jobs.GradingSettings, *,
                     evaluate: Evaluator | None = None,
                     clock: Callable[[], datetime] = utcnow) -> jobs.JobOutcome:
    """Grade one submission if nobody else holds it (see ``jobs.run``)."""
    return jobs.run(SubmissionJob(evaluate), submission_id, settings, clock=clock)


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

