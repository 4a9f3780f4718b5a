"""What interviewers read: the candidates of an assessment, compare, and one candidate's report.

Percentile, everywhere on these pages: the share of the *other* graded candidates of the same
challenge version whose counted score is lower than this one, ties counted half, in percent
(``100 * (lower + ties / 2) / others``). None when nobody else was graded on that version.
For the total, the population is the other candidates of the same assessment whose counted
submissions were graded on exactly the same versions of every challenge.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from heldout.graders.errors import GraderError
from heldout.graders.variants import cached_variant
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.errors import NotFound
from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    Attempt,
    Challenge,
    DraftSnapshot,
    EvaluationRecord,
    Invite,
    Submission,
)
from heldout.platform.services import charts
from heldout.platform.services.assessments import get_assessment
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.report_kinds import (
    KindViews,
    PublicActivity,
    public_activity,
    report_kind_views,
)
from heldout.platform.services.reviews import ReviewSummary, review_summaries

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


class _Settling:
    """Where grading of one challenge stands, from its latest submission."""

    def _latest(self) -> tuple[str, datetime | None] | None:
        """(status, retry_at) of the latest submission; None when there is none."""
        raise NotImplementedError

    @property
    def pending(self) -> bool:
        """Grading not finished: a newer submission is queued/running or awaiting a retry."""
        latest = self._latest()
        if latest is None:
            return False
        status, retry_at = latest
        return status in PENDING or (status == "internal_error" and retry_at is not None)

    @property
    def failed(self) -> bool:
        """The latest submission hit a final platform error (needs a re-run, not a zero)."""
        latest = self._latest()
        return latest is not None and latest[0] == "internal_error" and latest[1] is None

    @property
    def state(self) -> str:
        if self._latest() is None:
            return "not submitted"
        if self.pending:
            return "grading"
        if self.failed:
            return "platform error"
        return "graded"


@dataclass(frozen=True)
class ChallengeResult(_Settling):
    """One challenge of one candidate. The latest graded submission is the one that counts."""

    challenge: Challenge
    history: tuple[Submission, ...]
    counted: Submission | None
    # Set on reports only: the data variant the counted score was graded on.
    variant: VariantLabel | None = None

    def _latest(self) -> tuple[str, datetime | None] | None:
        return (self.history[-1].status, self.history[-1].retry_at) if self.history else None

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


@dataclass(frozen=True)
class TableSubmission:
    """What the candidates table, compare and the exports read of a submission and its
    score: plain values from one column query (no ORM object, no files, no checks)."""

    id: int
    attempt_id: int
    challenge_id: int
    status: str
    retry_at: datetime | None
    score: float | None  # of its evaluation; None without one
    graded_version: str | None


@dataclass(frozen=True)
class TableResult(_Settling):
    """One challenge of one candidate in the table: the same rule as ``ChallengeResult``."""

    challenge: Challenge
    history: tuple[TableSubmission, ...]
    counted: TableSubmission | None

    def _latest(self) -> tuple[str, datetime | None] | None:
        return (self.history[-1].status, self.history[-1].retry_at) if self.history else None

    @property
    def graded_version(self) -> str | None:
        return self.counted.graded_version if self.counted is not None else None

    @property
    def score(self) -> float | None:
        return self.counted.score if self.counted is not None else None


def _counted(graded: list[Submission], counting: str) -> Submission | None:
    """The graded submission that counts: the latest, or (``best``) the highest score."""
    if not graded:
        return None
    if counting == "best":
        return max(reversed(graded), key=lambda s: (s.evaluation.score or 0.0)
                   if s.evaluation is not None else -1.0)
    return graded[-1]


def _results(attempt: Attempt | None, challenges: list[Challenge],
             counting: str = "last") -> list[ChallengeResult]:
    by_challenge: dict[int, list[Submission]] = {}
    if attempt is not None:
        for submission in attempt.submissions:
            by_challenge.setdefault(submission.challenge_id, []).append(submission)
    results = []
    for challenge in challenges:
        history = by_challenge.get(challenge.id, [])
        graded = [s for s in history if s.status == "graded"]
        results.append(ChallengeResult(challenge, tuple(history), _counted(graded, counting)))
    return results


def counting_of(assessment: Assessment) -> str:
    return assessment.counting or "last"


def submitted_any(results: Sequence[ChallengeResult | TableResult]) -> bool:
    """Whether the candidate submitted anything at all (else there is no score, not a 0)."""
    return any(r.history for r in results)


def total_score(results: Sequence[ChallengeResult | TableResult]) -> float | None:
    """Mean of the challenges' scores (a challenge not submitted counts 0); None while any
    is unsettled, and None when nothing was submitted at all: no submission is no score."""
    if not submitted_any(results) or any(r.pending or r.failed for r in results):
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
class ShownFile:
    name: str
    size: int
    text: str | None
    note: str = ""


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




MAX_STARTER_BYTES = 200_000
MAX_PLAYBACK_FRAMES = 30


def percentile(score: float, others: Iterable[float]) -> float | None:
    """Share of ``others`` scoring below ``score``, ties counted half (see the module doc)."""
    population = list(others)
    if not population:
        return None
    lower = sum(1 for o in population if o < score)
    ties = sum(1 for o in population if o == score)
    return 100.0 * (lower + ties / 2) / len(population)


def version_scores(challenge_ids: Sequence[int]) -> dict[tuple[int, str], dict[int, float]]:
    """Every attempt's counted score per (challenge, graded version), in one query.

    The counted submission follows each attempt's assessment rule (latest or best graded).
    """
    if not challenge_ids:
        return {}
    rows = db.session.execute(
        select(Submission.attempt_id, Submission.challenge_id, EvaluationRecord.challenge_version,
               EvaluationRecord.score, Assessment.counting)
        .join(EvaluationRecord, EvaluationRecord.submission_id == Submission.id)
        .join(Attempt, Attempt.id == Submission.attempt_id)
        .join(Invite, Invite.id == Attempt.invite_id)
        .join(Assessment, Assessment.id == Invite.assessment_id)
        .where(Submission.challenge_id.in_(challenge_ids), Submission.status == "graded",
               EvaluationRecord.score.is_not(None))
        .order_by(Submission.id))
    counted: dict[tuple[int, int], tuple[str, float]] = {}
    for attempt_id, challenge_id, version, score, rule in rows:
        key = (attempt_id, challenge_id)
        if score is None or (rule == "best" and key in counted and counted[key][1] > score):
            continue
        counted[key] = (version, float(score))
    scores: dict[tuple[int, str], dict[int, float]] = {}
    for (attempt_id, challenge_id), (version, score) in counted.items():
        scores.setdefault((challenge_id, version), {})[attempt_id] = score
    return scores


def time_used(attempt: Attempt, now: datetime) -> timedelta:
    end = attempt.finished_at or min(now, attempt.deadline)
    return max(end - attempt.started_at, timedelta(0))


@dataclass(frozen=True)
class CandidateRow:
    invite: Invite
    attempt: Attempt | None
    state: str
    results: tuple[TableResult, ...]
    total: float | None
    percentile: float | None = None
    time_used: timedelta | None = None
    review: ReviewSummary | None = None

    @property
    def review_status(self) -> str:
        if self.attempt is None:
            return "—"
        return self.review.status if self.review is not None else "not reviewed"

    @property
    def versions(self) -> tuple[str | None, ...]:
        return tuple(r.graded_version for r in self.results)

    @property
    def no_submission(self) -> bool:
        """Started, nothing submitted: no score (shown as such, never ranked as a 0)."""
        return self.attempt is not None and not submitted_any(self.results)


PER_PAGE = 100
SORTS = ("invited", "name", "state", "total", "percentile", "time", "review")
REVIEW_FILTERS = ("reviewed", "not reviewed")


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
    query per level. Their submissions come apart, as plain values (``_table_submissions``)."""
    query = select(Invite).where(Invite.assessment_id == assessment_id)
    if attempt_ids is not None:
        query = query.where(Invite.id.in_(
            select(Attempt.invite_id).where(Attempt.id.in_(attempt_ids))))
    return list(db.session.scalars(
        query.options(selectinload(Invite.attempt))
        .order_by(Invite.created_at.desc(), Invite.id.desc())))


