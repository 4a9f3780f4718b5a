"""The candidates of an assessment: the table interviewers sort and filter (and export;
``comparison`` puts a few of its rows side by side).

The table is filtered, sorted and paged in SQL over the attempts' standings (their settled
totals, counted scores and percentile ranks, ``standings``), so a page costs the same with
ten candidates or ten thousand; exports read every matching row a batch at a time. The
rows of a page read their submissions as plain values from one column query
(``TableSubmission``). Which submission counts, the total and the percentile rank are the
rules of ``scoring``, the same the report and the candidate's own page use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased, selectinload

from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    AttemptStanding,
    Challenge,
    ChallengeStanding,
    EvaluationRecord,
    Invite,
    Review,
    Submission,
)
from heldout.platform.services import clock, standings
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.integrity_signals import SignalContext, attempts_with_signals
from heldout.platform.services.paging import page_window
from heldout.platform.services.reviews import ReviewSummary, review_summaries
from heldout.platform.services.scoring import (
    InviteState,
    Standing,
    counted,
    invite_state,
    invite_state_clause,
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
    """One page of the candidates table: ``rows`` are the page's (the filtering, sorting
    and paging ran in SQL); ``iter_rows`` gives every matching row, for exports."""

    assessment: Assessment
    rows: tuple[CandidateRow, ...]
    query: TableQuery
    total_rows: int  # before filtering
    matched: int  # after filtering
    states: tuple[str, ...]  # states present, for the filter
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return page_window(self.matched, self.query.page, self.per_page).pages

    @property
    def page(self) -> int:
        return page_window(self.matched, self.query.page, self.per_page).page

    @property
    def page_rows(self) -> tuple[CandidateRow, ...]:
        return self.rows


def table_invites(assessment_id: int, attempt_ids: Sequence[int] | None = None) -> list[Invite]:
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
    """Every submission of the assessment's attempts (or of these attempts: the caller's
    own, read through the attempt index alone) with its score, oldest first per attempt,
    from one column query."""
    query = (select(Submission.id, Submission.attempt_id, Submission.challenge_id,
                    Submission.status, Submission.retry_at, EvaluationRecord.id,
                    EvaluationRecord.score, EvaluationRecord.challenge_version)
             .outerjoin(EvaluationRecord, EvaluationRecord.submission_id == Submission.id))
    if attempt_ids is not None:
        # Not joined to the assessment's invites: SQLite then walked every invite of the
        # assessment (or every submission, in id order) for each batch of an export.
        query = query.where(Submission.attempt_id.in_(attempt_ids))
    else:
        query = (query.join(Attempt, Attempt.id == Submission.attempt_id)
                 .join(Invite, Invite.id == Attempt.invite_id)
                 .where(Invite.assessment_id == assessment_id))
    found: dict[int, list[TableSubmission]] = {}
    for sid, attempt_id, challenge_id, status, retry_at, evaluation_id, score, version in \
            db.session.execute(query.order_by(Submission.attempt_id, Submission.id)):
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


def table_rows(assessment: Assessment, invites: list[Invite], now: datetime,
          viewer: StaffViewer | None,
          attempt_ids: Sequence[int] | None = None) -> list[CandidateRow]:
    challenges = assessment.challenges
    submitted = table_submissions(assessment.id, attempt_ids)
    summaries = review_summaries([i.attempt.id for i in invites if i.attempt is not None],
                                 viewer)
    used = clock.times_used([i.attempt for i in invites if i.attempt is not None], now)
    rows = []
    for invite in invites:
        attempt = invite.attempt
        results = table_results(submitted.get(attempt.id, []) if attempt is not None else [],
                                challenges, assessment.counting)
        rows.append(CandidateRow(
            invite, attempt, invite_state(invite, now), tuple(results),
            total_score(results) if attempt is not None else None,
            time_used=used[attempt.id] if attempt is not None else None,
            review=summaries.get(attempt.id) if attempt is not None else None))
    return rows


def _state_column(now: datetime) -> ColumnElement[str]:
    """``invite_state`` in SQL (over ``Invite`` outer-joined with its ``Attempt``)."""
    return case(*((invite_state_clause(state, now), state.value) for state in InviteState))


def _state_order(now: datetime) -> ColumnElement[int]:
    """The position of the state's name in alphabetical order (how the table sorts it)."""
    ordered = sorted(InviteState, key=lambda s: s.value)
    return case(*((invite_state_clause(state, now), ordered.index(state))
                  for state in InviteState))


def _submitted_reviews() -> ColumnElement[int]:
    return (select(func.count(Review.id))
            .where(Review.attempt_id == Attempt.id, Review.submitted_at.is_not(None))
            .correlate(Attempt).scalar_subquery())


