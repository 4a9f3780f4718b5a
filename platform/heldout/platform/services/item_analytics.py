"""Item analytics: how one challenge version works across a hiring team's candidates.

Attempts, completion rate, score distribution, time against the bundle's expected minutes,
each check's pass rate, and discrimination: the corrected item-total correlation (Pearson's
r between the challenge's score and the mean score of the assessment's *other* challenges,
over the same candidates). The population is one hiring team's, as for percentile ranks
(``reports``): scores are never pooled across teams. Which submission counts and what the
total is are ``scoring``'s rules, read from the standings they are kept in
(``standings``), as the candidates table reads them: the page costs one column query per
assessment, not a fold over every submission; the checks' pass rates are counted in SQL.

Which version an attempt belongs to: the version its counted score was graded on; an
attempt with no graded score on the challenge, the version the catalogue held when the
attempt started (what its workspace opened with).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, Select, and_, case, func, select, true, union_all

from heldout.graders.errors import GraderError
from heldout.platform.blobs import BundleVersionMissing
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    AssessmentChallenge,
    Attempt,
    AttemptStanding,
    Challenge,
    ChallengeStanding,
    ChallengeVersion,
    Draft,
    EvaluationRecord,
    Invite,
    PublicRun,
    Submission,
)
from heldout.platform.services import access, charts, clock, problem_reports
from heldout.platform.services.access import StaffViewer, TeamChoice
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.reports import short_version

# Under this many attempts the figures move a lot from one candidate to the next.
SMALL_SAMPLE = 30
# Fewer pairs than this give no correlation at all.
MIN_PAIRS = 3
# The rule of thumb the page reads discrimination by (lower bounds, best first).
DISCRIMINATION_BANDS: tuple[tuple[float, str], ...] = (
    (0.4, "very good"), (0.3, "good"), (0.2, "fair"), (0.0, "weak"))


# --- the statistics, on plain values ---------------------------------------------------


@dataclass(frozen=True)
class ItemAttempt:
    """One attempt's part in the statistics of one challenge version."""

    attempt_id: int
    ended: bool                    # finished, or its deadline passed
    score: float | None            # the counted score (None: nothing graded on this version)
    rest: float | None = None      # mean score of the assessment's other challenges (None:
    #                                no other challenge, or the total is not settled)
    minutes: float | None = None   # from first work on it to the counted submission


@dataclass(frozen=True)
class CheckRate:
    name: str
    passed: int
    graded: int  # counted evaluations that ran this check

    @property
    def rate(self) -> float:
        return 100.0 * self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Discrimination:
    """Corrected item-total correlation: Pearson's r between this challenge's score and the
    rest of the assessment's (the mean of the other challenges), over ``pairs`` attempts."""

    r: float | None
    pairs: int

    @property
    def reading(self) -> str:
        if self.r is None:
            return "not enough data"
        if self.r < 0:
            return "negative"
        return next(label for bound, label in DISCRIMINATION_BANDS if self.r >= bound)