def _table_submissions(assessment_id: int, attempt_ids: Sequence[int] | None = None
                       ) -> dict[int, list[TableSubmission]]:
    """Every submission of the assessment's attempts (or of these attempts) with its score,
    oldest first per attempt, from one column query: with a thousand candidates, ORM
    objects for their submissions and evaluations cost most of the table's time."""
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


def _table_counted(graded: list[TableSubmission], counting: str) -> TableSubmission | None:
    """``_counted`` for the table's plain values (a graded row without an evaluation
    counts below any score, as there)."""
    if not graded:
        return None
    if counting == "best":
        return max(reversed(graded), key=lambda s: (s.score or 0.0)
                   if s.graded_version is not None else -1.0)
    return graded[-1]


def _table_results(history: list[TableSubmission], challenges: list[Challenge],
                   counting: str) -> list[TableResult]:
    by_challenge: dict[int, list[TableSubmission]] = {}
    for submission in history:
        by_challenge.setdefault(submission.challenge_id, []).append(submission)
    results = []
    for challenge in challenges:
        mine = by_challenge.get(challenge.id, [])
        graded = [s for s in mine if s.status == "graded"]
        results.append(TableResult(challenge, tuple(mine), _table_counted(graded, counting)))
    return results


def _rows(assessment: Assessment, invites: list[Invite], now: datetime,
          attempt_ids: Sequence[int] | None = None) -> list[CandidateRow]:
    challenges = assessment.challenges
    counting = counting_of(assessment)
    submitted = _table_submissions(assessment.id, attempt_ids)
    summaries = review_summaries([i.attempt.id for i in invites if i.attempt is not None])
    rows = []
    for invite in invites:
        attempt = invite.attempt
        results = _table_results(submitted.get(attempt.id, []) if attempt is not None else [],
                                 challenges, counting)
        total = total_score(results) if attempt is not None else None
        rows.append(CandidateRow(
            invite, attempt, invite_state(invite, now), tuple(results), total,
            time_used=time_used(attempt, now) if attempt is not None else None,
            review=summaries.get(attempt.id) if attempt is not None else None))
    # Percentile of the total among candidates graded on the very same versions.
    peers: dict[tuple[str | None, ...], list[tuple[int, float]]] = {}
    for index, row in enumerate(rows):
        if row.total is not None and all(v is not None for v in row.versions):
            peers.setdefault(row.versions, []).append((index, row.total))
    for group in peers.values():
        ordered = sorted(score for _, score in group)
        for index, score in group:
            rows[index] = dataclasses.replace(rows[index],
                                              percentile=_percentile_in(ordered, score))
    return rows