def _review_order() -> list[ColumnElement[Any]]:
    """``CandidateRow.review_status`` in order: reviewed (by how many), not reviewed,
    review started, no attempt."""
    submitted = _submitted_reviews()
    drafts = (select(func.count(Review.id))
              .where(Review.attempt_id == Attempt.id, Review.submitted_at.is_(None))
              .correlate(Attempt).scalar_subquery())
    return [case((Attempt.id.is_(None), 3), (submitted > 0, 0), (drafts > 0, 2), else_=1),
            submitted]


def table_filters(assessment_id: int, query: TableQuery, now: datetime,
                  signals: SignalContext) -> list[ColumnElement[bool]]:
    """The table's filters as SQL conditions over ``Invite``, its ``Attempt`` and its
    ``AttemptStanding`` (outer-joined): a new filter is one more condition here."""
    found: list[ColumnElement[bool]] = []
    if query.search.strip():
        needle = query.search.strip()
        found.append(or_(Invite.candidate_name.icontains(needle, autoescape=True),
                         Invite.candidate_email.icontains(needle, autoescape=True)))
    if query.state:
        try:
            found.append(invite_state_clause(InviteState(query.state), now))
        except ValueError:
            found.append(false())
    if query.review == "reviewed":
        found.append(and_(Attempt.id.is_not(None), _submitted_reviews() > 0))
    elif query.review == "not reviewed":
        found.append(and_(Attempt.id.is_not(None), _submitted_reviews() == 0))
    if query.min_total is not None:
        found.append(AttemptStanding.total >= query.min_total)
    if query.signals in SIGNAL_FILTERS:
        # Which attempts have a signal is decided in Python (``integrity_signals.gather``).
        flagged = sorted(attempts_with_signals(assessment_id, signals))
        found.append(Attempt.id.in_(flagged) if query.signals == "any"
                     else or_(Attempt.id.is_(None), Attempt.id.not_in(flagged)))
    return found


def _ordered(assessment: Assessment, query: TableQuery, now: datetime,
             signals: SignalContext) -> Select[int]:
    """The matching invites' ids, sorted as asked: rows without a value
    last whichever the direction; ties in name order; then newest invite first. Sorted by
    time used, only the ties' order (``_by_time_used`` sorts the rest)."""
    statement = (select(Invite.id)
                 .outerjoin(Attempt, Attempt.invite_id == Invite.id)
                 .outerjoin(AttemptStanding, AttemptStanding.attempt_id == Attempt.id)
                 .where(Invite.assessment_id == assessment.id,
                        *table_filters(assessment.id, query, now, signals)))
    newest: list[Any] = [Invite.created_at.desc(), Invite.id.desc()]
    if query.sort == "invited":
        if query.descending:
            return statement.order_by(*newest)
        return statement.order_by(Invite.created_at, Invite.id)
    if query.sort == "time":
        return statement.order_by(func.lower(Invite.candidate_name), *newest)
    keys: list[Any]
    if query.sort == "name":
        keys = [func.lower(Invite.candidate_name)]
    elif query.sort == "state":
        keys = [_state_order(now)]
    elif query.sort == "total":
        keys = [AttemptStanding.total]
    elif query.sort == "percentile":
        # Only this sort joins the ranks (computed over the aggregate's counts); the rows'
        # own percentiles are read for the page alone (``_page_rows``).
        ranks = standings.rank_table(assessment.id)
        statement = statement.outerjoin(ranks, standings.joins_rank(ranks))
        keys = [standings.percentile_of(ranks)]
    elif query.sort == "review":
        keys = _review_order()
    else:
        challenge = next(c for c in assessment.challenges if c.slug == query.sort[2:])
        scored = aliased(ChallengeStanding)
        statement = statement.outerjoin(scored, and_(scored.attempt_id == Attempt.id,
                                                     scored.challenge_id == challenge.id))
        keys = [scored.score]
    order: list[Any] = [case((keys[0].is_(None), 1), else_=0)]
    order += [key.desc() if query.descending else key.asc() for key in keys]
    return statement.order_by(*order, func.lower(Invite.candidate_name), *newest)


def _by_time_used(ordered: Select[int], query: TableQuery, now: datetime) -> list[int]:
    """Every matching invite's id sorted by time used, rows without an attempt last, ties
    in the order of ``ordered`` (names). In Python: time used is ``clock.time_used`` (breaks
    left out, against the candidate's own limit), a rule SQL would have to copy; so this
    sort alone reads the clocks of every match, whatever the page."""
    found = db.session.execute(ordered.add_columns(Attempt.id)).all()
    clocks = clock.with_clocks([attempt_id for _, attempt_id in found if attempt_id is not None])

    def key(pair: Any) -> tuple[int, timedelta]:
        attempt = clocks.get(pair[1]) if pair[1] is not None else None
        if attempt is None:
            return 1, timedelta(0)
        used = clock.time_used(attempt, now)
        return 0, -used if query.descending else used

    return [invite_id for invite_id, _ in sorted(found, key=key)]