@dataclass(frozen=True)
class ItemStatistics:
    attempts: int
    ended: int
    completed: int                 # ended attempts with a graded score on this version
    scores: tuple[float, ...]      # every counted score on this version (running ones too)
    median_minutes: float | None
    quartile_minutes: tuple[float, float] | None  # the middle half of the times
    timed: int                     # attempts the time is known for
    checks: tuple[CheckRate, ...]
    discrimination: Discrimination

    @property
    def in_progress(self) -> int:
        return self.attempts - self.ended

    @property
    def completion_rate(self) -> float | None:
        """Of the attempts that have ended, the share (in percent) with a graded score."""
        return 100.0 * self.completed / self.ended if self.ended else None

    @property
    def median_score(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None

    @property
    def mean_score(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def small_sample(self) -> bool:
        return self.attempts < SMALL_SAMPLE


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation of paired values; None with fewer than ``MIN_PAIRS`` pairs or
    when either side does not vary (every candidate scored the same: nothing to rank)."""
    if len(xs) != len(ys):
        raise ValueError("pearson needs pairs: as many xs as ys")
    if len(xs) < MIN_PAIRS:
        return None
    try:
        return statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # a constant side
        return None


def item_statistics(items: Sequence[ItemAttempt],
                    checks: tuple[CheckRate, ...] = ()) -> ItemStatistics:
    """The figures of one challenge version from its attempts, and the pass rates of its
    checks over their counted evaluations (``check_rates``)."""
    scores = tuple(i.score for i in items if i.score is not None)
    minutes = sorted(i.minutes for i in items if i.minutes is not None)
    quartiles = None
    if len(minutes) >= 4:
        low, _, high = statistics.quantiles(minutes, n=4)
        quartiles = (low, high)
    pairs = [(i.score, i.rest) for i in items if i.score is not None and i.rest is not None]
    r = pearson([p[0] for p in pairs], [p[1] for p in pairs])
    return ItemStatistics(
        attempts=len(items), ended=sum(1 for i in items if i.ended),
        completed=sum(1 for i in items if i.ended and i.score is not None), scores=scores,
        median_minutes=statistics.median(minutes) if minutes else None,
        quartile_minutes=quartiles, timed=len(minutes), checks=checks,
        discrimination=Discrimination(r, len(pairs)))


# --- the population, from the database -------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """An attempt of the version, before its times are read."""

    attempt_id: int
    ended: bool
    score: float | None
    rest: float | None
    submitted_at: datetime | None  # of the counted submission
    clock_start: datetime | None  # the attempt's start, when the challenge is its only one


def version_at(versions: Sequence[ChallengeVersion], when: datetime, fallback: str) -> str:
    """The version the catalogue held at ``when``: the last loaded by then (the first one,
    for a time before any was recorded; ``fallback`` when none is)."""
    ordered = sorted(versions, key=lambda v: (v.loaded_at, v.id))
    held = [v.version for v in ordered if v.loaded_at <= when]
    if held:
        return held[-1]
    return ordered[0].version if ordered else fallback


def _team_assessments(challenge: Challenge, team_id: int | None) -> list[Assessment]:
    return list(db.session.scalars(
        select(Assessment).join(AssessmentChallenge,
                                AssessmentChallenge.assessment_id == Assessment.id)
        .where(AssessmentChallenge.challenge_id == challenge.id, access.in_team(team_id))
        .order_by(Assessment.id)))


def _found(challenge: Challenge, version: str, assessments: Sequence[Assessment],
           now: datetime) -> list[_Found]:
    """The attempts of these assessments that hold ``challenge``, on ``version``: each
    attempt's counted score and total as the standings keep them (``standings``: the
    scoring rules' results, written as scores land), one column query per assessment."""
    versions = list(challenge.versions)
    found = []
    for assessment in assessments:
        size = len(assessment.challenges)
        rows = db.session.execute(
            select(Attempt.id, Attempt.started_at, Attempt.deadline, Attempt.finished_at,
                   AttemptStanding.total, ChallengeStanding.score, ChallengeStanding.version,
                   Submission.created_at)
            .join(Invite, Invite.id == Attempt.invite_id)
            .outerjoin(AttemptStanding, AttemptStanding.attempt_id == Attempt.id)
            .outerjoin(ChallengeStanding, and_(ChallengeStanding.attempt_id == Attempt.id,
                                               ChallengeStanding.challenge_id == challenge.id))
            .outerjoin(Submission, Submission.id == ChallengeStanding.submission_id)
            .where(Invite.assessment_id == assessment.id).order_by(Attempt.id))
        for attempt_id, started, deadline, finished, total, score, graded, submitted in rows:
            graded_on = graded or version_at(versions, started, challenge.version)
            if graded_on != version:
                continue
            rest = None
            if total is not None and score is not None and size > 1:
                # The total is the mean over the challenges: take this one's share out.
                rest = (total * size - score) / (size - 1)
            found.append(_Found(attempt_id, finished is not None or deadline <= now, score, rest,
                                submitted, started if size == 1 else None))
    return found


def _first_work(assessments: Sequence[Assessment], challenge_id: int) -> dict[int, datetime]:
    """When each attempt of these assessments first worked on the challenge: its first draft
    save, public run or submission, whichever came first (one grouped query)."""
    attempts = (select(Attempt.id).join(Invite, Invite.id == Attempt.invite_id)
                .where(Invite.assessment_id.in_([a.id for a in assessments])))
    works = union_all(*(
        select(attempt_column.label("attempt_id"), column.label("at"))
        .where(attempt_column.in_(attempts), challenge_column == challenge_id)
        for column, attempt_column, challenge_column in (
            (Draft.created_at, Draft.attempt_id, Draft.challenge_id),
            (PublicRun.created_at, PublicRun.attempt_id, PublicRun.challenge_id),
            (Submission.created_at, Submission.attempt_id, Submission.challenge_id)))
    ).subquery()
    return {attempt_id: at for attempt_id, at in db.session.execute(
        select(works.c.attempt_id, func.min(works.c.at)).group_by(works.c.attempt_id))
        if at is not None}


def _check_elements() -> tuple[Any, ColumnElement[Any], ColumnElement[bool]]:
    """The checks of an evaluation as rows (a table-valued function of ``checks``), with
    each one's name and whether it passed, in the database's own JSON functions."""
    if db.session.get_bind().dialect.name == "postgresql":
        elements = func.json_array_elements(EvaluationRecord.checks).table_valued("value")
        value = elements.c.value
        return (elements, value.op("->>")("name"),
                func.coalesce(value.op("->>")("passed"), "false") == "true")
    elements = func.json_each(EvaluationRecord.checks).table_valued("value")
    return (elements, func.json_extract(elements.c.value, "$.name"),
            func.coalesce(func.json_extract(elements.c.value, "$.passed"), 0) == 1)


def check_rates(counted: Select[Any]) -> tuple[CheckRate, ...]:
    """Each check's passes over the evaluations of the ``counted`` submissions (a query of
    their ids) that ran it, counted in SQL (one row per check name), in the order the checks
    first appear in the evaluations taken by submission (the first few are read, more only
    until every name is placed)."""
    elements, name, passed = _check_elements()
    counts = {str(n): (int(p or 0), int(g)) for n, p, g in db.session.execute(
        select(name, func.sum(case((passed, 1), else_=0)), func.count())
        .select_from(EvaluationRecord).join(elements, true())
        .where(EvaluationRecord.submission_id.in_(counted), name.is_not(None))
        .group_by(name))}
    order: list[str] = []
    read, page = 0, 20
    while len(order) < len(counts):
        found = list(db.session.scalars(
            select(EvaluationRecord.checks).where(EvaluationRecord.submission_id.in_(counted))
            .order_by(EvaluationRecord.submission_id).limit(page).offset(read)))
        for checks in found:
            for check in checks or ():
                key = str(check.get("name", "")) if isinstance(check, dict) else None
                if key in counts and key not in order:
                    order.append(key)
        if len(found) < page:
            break
        read, page = read + page, page * 4
    return tuple(CheckRate(n, *counts[n]) for n in order)


def population(challenge: Challenge, version: str, team_id: int | None,
               now: datetime) -> list[ItemAttempt]:
    """Every attempt of one hiring team on one challenge version, as ``ItemAttempt``s
    (their checks are counted apart, in SQL: ``check_rates``)."""
    assessments = _team_assessments(challenge, team_id)
    found = _found(challenge, version, assessments, now)
    first = _first_work(assessments, challenge.id) if any(
        f.clock_start is None for f in found) else {}
    spans = {}
    for f in found:
        start = f.clock_start or first.get(f.attempt_id)
        if f.submitted_at is not None and start is not None:
            spans[f.attempt_id] = (start, f.submitted_at)
    # Minutes on each candidate's own clock (breaks left out, against their own limit).
    used = clock.used_between(spans)
    return [ItemAttempt(f.attempt_id, f.ended, f.score, f.rest,
                        used[f.attempt_id].total_seconds() / 60 if f.attempt_id in used else None)
            for f in found]


def counted_on(challenge: Challenge, version: str, team_id: int | None) -> Select[Any]:
    """The ids of the submissions that count for ``challenge`` on ``version`` in the team's
    assessments (as the standings keep them), as a query."""
    return (select(ChallengeStanding.submission_id)
            .join(Attempt, Attempt.id == ChallengeStanding.attempt_id)
            .join(Invite, Invite.id == Attempt.invite_id)
            .where(ChallengeStanding.challenge_id == challenge.id,
                   ChallengeStanding.version == version,
                   Invite.assessment_id.in_([a.id for a in
                                             _team_assessments(challenge, team_id)])))


# --- the page --------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionLink:
    version: str
    loaded_at: datetime
    current: bool

    @property
    def short(self) -> str:
        return short_version(self.version)

    @property
    def hex(self) -> str:
        return self.version.removeprefix("sha256:")


@dataclass(frozen=True)
class ItemAnalytics:
    challenge: Challenge
    version: VersionLink
    versions: tuple[VersionLink, ...]
    expected_minutes: int
    team: TeamChoice
    teams: tuple[TeamChoice, ...]
    stats: ItemStatistics
    distribution: Markup
    open_reports: int


def _expected_minutes(challenge: Challenge, version: str) -> int:
    """The bundle version's own expected minutes (the catalogue's, if it can't be read)."""
    try:
        return get_bundles().at_version(challenge.slug, version).expected_minutes
    except (BundleVersionMissing, GraderError):
        return challenge.expected_minutes


def item_analytics(slug: str, version_hex: str, *, viewer: StaffViewer, team_id: int | None,
                   now: datetime) -> ItemAnalytics:
    """The analytics page of one challenge version, over one of ``viewer``'s teams
    (``team_id``; None: their first)."""
    challenge = db.session.scalar(select(Challenge).where(Challenge.slug == slug))
    if challenge is None:
        raise NotFound(f"No challenge {slug!r} in the catalogue")
    links = tuple(VersionLink(v.version, v.loaded_at, v.version == challenge.version)
                  for v in sorted(challenge.versions, key=lambda v: (v.loaded_at, v.id),
                                  reverse=True))
    wanted = f"sha256:{version_hex}"
    link = next((v for v in links if v.version == wanted), None)
    if link is None:
        raise NotFound(f"No version {version_hex[:12]!r} of challenge {slug!r}",
                       hint="Pick a version from the challenge's analytics page.")
    team, teams = access.team_choice(viewer, team_id)
    stats = item_statistics(population(challenge, wanted, team.id, now),
                            check_rates(counted_on(challenge, wanted, team.id)))
    return ItemAnalytics(
        challenge, link, links, _expected_minutes(challenge, wanted), team, teams, stats,
        charts.score_distribution(stats.scores, None),
        problem_reports.open_count(challenge.id, wanted, team.id))


def current_version_hex(slug: str) -> str:
    """The catalogue's version of ``slug``, as analytics URLs name it."""
    challenge = db.session.scalar(select(Challenge).where(Challenge.slug == slug))
    if challenge is None:
        raise NotFound(f"No challenge {slug!r} in the catalogue")
    return challenge.version.removeprefix("sha256:")