def _percentile_in(ordered: list[float], score: float) -> float | None:
    """``percentile(score, others)`` where ``ordered`` is every score of the group, this
    one included, sorted: the same value in O(log n) instead of a pass over the group."""
    others = len(ordered) - 1
    if others <= 0:
        return None
    lower = bisect.bisect_left(ordered, score)
    ties = bisect.bisect_right(ordered, score) - lower - 1
    return 100.0 * (lower + ties / 2) / others


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


def _settled_totals(assessment: Assessment) -> dict[int, tuple[float, tuple[str | None, ...]]]:
    """Every attempt's total and counted versions, for the attempts whose total is settled
    (as ``total_score``), from one column query: no ORM object per submission."""
    challenges = [c.id for c in assessment.challenges]
    counting = counting_of(assessment)
    rows = db.session.execute(
        select(Submission.attempt_id, Submission.challenge_id, Submission.status,
               Submission.retry_at, EvaluationRecord.score, EvaluationRecord.challenge_version)
        .outerjoin(EvaluationRecord, EvaluationRecord.submission_id == Submission.id)
        .join(Attempt, Attempt.id == Submission.attempt_id)
        .join(Invite, Invite.id == Attempt.invite_id)
        .where(Invite.assessment_id == assessment.id)
        .order_by(Submission.id))
    latest: dict[tuple[int, int], tuple[str, bool]] = {}
    counted: dict[tuple[int, int], tuple[float, str]] = {}
    for attempt_id, challenge_id, status, retry_at, score, version in rows:
        key = (attempt_id, challenge_id)
        latest[key] = (status, retry_at is not None)
        if status == "graded" and score is not None and not (
                counting == "best" and key in counted and counted[key][0] > score):
            counted[key] = (float(score), version)
    totals: dict[int, tuple[float, tuple[str | None, ...]]] = {}
    for attempt_id in {a for a, _ in latest}:
        states = [latest.get((attempt_id, c)) for c in challenges]
        if any(st is not None and st[0] != "graded" for st in states):
            continue  # grading or a platform error: the total waits
        found = [counted.get((attempt_id, c)) for c in challenges]
        totals[attempt_id] = (sum(f[0] if f else 0.0 for f in found) / max(len(challenges), 1),
                              tuple(f[1] if f else None for f in found))
    return totals


