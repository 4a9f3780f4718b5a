"""The candidates of an assessment: the table interviewers sort and filter (and export),
compare side by side, and the settled totals their percentiles rank.

The table reads submissions as plain values from one column query (``TableSubmission``):
with a thousand candidates, ORM objects for their submissions and evaluations would cost
most of the page's time. Which submission counts, the total and the percentile rank are
the rules of ``scoring``, the same the report and the candidate's own page use.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Challenge,
    EvaluationRecord,
    Invite,
    Submission,
)
from heldout.platform.services import clock
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.integrity_signals import SignalContext, attempts_with_signals
from heldout.platform.services.reviews import ReviewSummary, review_summaries
from heldout.platform.services.scoring import (
    InviteState,
    Standing,
    counted,
    invite_state,
    percentile_ranks,
    submitted_any,
    total_score,
)

Versions = tuple[str | None, ...]  # the graded version of each challenge, in order


@dataclass(frozen=True, slots=True)  # slots: a thousand candidates make thousands of them
class TableSubmission:
    """A submission and its score as plain values (no ORM object, no files, no checks)."""

    id: int
    attempt_id: int
    challenge_id: int
    status: str
    retry_at: datetime | None
    score: float | None  # of its evaluation; None without one
    graded_version: str | None


@dataclass(frozen=True, slots=True)
class TableResult(Standing):
    """One challenge of one candidate in the table."""

    challenge: Challenge
    history: tuple[TableSubmission, ...]
    counted: TableSubmission | None

    @property
    def graded_version(self) -> str | None:
        return self.counted.graded_version if self.counted is not None else None

    @property
    def score(self) -> float | None:
        return self.counted.score if self.counted is not None else None


@dataclass(frozen=True)
class CandidateRow:
    invite: Invite
    attempt: Attempt | None
    state: InviteState
    results: tuple[TableResult, ...]
    total: float | None
    percentile: float | None = None  # of the total (``scoring.percentile_rank``)
    time_used: timedelta | None = None
    review: ReviewSummary | None = None

    @property
    def review_status(self) -> str:
        if self.attempt is None:
            return "—"
        return self.review.status if self.review is not None else "not reviewed"

    @property
    def versions(self) -> Versions:
        return tuple(r.graded_version for r in self.results)

    @property
    def no_submission(self) -> bool:
        """Started, nothing submitted: no score (shown as such, never ranked as a 0)."""
        return self.attempt is not None and not submitted_any(self.results)


PER_PAGE = 100
SORTS = ("invited", "name", "state", "total", "percentile", "time", "review")
REVIEW_FILTERS = ("reviewed", "not reviewed")
SIGNAL_FILTERS = ("any", "none")  # integrity signals (services/integrity_signals.py)


@dataclass(frozen=True)
class TableQuery:
    """How the candidates table is sorted and filtered (from the query string).

    ``sort`` is one of SORTS or ``c:<challenge slug>``; rows without a value sort last.
    """

    sort: str = "invited"
    descending: bool = True
    search: str = ""
    state: str = ""
    review: str = ""
    min_total: float | None = None
    page: int = 1
    signals: str = ""  # one of SIGNAL_FILTERS, or "" for everyone

    def normalised(self, slugs: Sequence[str]) -> TableQuery:
        valid = self.sort in SORTS or (self.sort.startswith("c:") and self.sort[2:] in slugs)
        return self if valid else dataclasses.replace(self, sort="invited")


@dataclass(frozen=True)
class CandidatesTable:
    assessment: Assessment
    rows: tuple[CandidateRow, ...]
    query: TableQuery
    total_rows: int  # before filtering
    states: tuple[str, ...]  # states present, for the filter
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.rows) / self.per_page))

    @property
    def page(self) -> int:
        return min(max(1, self.query.page), self.pages)

    @property
    def page_rows(self) -> tuple[CandidateRow, ...]:
        """The rows of the page shown; exports take every row (``rows``)."""
        start = (self.page - 1) * self.per_page
        return self.rows[start:start + self.per_page]


def _table_invites(assessment_id: int, attempt_ids: Sequence[int] | None = None) -> list[Invite]:
    """The invites of an assessment (or of these attempts of it) with their attempts: one
    query per level. Their submissions come apart, as plain values (``table_submissions``)."""
    query = select(Invite).where(Invite.assessment_id == assessment_id)
    if attempt_ids is not None:
        query = query.where(Invite.id.in_(
            select(Attempt.invite_id).where(Attempt.id.in_(attempt_ids))))
    return list(db.session.scalars(
        query.options(selectinload(Invite.attempt))
        .order_by(Invite.created_at.desc(), Invite.id.desc())))


def table_submissions(assessment_id: int, attempt_ids: Sequence[int] | None = None
                      ) -> dict[int, list[TableSubmission]]:
    """Every submission of the assessment's attempts (or of these attempts) with its score,
    oldest first per attempt, from one column query."""
    query = (select(Submission.id, Submission.attempt_id, Submission.challenge_id,
                    Submission.status, Submission.retry_at, EvaluationRecord.id,
                    EvaluationRecord.score, EvaluationRecord.challenge_version)
             .outerjoin(EvaluationRecord, EvaluationRecord.submission_id == Submission.id)
             .join(Attempt, Attempt.id == Submission.attempt_id)
             .join(Invite, Invite.id == Attempt.invite_id)
             .where(Invite.assessment_id == assessment_id))
    if attempt_ids is not None:
        query = query.where(Submission.attempt_id.in_(attempt_ids))
    found: dict[int, list[TableSubmission]] = {}
    for sid, attempt_id, challenge_id, status, retry_at, evaluation_id, score, version in \
            db.session.execute(query.order_by(Submission.id)):
        found.setdefault(attempt_id, []).append(TableSubmission(
            sid, attempt_id, challenge_id, status, retry_at,
            float(score) if score is not None else None,
            version if evaluation_id is not None else None))
    return found


def table_results(history: Sequence[TableSubmission], challenges: Sequence[Challenge],
                  counting: str) -> list[TableResult]:
    """One candidate's ``TableResult`` per challenge, from their submissions oldest first."""
    by_challenge: dict[int, list[TableSubmission]] = {}
    for submission in history:
        by_challenge.setdefault(submission.challenge_id, []).append(submission)
    results = []
    for challenge in challenges:
        mine = by_challenge.get(challenge.id, [])
        results.append(TableResult(challenge, tuple(mine),
                                   counted(mine, counting, lambda s: s.score)))
    return results


