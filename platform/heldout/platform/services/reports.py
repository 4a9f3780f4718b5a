"""One candidate's report: each challenge's counted score, checks, metrics, charts, code,
drafts and submissions; the total, its percentile rank, the skills profile; and any one
submission of theirs on its own page.

Percentile ranks (``scoring.percentile_rank``): a challenge's score is ranked among the
other candidates *of the same hiring team* graded on the same version of that challenge,
whatever the assessment; the total among the other candidates of the same assessment
graded on exactly the same versions of every challenge. An assessment in no team belongs
to the default team, so its candidates are ranked among the default team's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from heldout.graders.errors import GraderError
from heldout.graders.variants import cached_variant
from heldout.platform.blobs import BlobStore, BundleVersionMissing
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Challenge,
    ChallengeStanding,
    DraftSnapshot,
    EvaluationRecord,
    Invite,
    Submission,
)
from heldout.platform.services import access, charts, clock, standings
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.code_views import CodeView, code_views
from heldout.platform.services.editor_events import EventLine, event_lines
from heldout.platform.services.followups import FollowupView, followup_views
from heldout.platform.services.integrity import IntegrityView, integrity_views
from heldout.platform.services.report_kinds import (
    KindViews,
    PublicActivity,
    public_activity,
    report_kind_views,
)
from heldout.platform.services.reviews import ReviewSummary, review_summaries
from heldout.platform.services.scoring import (
    GradingStatus,
    Standing,
    counted_submission,
    percentile_rank,
    submitted_any,
    total_score,
)

SHORT_VERSION_CHARS = 12
MAX_PLAYBACK_FRAMES = 30


def short_version(version: str) -> str:
    """The first hex digits of a ``sha256:…`` version, as a commit's short hash."""
    return version.removeprefix("sha256:")[:SHORT_VERSION_CHARS]


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
class ChallengeResult(Standing):
    """One challenge of one candidate, with the stored submissions (files, evaluations)."""

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


def challenge_results(attempt: Attempt, challenges: Sequence[Challenge],
                      counting: str) -> list[ChallengeResult]:
    """Each of ``challenges`` for ``attempt``: its submissions and the one that counts."""
    by_challenge: dict[int, list[Submission]] = {}
    for submission in attempt.submissions:
        by_challenge.setdefault(submission.challenge_id, []).append(submission)
    results = []
    for challenge in challenges:
        history = by_challenge.get(challenge.id, [])
        results.append(ChallengeResult(challenge, tuple(history),
                                       counted_submission(history, counting)))
    return results


def _variant_label(attempt: Attempt, result: ChallengeResult) -> VariantLabel | None:
    """The variant the counted submission was graded on, if its bundle version has any."""
    version = result.graded_version
    if attempt.variant_seed is None or version is None:
        return None
    bundles = get_bundles()
    try:
        bundle = bundles.at_version(result.challenge.slug, version)
    except (BundleVersionMissing, GraderError):
        return None
    if bundle.variants is None:
        return None
    try:
        built = cached_variant(bundles.variants_dir, bundle.slug, version, attempt.variant_seed)
    except GraderError:
        built = None
    return VariantLabel(attempt.variant_seed, built.digest if built is not None else None)


def version_scores(assessment: Assessment) -> dict[tuple[int, str], dict[int, float]]:
    """The counted score of every attempt of ``assessment``'s hiring team, per (challenge,
    graded version), for the challenges of ``assessment``: one column query over the
    standings (each attempt's counted submission follows its own assessment's rule,
    latest or best, as ``standings`` stored it when its scores landed)."""
    challenge_ids = [c.id for c in assessment.challenges]
    if not challenge_ids:
        return {}
    rows = db.session.execute(
        select(ChallengeStanding.attempt_id, ChallengeStanding.challenge_id,
               ChallengeStanding.version, ChallengeStanding.score)
        .join(Attempt, Attempt.id == ChallengeStanding.attempt_id)
        .join(Invite, Invite.id == Attempt.invite_id)
        .join(Assessment, Assessment.id == Invite.assessment_id)
        .where(ChallengeStanding.challenge_id.in_(challenge_ids), access.same_team(assessment)))
    scores: dict[tuple[int, str], dict[int, float]] = {}
    for attempt_id, challenge_id, version, score in rows:
        scores.setdefault((challenge_id, version), {})[attempt_id] = score
    return scores