def _peer_totals(totals: dict[int, tuple[float, tuple[str | None, ...]]], attempt_id: int,
                 versions: tuple[str | None, ...]) -> list[float]:
    return [score for other, (score, seen) in totals.items()
            if seen == versions and other != attempt_id]


def _total_percentile(totals: dict[int, tuple[float, tuple[str | None, ...]]],
                      row: CandidateRow) -> float | None:
    if row.attempt is None or row.total is None or any(v is None for v in row.versions):
        return None
    return percentile(row.total, _peer_totals(totals, row.attempt.id, row.versions))


def candidates_table(assessment_id: int, query: TableQuery, *, now: datetime) -> CandidatesTable:
    """The candidates of an assessment with scores, percentile, time and review state,
    filtered and sorted on the server (the page works without script)."""
    assessment = get_assessment(assessment_id)
    query = query.normalised([c.slug for c in assessment.challenges])
    rows = _rows(assessment, _table_invites(assessment_id), now)
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
    # Ties keep name order whichever the direction (Python's sort is stable, reversed too).
    shown = sorted(shown, key=lambda r: r.invite.candidate_name.casefold()) \
        if query.sort != "invited" else shown
    present = [r for r in shown if _sort_key(r, query.sort) is not None]
    missing = [r for r in shown if _sort_key(r, query.sort) is None]
    present.sort(key=lambda r: _sort_key(r, query.sort), reverse=query.descending)
    return CandidatesTable(assessment, tuple(present + missing), query, len(rows), states)


def candidates(assessment_id: int, *, now: datetime) -> tuple[Assessment, list[CandidateRow]]:
    """Every candidate of an assessment, newest invite first."""
    table = candidates_table(assessment_id, TableQuery(), now=now)
    return table.assessment, list(table.rows)


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


def compare(assessment_id: int, attempt_ids: Sequence[int], *, now: datetime) -> Comparison:
    """Candidates side by side: one column each, challenges and their checks as rows.

    Only attempts of this assessment are compared; others asked for are ignored.
    """
    assessment = get_assessment(assessment_id)
    wanted = list(dict.fromkeys(attempt_ids))[:MAX_COMPARED]
    invites = [i for i in _table_invites(assessment_id, wanted) if i.attempt is not None]
    totals = _settled_totals(assessment)
    rows = [dataclasses.replace(r, percentile=_total_percentile(totals, r))
            for r in _rows(assessment, invites, now, wanted)]
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
            counted = row.results[position].counted
            evaluation = evaluations.get(counted.id) if counted is not None else None
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


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeView:
    """One submitted file as the report shows it: highlighted, and diffed with the starter."""

    name: str
    size: int
    highlighted: Markup | None
    diff: Markup | None  # None: nothing to diff (binary, too large, or no starter file)
    note: str = ""
    diff_note: str = ""
    text: str | None = None

    @property
    def changed_lines(self) -> int:
        return 0 if self.diff is None else str(self.diff).count('class="add"') + \
            str(self.diff).count('class="del"')


