"""Similarity across candidates: the leased job comparing a graded submission's code with
other candidates' of its challenge version, and what the team's staff read of it.

The job goes through the one pipeline of ``jobs`` like a grading: its files are the
submission's, its "evaluation" fingerprints them with the graders' detector (no sandbox:
nothing runs) and its record compares those fingerprints with every other candidate's of
the same version and hiring team, storing each pair that shares enough. A pair is
evidence for review, never a score: it changes no evaluation. Candidates never see any of
it; staff see a pair only when both sides' assessments are theirs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from heldout.graders.bundle import Bundle
from heldout.graders.result import Evaluation
from heldout.graders.similarity import (
    THRESHOLD,
    WINDOW,
    ChallengeDetector,
    Fragment,
    K,
    fragments,
    score_pair,
    submission_files,
)
from heldout.platform.blobs import BlobStore, BundleVersionMissing
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Invite,
    SimilarityCheck,
    SimilarityPair,
    Submission,
    SubmissionFile,
)
from heldout.platform.services import access, jobs
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.scoring import GradingStatus

# Names the detector and its settings: fingerprints of another detector are not compared.
DETECTOR = f"tokens-k{K}-w{WINDOW}"
# Pairs sharing less than this are not stored (the pages rank what is stored).
KEEP_FROM = 0.2
FINGERPRINTS = "fingerprints.json"
# The staff page lists at most this many pairs (the most similar): a challenge everyone
# copied would otherwise list every two candidates.
MAX_PAIRS_SHOWN = 300
__all__ = [
    "KEEP_FROM",
    "SIMILARITY",
    "THRESHOLD",
    "assessment_pairs",
    "pair_view",
    "queue_check",
    "queued_for",
    "report_lines",
]


_DETECTORS: dict[tuple[str, str], ChallengeDetector] = {}


def detector_for(bundle: Bundle) -> ChallengeDetector:
    """The detector of a bundle version (its own code fingerprinted once per process)."""
    key = (bundle.slug, bundle.version)
    found = _DETECTORS.get(key)
    if found is None:
        found = _DETECTORS[key] = ChallengeDetector.for_bundle(bundle)
    return found


class SimilarityJob(jobs.LeasedJob[SimilarityCheck]):
    """A graded submission's similarity check: fingerprint it, compare, store the pairs."""

    kind = "compare_similarity"
    name = "similarity check"
    # After every waiting submission and public run: nobody waits on it.
    priority = -20
    workdir_prefix = "similarity-"
    gave_up = "the similarity check was interrupted {tries} times; gave up"

    @property
    def model(self) -> type[SimilarityCheck]:
        return SimilarityCheck

    def files(self, row: SimilarityCheck) -> Iterable[SubmissionFile]:
        return row.submission.files

    def evaluate(self, bundle: Bundle, directory: Path,
                 request: dict[str, Any] | None = None) -> Evaluation:
        prints = detector_for(bundle).fingerprint(submission_files(bundle, directory))
        # No points: the result carries the fingerprints alone, for ``record``.
        return Evaluation(bundle.slug, bundle.version, "graded", score=0.0, max_score=0.0,
                          artefacts={FINGERPRINTS: json.dumps(sorted(prints.hashes)).encode()})

    def keep(self, job_id: int, result: Evaluation, blobs: BlobStore
             ) -> tuple[Evaluation, list[dict[str, Any]]]:
        if result.status != "graded":
            return result, []
        return result, [{"hashes": json.loads(result.artefacts[FINGERPRINTS])}]

    def record(self, row: SimilarityCheck, result: Evaluation, now: datetime,
               kept: list[dict[str, Any]]) -> None:
        if result.status != "graded":
            return
        row.detector = DETECTOR
        row.fingerprints = [int(h) for h in kept[0]["hashes"]] if kept else []
        compare_with_others(row, now)


SIMILARITY = SimilarityJob()


def queue_check(submission: Submission, now: datetime) -> None:
    """A check for a submission just graded (the caller commits, then enqueues it)."""
    if db.session.scalar(select(SimilarityCheck.id)
                         .where(SimilarityCheck.submission_id == submission.id)) is None:
        db.session.add(SimilarityCheck(
            submission=submission, attempt_id=submission.attempt_id,
            challenge_id=submission.challenge_id, challenge_slug=submission.challenge_slug,
            challenge_version=submission.challenge_version, status=GradingStatus.QUEUED,
            created_at=now))


def queued_for(submission: Submission) -> tuple[tuple[str, int], ...]:
    """The submission's similarity check, if queued: to put on the queue once committed."""
    return tuple((SIMILARITY.kind, check_id) for check_id in db.session.scalars(
        select(SimilarityCheck.id).where(SimilarityCheck.submission_id == submission.id,
                                         SimilarityCheck.status == GradingStatus.QUEUED)))