def metric_scales(slug: str, version: str | None,
                  metrics: dict[str, Any]) -> tuple[charts.MetricScaleView, ...]:
    """The metric a bundle version scores between a baseline and a target, with the value
    the candidate reached (kinds whose ``[grading]`` has no such scale draw none)."""
    if version is None:
        return ()
    try:
        grading: Any = get_bundles().at_version(slug, version).grading
    except (BundleVersionMissing, GraderError):
        return ()
    configs = [grading, getattr(grading, "predictions", None)]
    from heldout.graders.errors import UnknownName
    from heldout.graders.metrics import METRICS

    scales = []
    for config in configs:
        name = getattr(config, "metric", None)
        baseline, target = getattr(config, "baseline", None), getattr(config, "target", None)
        if not isinstance(name, str) or baseline is None or target is None:
            continue
        try:
            metric = METRICS.get(name)
        except UnknownName:
            continue
        value = metrics.get(name)
        scales.append(charts.MetricScaleView(
            name, metric.title, float(baseline), float(target), metric.higher_is_better,
            float(value) if isinstance(value, int | float) else None))
    return tuple(scales)


@dataclass(frozen=True)
class DraftFrame:
    name: str
    taken_at: datetime
    content: str
    id: int = 0  # the snapshot's id: what an editor event's "draft before/after" links to


def _draft_frames(attempt_id: int, challenge_id: int) -> tuple[DraftFrame, ...]:
    """The candidate's draft snapshots of one challenge, oldest first."""
    rows = db.session.scalars(select(DraftSnapshot).where(
        DraftSnapshot.attempt_id == attempt_id, DraftSnapshot.challenge_id == challenge_id)
        .order_by(DraftSnapshot.taken_at, DraftSnapshot.id))
    return tuple(DraftFrame(r.name, r.taken_at, r.content, r.id) for r in rows)


@dataclass(frozen=True)
class ChallengeSection:
    """Everything the report shows about one challenge beyond its ``ChallengeResult``."""

    result: ChallengeResult
    percentile: float | None
    peers: int  # other graded candidates of the same team and version
    points: Markup | None
    metrics: tuple[Markup, ...]
    distribution: Markup | None
    timeline: Markup
    shown: Submission | None  # the counted submission, else the latest
    files: tuple[CodeView, ...]
    drafts: tuple[DraftFrame, ...]
    events: tuple[EventLine, ...] = ()  # editor events, in time order

    @property
    def playback(self) -> tuple[DraftFrame, ...]:
        """The latest snapshots, for a playback of how the work grew, and the ones an
        editor event names as the draft before or after it."""
        named = {i for e in self.events for i in (e.before, e.after) if i is not None}
        latest = self.drafts[-MAX_PLAYBACK_FRAMES:]
        return tuple(d for d in self.drafts if d.id in named or d in latest)


@dataclass(frozen=True)
class CandidateReport:
    attempt: Attempt
    invite: Invite
    assessment: Assessment
    results: tuple[ChallengeResult, ...]
    total: float | None
    time_used: timedelta
    sections: tuple[ChallengeSection, ...] = ()
    percentile: float | None = None
    peers: int = 0
    skills: tuple[tuple[str, float], ...] = ()
    skills_chart: Markup | None = None
    review: ReviewSummary | None = None
    counting: str = "last"  # ``scoring.Counting``
    # Notebook, probe table, query shapes by submission id; public-check runs by challenge id.
    kinds: dict[int, KindViews] = dataclasses.field(default_factory=dict)
    activity: dict[int, PublicActivity] = dataclasses.field(default_factory=dict)
    # Integrity evidence (gap, signals) by challenge id: staff only, never a penalty.
    integrity: dict[int, IntegrityView] = dataclasses.field(default_factory=dict)
    # Authorship follow-up questions and answers, with timings: evidence, never a score.
    followups: tuple[FollowupView, ...] = ()

    @property
    def no_submission(self) -> bool:
        return not submitted_any(self.results)


def _skills(results: Sequence[ChallengeResult]) -> tuple[tuple[str, float], ...]:
    """Mean score per skill tag over the challenges tagged with it (not submitted: 0;
    a challenge still grading or failed on the platform is left out; nothing submitted at
    all: no profile)."""
    found: dict[str, list[float]] = {}
    if not submitted_any(results):
        return ()
    for r in results:
        if r.pending or r.failed:
            continue
        for skill in r.challenge.skills or ():
            found.setdefault(str(skill), []).append(r.score or 0.0)
    return tuple((skill, sum(v) / len(v)) for skill, v in found.items())