def _page_rows(assessment: Assessment, ids: Sequence[int], now: datetime,
               viewer: StaffViewer | None,
               counts: standings.GroupCounts | None = None) -> list[CandidateRow]:
    """The rows of these invite ids, in their order, with their percentile ranks (from
    ``counts``, when the caller keeps them across batches)."""
    invites = {i.id: i for i in db.session.scalars(
        select(Invite).where(Invite.id.in_(ids)).options(selectinload(Invite.attempt)))}
    ordered = [invites[i] for i in ids if i in invites]
    attempts = [i.attempt.id for i in ordered if i.attempt is not None]
    rows = table_rows(assessment, ordered, now, viewer, attempts)
    ranked = standings.ranked(assessment.id, attempts, counts)
    return [dataclasses.replace(r, percentile=ranked[r.attempt.id].percentile)
            if r.attempt is not None and r.attempt.id in ranked else r for r in rows]


EXPORT_BATCH = 200


def candidates_table(assessment_id: int, query: TableQuery, *, now: datetime,
                     viewer: StaffViewer | None,
                     signals: SignalContext | None = None) -> CandidatesTable:
    """A page of the candidates of an assessment with scores, percentile, time and review
    state, filtered, sorted and paged in SQL (the page works without script). ``viewer``:
    whose eyes the reviews' recommendations are for (``reviews.review_summaries``);
    ``signals``: the thresholds of the integrity signals the "signals" filter reads."""
    assessment = get_assessment(assessment_id)
    query = query.normalised([c.slug for c in assessment.challenges])
    ordered = _ordered(assessment, query, now, signals or SignalContext(viewer))
    if query.sort == "time":
        every = _by_time_used(ordered, query, now)
        matched = len(every)
        window = page_window(matched, query.page, PER_PAGE)
        found = every[window.offset:window.offset + PER_PAGE]
    else:
        matched = db.session.scalar(select(func.count()).select_from(ordered.subquery())) or 0
        window = page_window(matched, query.page, PER_PAGE)
        found = list(db.session.scalars(ordered.limit(PER_PAGE).offset(window.offset)))
    total_rows = db.session.scalar(select(func.count(Invite.id))
                                   .where(Invite.assessment_id == assessment_id)) or 0
    state = _state_column(now)
    states = tuple(sorted(str(s) for s in db.session.scalars(
        select(state).select_from(Invite).outerjoin(Attempt, Attempt.invite_id == Invite.id)
        .where(Invite.assessment_id == assessment_id).distinct()) if s is not None))
    return CandidatesTable(assessment, tuple(_page_rows(assessment, found, now, viewer)),
                           query, total_rows, matched, states, PER_PAGE)


def every_row(assessment_id: int, query: TableQuery, *, now: datetime,
              viewer: StaffViewer | None, signals: SignalContext | None = None
              ) -> tuple[Assessment, Iterator[CandidateRow]]:
    """The assessment, and every row matching ``query`` (whatever its page) in its order,
    read a batch at a time as the caller consumes them: exports write each batch out
    before the next is read, so memory stays the same whatever the population (sorted by
    time used, the ids and clocks of every match are read first: ``_by_time_used``)."""
    assessment = get_assessment(assessment_id)
    query = query.normalised([c.slug for c in assessment.challenges])
    context = signals or SignalContext(viewer)

    def batches() -> Iterator[list[int]]:
        ordered = _ordered(assessment, query, now, context)
        if query.sort == "time":
            every = _by_time_used(ordered, query, now)
            for start in range(0, len(every), EXPORT_BATCH):
                yield every[start:start + EXPORT_BATCH]
            return
        found = db.session.scalars(ordered.execution_options(yield_per=EXPORT_BATCH))
        for batch in found.partitions(EXPORT_BATCH):
            yield list(batch)

    def rows() -> Iterator[CandidateRow]:
        counts = standings.GroupCounts(assessment.id)  # read once, for every batch
        for batch in batches():
            rows = _page_rows(assessment, batch, now, viewer, counts)
            yield from rows
            # Written out: let the batch's invites and attempts go, so the session's
            # identity map (and the collector's work) does not grow with the export.
            for row in rows:
                db.session.expunge(row.invite)
                if row.attempt is not None:
                    db.session.expunge(row.attempt)

    return assessment, rows()