def highlight(name: str, text: str) -> Markup:
    """``text`` highlighted for its file type by Pygments (which escapes every token)."""
    from pygments import highlight as render
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer
    from pygments.lexers import TextLexer, get_lexer_for_filename
    from pygments.util import ClassNotFound

    lexer: Lexer
    try:
        lexer = get_lexer_for_filename(name, stripnl=False, ensurenl=True)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    html = render(text, lexer, HtmlFormatter(cssclass="highlight", wrapcode=True))
    return Markup(html)  # noqa: S704 - Pygments escapes the text it formats


def diff_against(starter: str | None, text: str, name: str) -> tuple[Markup | None, str]:
    """A unified diff of the starter's ``name`` to the submitted one, each line escaped."""
    if starter is None:
        return None, "not in the starter: a new file"
    if starter == text:
        return None, "unchanged from the starter"
    lines = difflib.unified_diff(starter.splitlines(), text.splitlines(),
                                 f"starter/{name}", name, lineterm="", n=3)
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = "ctx"
        out.append(f'<span class="{cls}">{escape(line)}</span>')
    return Markup('<pre class="diff">' + "\n".join(out) + "</pre>"), ""  # noqa: S704


def _starter_files(slug: str, version: str) -> dict[str, str] | None:
    """The starter's text files of exactly ``version`` (None if that version is gone)."""
    try:
        bundle = get_bundles().at_version(slug, version)
    except (BundleVersionMissing, GraderError):
        return None
    files: dict[str, str] = {}
    root = bundle.starter_dir
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_STARTER_BYTES:
            try:
                files[path.relative_to(root).as_posix()] = path.read_text("utf-8")
            except UnicodeDecodeError:
                continue
    return files


def code_views(submission: Submission, blobs: BlobStore) -> tuple[CodeView, ...]:
    starter = _starter_files(submission.challenge_slug, submission.challenge_version)
    views = []
    for shown in _shown_files(submission, blobs):
        if shown.text is None:
            views.append(CodeView(shown.name, shown.size, None, None, shown.note))
            continue
        if starter is None:
            diff, note = None, "the starter of this version is no longer stored"
        else:
            diff, note = diff_against(starter.get(shown.name), shown.text, shown.name)
        views.append(CodeView(shown.name, shown.size, highlight(shown.name, shown.text), diff,
                              diff_note=note, text=shown.text))
    return tuple(views)


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


def _draft_frames(attempt_id: int, challenge_id: int) -> tuple[DraftFrame, ...]:
    """The candidate's draft snapshots of one challenge, oldest first."""
    rows = db.session.scalars(select(DraftSnapshot).where(
        DraftSnapshot.attempt_id == attempt_id, DraftSnapshot.challenge_id == challenge_id)
        .order_by(DraftSnapshot.taken_at, DraftSnapshot.id))
    return tuple(DraftFrame(r.name, r.taken_at, r.content) for r in rows)


@dataclass(frozen=True)
class ChallengeSection:
    """Everything the report shows about one challenge beyond its ``ChallengeResult``."""

    result: ChallengeResult
    percentile: float | None
    peers: int  # other graded candidates of the same version
    points: Markup | None
    metrics: tuple[Markup, ...]
    distribution: Markup | None
    timeline: Markup
    shown: Submission | None  # the counted submission, else the latest
    files: tuple[CodeView, ...]
    drafts: tuple[DraftFrame, ...]

    @property
    def playback(self) -> tuple[DraftFrame, ...]:
        """The latest snapshots, for a playback of how the work grew."""
        return self.drafts[-MAX_PLAYBACK_FRAMES:]