def compare_with_others(check: SimilarityCheck, now: datetime) -> list[SimilarityPair]:
    """Pair ``check`` with the latest checked submission of every other attempt of the
    same challenge version and hiring team; store the pairs sharing ``KEEP_FROM`` or more."""
    assessment = check.attempt.invite.assessment
    others = db.session.scalars(
        select(SimilarityCheck)
        .join(Attempt, SimilarityCheck.attempt_id == Attempt.id)
        .join(Invite, Attempt.invite_id == Invite.id)
        .join(Assessment, Invite.assessment_id == Assessment.id)
        .where(SimilarityCheck.challenge_version == check.challenge_version,
               SimilarityCheck.status == GradingStatus.GRADED,
               SimilarityCheck.detector == DETECTOR,
               SimilarityCheck.attempt_id != check.attempt_id,
               access.same_team(assessment))
        .order_by(SimilarityCheck.submission_id))
    latest = {other.attempt_id: other for other in others}
    mine = frozenset(check.fingerprints or [])
    stored = []
    for other in latest.values():
        theirs = frozenset(other.fingerprints or [])
        first, second = sorted((check, other), key=lambda c: c.submission_id)
        a, b = (mine, theirs) if first is check else (theirs, mine)
        pair = score_pair(0, 1, len(a & b), len(a), len(b))
        if pair.score < KEEP_FROM:
            continue
        row = db.session.scalar(select(SimilarityPair).where(
            SimilarityPair.submission_a_id == first.submission_id,
            SimilarityPair.submission_b_id == second.submission_id)) or SimilarityPair(
            submission_a_id=first.submission_id, submission_b_id=second.submission_id)
        row.challenge_version = check.challenge_version
        row.score, row.share_a, row.share_b = pair.score, pair.share_a, pair.share_b
        row.flagged, row.created_at = pair.flagged, now
        db.session.add(row)
        stored.append(row)
    return stored


# --- what staff read -----------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One candidate of a pair: their submission, and how much of its code the other has."""

    submission_id: int
    attempt_id: int
    candidate: str
    assessment: str
    share: float  # of this side's code, the share found in the other's


@dataclass(frozen=True)
class PairRow:
    id: int
    score: float
    flagged: bool
    a: Side
    b: Side


@dataclass(frozen=True)
class VersionPairs:
    """The stored pairs of one challenge version, most similar first."""

    title: str
    version: str
    pairs: tuple[PairRow, ...]


@dataclass(frozen=True)
class SimilarityPage:
    assessment: Assessment
    versions: tuple[VersionPairs, ...]
    checked: int  # submissions of the assessment compared so far
    waiting: int  # and still to compare
    capped: bool = False  # only the MAX_PAIRS_SHOWN most similar pairs are listed

    @property
    def flagged(self) -> int:
        return sum(p.flagged for v in self.versions for p in v.pairs)


def _side(submission: Submission, share: float) -> Side:
    invite = submission.attempt.invite
    return Side(submission.id, submission.attempt_id, invite.candidate_name,
                invite.assessment.name, share)


def _visible(viewer: StaffViewer | None, pair: SimilarityPair) -> bool:
    if viewer is None:
        return True
    return all(access.can_see(viewer, s.attempt.invite.assessment)
               for s in (pair.submission_a, pair.submission_b))


def _row(pair: SimilarityPair) -> PairRow:
    return PairRow(pair.id, pair.score, pair.flagged, _side(pair.submission_a, pair.share_a),
                   _side(pair.submission_b, pair.share_b))


def _assessment_submissions(assessment_id: int) -> Select[int]:
    """The ids of an assessment's submissions, as a query (thousands of them are never
    read into Python only to be sent back as parameters)."""
    return (select(Submission.id).join(Attempt, Submission.attempt_id == Attempt.id)
            .join(Invite, Attempt.invite_id == Invite.id)
            .where(Invite.assessment_id == assessment_id))


def _pairs_of(submission_ids: Sequence[int] | Select[int], limit: int | None = None
              ) -> Sequence[SimilarityPair]:
    """The stored pairs touching ``submission_ids`` (ids, or a query of them), most similar
    first, both sides' rows (submission, attempt, invite, assessment) loaded with them."""
    if isinstance(submission_ids, Sequence) and not submission_ids:
        return []
    sides = [selectinload(side).selectinload(Submission.attempt).selectinload(Attempt.invite)
             .selectinload(Invite.assessment)
             for side in (SimilarityPair.submission_a, SimilarityPair.submission_b)]
    query = (select(SimilarityPair)
             .where(or_(SimilarityPair.submission_a_id.in_(submission_ids),
                        SimilarityPair.submission_b_id.in_(submission_ids)))
             .options(*sides)
             .order_by(SimilarityPair.score.desc(), SimilarityPair.id))
    return db.session.scalars(query if limit is None else query.limit(limit)).all()


