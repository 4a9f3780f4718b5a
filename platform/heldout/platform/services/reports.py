"""What interviewers read: the candidates of an assessment and one candidate's report."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from heldout.graders.errors import GraderError
from heldout.graders.variants import cached_variant
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Challenge,
    EvaluationRecord,
    Invite,
    Submission,
)
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.attempts import variants_dir
from heldout.platform.services.catalogue import get_bundles

MAX_SHOWN_FILE_BYTES = 200_000
SHORT_VERSION_CHARS = 12


def short_version(version: str) -> str:
    """The first hex digits of a ``sha256:…`` version, as a commit's short hash."""
    return version.removeprefix("sha256:")[:SHORT_VERSION_CHARS]
PENDING = ("queued", "running")


@dataclass(frozen=True)
class VariantLabel:
    """Which generated data variant a score was graded on: the seed, and the data's digest
    (None when the cache entry is gone; the seed still rebuilds the same data)."""

    seed: int
    digest: str | None

    @property
    def digest_short(self) -> str | None:
        return short_version(self.digest) if self.digest is not None else None


@dataclass(frozen=True)
class ChallengeResult:
    """One challenge of one candidate. The latest graded submission is the one that counts."""

    challenge: Challenge
    history: tuple[Submission, ...]
    counted: Submission | None
    # Set on reports only: the data variant the counted score was graded on.
    variant: VariantLabel | None = None

    @property
    def evaluation(self) -> EvaluationRecord | None:
        return self.counted.evaluation if self.counted is not None else None

    @property
    def graded_version(self) -> str | None:
        """The bundle version the counted score was graded against (``sha256:…``)."""
        evaluation = self.evaluation
        return evaluation.challenge_version if evaluation is not None else None

    @property
    def graded_version_short(self) -> str | None:
        version = self.graded_version
        return short_version(version) if version is not None else None

    @property
    def score(self) -> float | None:
        evaluation = self.evaluation
        return evaluation.score if evaluation is not None else None

    @property
    def pending(self) -> bool:
        """Grading not finished: a newer submission is queued/running or awaiting a retry."""
        if not self.history:
            return False
        latest = self.history[-1]
        return latest.status in PENDING or (latest.status == "internal_error"
                                            and latest.retry_at is not None)

    @property
    def failed(self) -> bool:
        """The latest submission hit a final platform error (needs a re-run, not a zero)."""
        return bool(self.history) and self.history[-1].status == "internal_error" \
            and self.history[-1].retry_at is None

    @property
    def state(self) -> str:
        if not self.history:
            return "not submitted"
        if self.pending:
            return "grading"
        if self.failed:
            return "platform error"
        return "graded"


def _results(attempt: Attempt | None, challenges: list[Challenge]) -> list[ChallengeResult]:
    by_challenge: dict[int, list[Submission]] = {}
    if attempt is not None:
        for submission in attempt.submissions:
            by_challenge.setdefault(submission.challenge_id, []).append(submission)
    results = []
    for challenge in challenges:
        history = by_challenge.get(challenge.id, [])
        graded = [s for s in history if s.status == "graded"]
        results.append(ChallengeResult(challenge, tuple(history), graded[-1] if graded else None))
    return results


def total_score(results: list[ChallengeResult]) -> float | None:
    """Mean of the challenges' scores (not submitted counts 0); None while any is unsettled."""
    if not results or any(r.pending or r.failed for r in results):
        return None
    return sum((r.score or 0.0) for r in results) / len(results)


def invite_state(invite: Invite, now: datetime) -> str:
    if invite.revoked_at is not None and invite.attempt is None:
        return "revoked"
    if invite.finished_at is not None:
        return "finished"
    if invite.attempt is not None:
        return "started" if invite.attempt.deadline > now else "finished"
    if invite.expires_at <= now:
        return "expired"
    return invite.status


@dataclass(frozen=True)
class CandidateRow:
    invite: Invite
    attempt: Attempt | None
    state: str
    results: tuple[ChallengeResult, ...]
    total: float | None


def candidates(assessment_id: int, *, now: datetime) -> tuple[Assessment, list[CandidateRow]]:
    assessment = get_assessment(assessment_id)
    challenges = assessment.challenges
    invites = db.session.scalars(select(Invite).where(Invite.assessment_id == assessment_id)
                                 .order_by(Invite.created_at.desc(), Invite.id.desc()))
    rows = []
    for invite in invites:
        results = _results(invite.attempt, challenges)
        total = total_score(results) if invite.attempt is not None else None
        rows.append(CandidateRow(invite, invite.attempt, invite_state(invite, now),
                                 tuple(results), total))
    return assessment, rows


@dataclass(frozen=True)
class ShownFile:
    name: str
    size: int
    text: str | None
    note: str = ""


@dataclass(frozen=True)
class CandidateReport:
    attempt: Attempt
    invite: Invite
    assessment: Assessment
    results: tuple[ChallengeResult, ...]
    total: float | None
    time_used: timedelta
    code: dict[int, tuple[ShownFile, ...]]


def _shown_files(submission: Submission, blobs: BlobStore) -> tuple[ShownFile, ...]:
    shown = []
    for item in submission.files:
        if item.size > MAX_SHOWN_FILE_BYTES:
            shown.append(ShownFile(item.name, item.size, None, "too large to show here"))
            continue
        try:
            data = blobs.get(item.sha256)
        except BlobMissing as exc:
            shown.append(ShownFile(item.name, item.size, None, str(exc)))
            continue
        try:
            shown.append(ShownFile(item.name, item.size, data.decode("utf-8")))
        except UnicodeDecodeError:
            shown.append(ShownFile(item.name, item.size, None, "binary file"))
    return tuple(shown)


def _variant_label(attempt: Attempt, result: ChallengeResult) -> VariantLabel | None:
    """The variant the counted submission was graded on, if its bundle version has any."""
    version = result.graded_version
    if attempt.variant_seed is None or version is None:
        return None
    try:
        bundle = get_bundles().at_version(result.challenge.slug, version)
    except (BundleVersionMissing, GraderError):
        return None
    if bundle.variants is None:
        return None
    try:
        built = cached_variant(variants_dir(), bundle.slug, version, attempt.variant_seed)
    except GraderError:
        built = None
    return VariantLabel(attempt.variant_seed, built.digest if built is not None else None)


def candidate_report(attempt_id: int, *, blobs: BlobStore, now: datetime) -> CandidateReport:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"No attempt {attempt_id}")
    invite = attempt.invite
    assessment = invite.assessment
    results = [dataclasses.replace(r, variant=_variant_label(attempt, r))
               for r in _results(attempt, assessment.challenges)]
    end = attempt.finished_at or min(now, attempt.deadline)
    code = {r.counted.id: _shown_files(r.counted, blobs) for r in results if r.counted}
    for r in results:
        if r.history and r.history[-1].id not in code:
            code[r.history[-1].id] = _shown_files(r.history[-1], blobs)
    return CandidateReport(attempt, invite, assessment, tuple(results), total_score(results),
                           max(end - attempt.started_at, timedelta(0)), code)