def _section(attempt: Attempt, result: ChallengeResult, scores: dict[int, float],
             blobs: BlobStore, end: datetime) -> ChallengeSection:
    evaluation = result.evaluation
    others = [s for a, s in scores.items() if a != attempt.id]
    mine = result.score
    points = None
    if evaluation is not None:
        possible = sum(float(c.get("max_score") or 0) for c in evaluation.checks)
        if possible > 0:
            points = charts.points_bar(sum(float(c.get("score") or 0)
                                           for c in evaluation.checks), possible)
    metrics = tuple(charts.metric_axis(scale) for scale in metric_scales(
        result.challenge.slug, result.graded_version,
        evaluation.metrics if evaluation is not None else {}))
    distribution = charts.score_distribution(list(scores.values()), mine) \
        if mine is not None else None
    drafts = _draft_frames(attempt.id, result.challenge.id)
    # On the assessment's clock: an accommodation shows neither on the axis nor in the dots.
    points_in_time = [charts.TimelinePoint(
        clock.on_assessment_clock(attempt, s.created_at),
        s.evaluation.score if s.status == GradingStatus.GRADED and s.evaluation else None,
        f"submission #{s.id}") for s in result.history]
    points_in_time += [charts.TimelinePoint(clock.on_assessment_clock(attempt, d.taken_at),
                                            None, f"draft of {d.name}", "draft")
                       for d in drafts]
    events = event_lines(attempt.id, result.challenge.id)
    points_in_time += [charts.TimelinePoint(e.at, None, e.text, "event") for e in events]
    shown = result.counted or (result.history[-1] if result.history else None)
    return ChallengeSection(
        result, percentile_rank(mine, others) if mine is not None else None, len(others), points,
        metrics, distribution, charts.timeline(points_in_time, attempt.started_at,
                                         clock.on_assessment_clock(attempt, end)), shown,
        code_views(shown, blobs) if shown is not None else (), drafts, events)


def candidate_report(attempt_id: int, *, blobs: BlobStore, now: datetime,
                     viewer: StaffViewer | None) -> CandidateReport:
    """The report of ``attempt_id``; ``viewer``: whose eyes the reviews' recommendation is
    for (``reviews.review_summaries``)."""
    attempt = db.session.get(Attempt, attempt_id, options=[
        selectinload(Attempt.submissions).selectinload(Submission.evaluation),
        selectinload(Attempt.submissions).selectinload(Submission.files)])
    if attempt is None:
        raise NotFound(f"No attempt {attempt_id}")
    invite = attempt.invite
    assessment = invite.assessment
    counting = assessment.counting
    results = [dataclasses.replace(r, variant=_variant_label(attempt, r))
               for r in challenge_results(attempt, assessment.challenges, counting)]
    end = attempt.finished_at or min(now, attempt.deadline)
    population = version_scores(assessment)
    sections = tuple(
        _section(attempt, r, population.get((r.challenge.id, r.graded_version or ""), {}),
                 blobs, max(end, attempt.started_at))
        for r in results)
    total = total_score(results)
    ranked = standings.ranked(assessment.id, [attempt.id]).get(attempt.id) \
        if total is not None else None
    skills = _skills(results)
    return CandidateReport(
        attempt, invite, assessment, tuple(results), total, clock.time_used(attempt, now),
        sections, ranked.percentile if ranked is not None else None,
        ranked.peers if ranked is not None else 0, skills,
        charts.skills_profile(skills) if skills else None,
        review_summaries([attempt.id], viewer)[attempt.id], counting,
        report_kind_views(results, blobs), public_activity(attempt),
        integrity_views(attempt, results), tuple(followup_views(attempt)))


@dataclass(frozen=True)
class SubmissionPage:
    """Any one submission of an attempt (not only the counted one), with its code."""

    attempt: Attempt
    invite: Invite
    submission: Submission
    files: tuple[CodeView, ...]
    counted: bool
    number: int  # 1-based position among the attempt's submissions of that challenge
    of: int


def submission_page(attempt_id: int, submission_id: int, *, blobs: BlobStore) -> SubmissionPage:
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.attempt_id != attempt_id:
        raise NotFound(f"No submission {submission_id} in attempt {attempt_id}")
    attempt = submission.attempt
    assessment = attempt.invite.assessment
    siblings = [s for s in attempt.submissions if s.challenge_id == submission.challenge_id]
    counts = counted_submission(siblings, assessment.counting)
    return SubmissionPage(attempt, attempt.invite, submission, code_views(submission, blobs),
                          counts is not None and counts.id == submission.id,
                          siblings.index(submission) + 1, len(siblings))


def check_explanation(name: str, kind: str) -> str:
    """The registered explanation of a check, worded for staff."""
    from heldout.graders import checks

    return checks.explain(name, kind)