@dataclass(frozen=True)
class Ranked:
    """A total's percentile rank, and how many others it was ranked among."""

    percentile: float | None
    peers: int


def ranked_totals(totals: Mapping[int, tuple[float, Versions]]) -> dict[int, Ranked]:
    """Each attempt's total ranked among the other attempts graded on exactly the same
    versions of every challenge (totals of other versions are not comparable). An attempt
    with a challenge never graded has no versions to match: it is not ranked."""
    groups: dict[Versions, list[int]] = {}
    for attempt_id, (_, versions) in totals.items():
        if all(v is not None for v in versions):
            groups.setdefault(versions, []).append(attempt_id)
    ranked: dict[int, Ranked] = {}
    for members in groups.values():
        ranks = percentile_ranks([totals[a][0] for a in members])
        for attempt_id, rank in zip(members, ranks, strict=True):
            ranked[attempt_id] = Ranked(rank, len(members) - 1)
    return ranked


def settled_totals(assessment: Assessment) -> dict[int, tuple[float, Versions]]:
    """Every attempt's total and counted versions, for the attempts whose total is settled
    (``total_score`` is not None), from one column query."""
    totals: dict[int, tuple[float, Versions]] = {}
    challenges, counting = assessment.challenges, assessment.counting
    for attempt_id, history in table_submissions(assessment.id).items():
        results = table_results(history, challenges, counting)
        total = total_score(results)
        if total is not None:
            totals[attempt_id] = (total, tuple(r.graded_version for r in results))
    return totals


def _rows(assessment: Assessment, invites: list[Invite], now: datetime,
          viewer: StaffViewer | None,
          attempt_ids: Sequence[int] | None = None) -> list[CandidateRow]:
    challenges = assessment.challenges
    submitted = table_submissions(assessment.id, attempt_ids)
    summaries = review_summaries([i.attempt.id for i in invites if i.attempt is not None],
                                 viewer)
    clock.with_clocks([i.attempt.id for i in invites if i.attempt is not None])
    rows = []
    for invite in invites:
        attempt = invite.attempt
        results = table_results(submitted.get(attempt.id, []) if attempt is not None else [],
                                challenges, assessment.counting)
        rows.append(CandidateRow(
            invite, attempt, invite_state(invite, now), tuple(results),
            total_score(results) if attempt is not None else None,
            time_used=clock.time_used(attempt, now) if attempt is not None else None,
            review=summaries.get(attempt.id) if attempt is not None else None))
    return rows


def _sort_key(row: CandidateRow, sort: str) -> Any:
    if sort == "name":
        return row.invite.candidate_name.casefold()
    if sort == "state":
        return row.state
    if sort == "total":
        return row.total
    if sort == "percentile":
        return row.percentile
    if sort == "time":
        return row.time_used
    if sort == "review":
        return row.review_status
    if sort.startswith("c:"):
        for r in row.results:
            if r.challenge.slug == sort[2:]:
                return r.score
    return (row.invite.created_at, row.invite.id)