@dataclass(frozen=True)
class CandidateReport:
    attempt: Attempt
    invite: Invite
    assessment: Assessment
    results: tuple[ChallengeResult, ...]
    total: float | None
    time_used: timedelta
    code: dict[int, tuple[ShownFile, ...]]
    sections: tuple[ChallengeSection, ...] = ()
    percentile: float | None = None
    peers: int = 0
    skills: tuple[tuple[str, float], ...] = ()
    skills_chart: Markup | None = None
    review: ReviewSummary | None = None
    counting: str = "last"
    # Notebook, probe table, query shapes by submission id; public-check runs by challenge id.
    kinds: dict[int, KindViews] = dataclasses.field(default_factory=dict)
    activity: dict[int, PublicActivity] = dataclasses.field(default_factory=dict)

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
    points_in_time = [charts.TimelinePoint(
        s.created_at, s.evaluation.score if s.status == "graded" and s.evaluation else None,
        f"submission #{s.id}") for s in result.history]
    points_in_time += [charts.TimelinePoint(d.taken_at, None, f"draft of {d.name}", "draft")
                       for d in drafts]
    shown = result.counted or (result.history[-1] if result.history else None)
    return ChallengeSection(
        result, percentile(mine, others) if mine is not None else None, len(others), points,
        metrics, distribution, charts.timeline(points_in_time, attempt.started_at, end), shown,
        code_views(shown, blobs) if shown is not None else (), drafts)


def candidate_report(attempt_id: int, *, blobs: BlobStore, now: datetime) -> CandidateReport:
    attempt = db.session.get(Attempt, attempt_id, options=[
        selectinload(Attempt.submissions).selectinload(Submission.evaluation),
        selectinload(Attempt.submissions).selectinload(Submission.files)])
    if attempt is None:
        raise NotFound(f"No attempt {attempt_id}")
    invite = attempt.invite
    assessment = invite.assessment
    counting = counting_of(assessment)
    results = [dataclasses.replace(r, variant=_variant_label(attempt, r))
               for r in _results(attempt, assessment.challenges, counting)]
    end = attempt.finished_at or min(now, attempt.deadline)
    code = {r.counted.id: _shown_files(r.counted, blobs) for r in results if r.counted}
    for r in results:
        if r.history and r.history[-1].id not in code:
            code[r.history[-1].id] = _shown_files(r.history[-1], blobs)
    population = version_scores([c.id for c in assessment.challenges])
    sections = tuple(
        _section(attempt, r, population.get((r.challenge.id, r.graded_version or ""), {}),
                 blobs, max(end, attempt.started_at))
        for r in results)
    total = total_score(results)
    table_percentile, peers = None, 0
    versions = tuple(r.graded_version for r in results)
    if total is not None and all(v is not None for v in versions):
        group = _peer_totals(_settled_totals(assessment), attempt.id, versions)
        table_percentile, peers = percentile(total, group), len(group)
    skills = _skills(results)
    return CandidateReport(
        attempt, invite, assessment, tuple(results), total, time_used(attempt, now), code,
        sections, table_percentile, peers, skills,
        charts.skills_profile(skills) if skills else None,
        review_summaries([attempt.id])[attempt.id], counting,
        report_kind_views(results, blobs), public_activity(attempt))


@dataclass(frozen=True)
class SubmissionView:
    """Any one submission of an attempt (not only the counted one), with its code."""

    attempt: Attempt
    invite: Invite
    submission: Submission
    files: tuple[CodeView, ...]
    counted: bool
    number: int  # 1-based position among the attempt's submissions of that challenge
    of: int


def submission_view(attempt_id: int, submission_id: int, *, blobs: BlobStore) -> SubmissionView:
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.attempt_id != attempt_id:
        raise NotFound(f"No submission {submission_id} in attempt {attempt_id}")
    attempt = submission.attempt
    assessment = attempt.invite.assessment
    siblings = [s for s in attempt.submissions if s.challenge_id == submission.challenge_id]
    results = _results(attempt, [submission.challenge], counting_of(assessment))
    counted = results[0].counted
    return SubmissionView(attempt, attempt.invite, submission, code_views(submission, blobs),
                          counted is not None and counted.id == submission.id,
                          siblings.index(submission) + 1, len(siblings))


def check_explanation(name: str, kind: str) -> str:
    """The registered explanation of a check, worded for staff."""
    from heldout.graders import checks

    return checks.explain(name, kind)