def assessment_pairs(assessment_id: int, viewer: StaffViewer | None) -> SimilarityPage:
    """The pairs touching an assessment's submissions, by challenge version, ranked."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"No assessment {assessment_id}")
    if viewer is not None:
        access.require_assessment_access(viewer, assessment)
    ids = _assessment_submissions(assessment_id)
    by_version: dict[str, list[PairRow]] = {}
    titles: dict[str, str] = {}
    seen: set[frozenset[int]] = set()
    found = _pairs_of(ids, limit=MAX_PAIRS_SHOWN + 1)
    for pair in found[:MAX_PAIRS_SHOWN]:
        # One row per two candidates: their best-matching submissions (ranked first).
        attempts = frozenset((pair.submission_a.attempt_id, pair.submission_b.attempt_id))
        if attempts in seen or not _visible(viewer, pair):
            continue
        seen.add(attempts)
        by_version.setdefault(pair.challenge_version, []).append(_row(pair))
        titles[pair.challenge_version] = pair.submission_a.challenge.title
    checks = Counter[str]({str(status): count for status, count in db.session.execute(
        select(SimilarityCheck.status, func.count())
        .where(SimilarityCheck.submission_id.in_(ids)).group_by(SimilarityCheck.status))})
    return SimilarityPage(
        assessment,
        tuple(VersionPairs(titles[v], v, tuple(rows)) for v, rows in
              sorted(by_version.items(), key=lambda item: (titles[item[0]], item[0]))),
        checked=checks[GradingStatus.GRADED.value],
        waiting=checks[GradingStatus.QUEUED.value] + checks[GradingStatus.RUNNING.value],
        capped=len(found) > MAX_PAIRS_SHOWN)


@dataclass(frozen=True)
class PairView:
    """A pair with its matching fragments side by side."""

    pair: PairRow
    title: str
    version: str
    fragments: tuple[Fragment, ...]
    problem: str = ""  # why the fragments can't be shown (the bundle version is gone)


def _files(submission: Submission, blobs: BlobStore) -> dict[str, bytes]:
    return {f.name: blobs.get(f.sha256) for f in submission.files}


def pair_view(pair_id: int, viewer: StaffViewer | None, blobs: BlobStore) -> PairView:
    """One pair's matching fragments, recomputed from both submissions' stored files."""
    pair = db.session.get(SimilarityPair, pair_id)
    if pair is None or not _visible(viewer, pair):
        raise NotFound(f"No similarity pair {pair_id}")
    a, b = pair.submission_a, pair.submission_b
    try:
        bundle = get_bundles().at_version(a.challenge_slug, a.challenge_version)
    except BundleVersionMissing as exc:
        return PairView(_row(pair), a.challenge.title, pair.challenge_version, (), str(exc))
    detector = detector_for(bundle)
    found = fragments(detector.fingerprint(_files(a, blobs)),
                      detector.fingerprint(_files(b, blobs)))
    return PairView(_row(pair), a.challenge.title, pair.challenge_version, tuple(found))


@dataclass(frozen=True)
class ReportLine:
    """"Review suggested: 87 % of this code matches candidate X's", with the evidence."""

    pair_id: int
    percent: int
    other: str
    other_assessment: str
    submission_id: int  # this candidate's side of the pair


def report_lines(attempt: Attempt, viewer: StaffViewer | None) -> dict[int, tuple[ReportLine, ...]]:
    """By challenge id: the flagged pairs of this attempt's submissions, one per other
    candidate (their best match), as the report shows them."""
    mine = {s.id: s for s in attempt.submissions}
    lines: dict[int, dict[int, ReportLine]] = {}
    for pair in _pairs_of(list(mine)):
        if not pair.flagged or not _visible(viewer, pair):
            continue
        ours_is_a = pair.submission_a_id in mine
        ours, theirs = (pair.submission_a, pair.submission_b) if ours_is_a else \
            (pair.submission_b, pair.submission_a)
        if theirs.attempt_id == attempt.id:
            continue
        share = pair.share_a if ours_is_a else pair.share_b
        line = ReportLine(pair.id, round(share * 100), theirs.attempt.invite.candidate_name,
                          theirs.attempt.invite.assessment.name, ours.id)
        found = lines.setdefault(ours.challenge_id, {})
        if theirs.attempt_id not in found or found[theirs.attempt_id].percent < line.percent:
            found[theirs.attempt_id] = line
    return {challenge: tuple(sorted(by_other.values(), key=lambda line: -line.percent))
            for challenge, by_other in lines.items()}