def candidates_table(assessment_id: int, query: TableQuery, *, now: datetime,
                     viewer: StaffViewer | None,
                     signals: SignalContext | None = None) -> CandidatesTable:
    """The candidates of an assessment with scores, percentile, time and review state,
    filtered and sorted on the server (the page works without script). ``viewer``: whose
    eyes the reviews' recommendations are for (``reviews.review_summaries``); ``signals``:
    the thresholds of the integrity signals the "signals" filter reads."""
    assessment = get_assessment(assessment_id)
    query = query.normalised([c.slug for c in assessment.challenges])
    rows = _rows(assessment, _table_invites(assessment_id), now, viewer)
    # Every attempt of the assessment is a row: the rows' totals are its settled totals.
    ranked = ranked_totals({r.attempt.id: (r.total, r.versions) for r in rows
                            if r.attempt is not None and r.total is not None})
    rows = [dataclasses.replace(r, percentile=ranked[r.attempt.id].percentile)
            if r.attempt is not None and r.attempt.id in ranked else r for r in rows]
    states = tuple(sorted({r.state for r in rows}))
    shown = rows
    if query.search.strip():
        needle = query.search.strip().casefold()
        shown = [r for r in shown if needle in r.invite.candidate_name.casefold()
                 or needle in r.invite.candidate_email.casefold()]
    if query.state:
        shown = [r for r in shown if r.state == query.state]
    if query.review == "reviewed":
        shown = [r for r in shown if r.review is not None and r.review.submitted]
    elif query.review == "not reviewed":
        shown = [r for r in shown if r.attempt is not None
                 and (r.review is None or not r.review.submitted)]
    if query.min_total is not None:
        shown = [r for r in shown if r.total is not None and r.total >= query.min_total]
    if query.signals in SIGNAL_FILTERS:
        flagged = attempts_with_signals(assessment.id, signals or SignalContext(viewer))
        wanted = query.signals == "any"
        shown = [r for r in shown
                 if (r.attempt is not None and r.attempt.id in flagged) == wanted]
    # Ties keep name order whichever the direction (Python's sort is stable, reversed too).
    shown = sorted(shown, key=lambda r: r.invite.candidate_name.casefold()) \
        if query.sort != "invited" else shown
    present = [r for r in shown if _sort_key(r, query.sort) is not None]
    missing = [r for r in shown if _sort_key(r, query.sort) is None]
    present.sort(key=lambda r: _sort_key(r, query.sort), reverse=query.descending)
    return CandidatesTable(assessment, tuple(present + missing), query, len(rows), states)


# --- compare -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareCell:
    passed: bool | None  # None: no such check in this candidate's counted evaluation
    score: float | None
    max_score: float | None


@dataclass(frozen=True)
class CompareChallenge:
    challenge: Challenge
    scores: tuple[float | None, ...]  # one per candidate
    checks: tuple[tuple[str, tuple[CompareCell, ...]], ...]  # check name, a cell per candidate


@dataclass(frozen=True)
class Comparison:
    assessment: Assessment
    rows: tuple[CandidateRow, ...]  # the compared candidates, in the order asked
    challenges: tuple[CompareChallenge, ...]


MAX_COMPARED = 8


def compare(assessment_id: int, attempt_ids: Sequence[int], *, now: datetime,
            viewer: StaffViewer | None) -> Comparison:
    """Candidates side by side: one column each, challenges and their checks as rows.

    Only attempts of this assessment are compared; others asked for are ignored.
    """
    assessment = get_assessment(assessment_id)
    wanted = list(dict.fromkeys(attempt_ids))[:MAX_COMPARED]
    invites = [i for i in _table_invites(assessment_id, wanted) if i.attempt is not None]
    ranked = ranked_totals(settled_totals(assessment))
    rows = [dataclasses.replace(r, percentile=ranked[r.attempt.id].percentile)
            if r.attempt is not None and r.attempt.id in ranked else r
            for r in _rows(assessment, invites, now, viewer, wanted)]
    by_id = {r.attempt.id: r for r in rows if r.attempt is not None}
    chosen = tuple(by_id[i] for i in wanted if i in by_id)
    evaluations = {e.submission_id: e for e in db.session.scalars(
        select(EvaluationRecord).where(EvaluationRecord.submission_id.in_(
            [r.counted.id for row in chosen for r in row.results if r.counted is not None])))}
    sections = []
    for position, challenge in enumerate(assessment.challenges):
        names: list[str] = []
        per: list[dict[str, CompareCell]] = []
        for row in chosen:
            counted_one = row.results[position].counted
            evaluation = evaluations.get(counted_one.id) if counted_one is not None else None
            cells: dict[str, CompareCell] = {}
            for check in (evaluation.checks if evaluation is not None else []):
                name = str(check.get("name", ""))
                if name not in names:
                    names.append(name)
                cells[name] = CompareCell(bool(check.get("passed")), check.get("score"),
                                          check.get("max_score"))
            per.append(cells)
        missing = CompareCell(None, None, None)
        checks = tuple((name, tuple(cells.get(name, missing) for cells in per)) for name in names)
        sections.append(CompareChallenge(
            challenge, tuple(row.results[position].score for row in chosen), checks))
    return Comparison(assessment, chosen, tuple(sections))
