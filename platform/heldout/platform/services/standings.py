"""Standings: what the scoring rules make of each attempt, kept as rows (its settled total,
its counted score per challenge) with the percentile aggregate of each assessment's
version groups, so a page ranks, sorts and pages in SQL whatever the population.

They are written whenever a submission or its evaluation is written (a score lands, a new
submission makes a total unsettled, a submission goes away) by a session hook, so every
path that grades, submits or deletes keeps them: the hook refreshes the attempts touched
just before the transaction commits, in that transaction. Bulk deletions (erasure) call
``forget`` themselves. ``rebuild`` computes everything again from the submissions: the
migration fills the tables with it, and ``heldout standings rebuild`` repairs them.

The rules themselves stay in ``scoring`` (which submission counts, the total, the
percentile rank); this module only stores their results and reads ranks from counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, scoped_session

from heldout.platform.extensions import db
from heldout.platform.models import (
    Assessment,
    AssessmentChallenge,
    Attempt,
    AttemptStanding,
    ChallengeStanding,
    EvaluationRecord,
    Invite,
    ScoreAggregate,
    Submission,
)
from heldout.platform.services.scoring import (
    Standing,
    counted,
    percentile_rank_clause,
    rank_from_counts,
    total_score,
)

Versions = tuple[str | None, ...]  # the graded version of each challenge, in order
# The app's scoped session, or a plain one (the migration's, on its connection).
AnySession = Session | scoped_session[Any]
_TOUCHED = "heldout.standings.attempts"
_TOUCHED_SUBMISSIONS = "heldout.standings.submissions"
_TOUCHED_ASSESSMENTS = "heldout.standings.assessments"


def group_key(versions: Versions) -> str | None:
    """The version group a total is ranked in (totals of other versions are not
    comparable); None when a challenge was never graded: such a total is not ranked."""
    if any(v is None for v in versions):
        return None
    return hashlib.sha256("\n".join(v or "" for v in versions).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Try:
    """A submission as the rules read it: status, retry planned, score, graded version."""

    id: int
    status: str
    retry_at: Any
    score: float | None
    version: str | None


@dataclass(frozen=True, slots=True)
class _Result(Standing):
    history: tuple[_Try, ...]
    counted: _Try | None

    @property
    def score(self) -> float | None:
        return self.counted.score if self.counted is not None else None


@dataclass(frozen=True)
class Computed:
    """One attempt's standing as the rules give it."""

    assessment_id: int
    total: float | None
    versions: str | None
    # challenge id -> counted score, graded version, counted submission
    scores: dict[int, tuple[float, str, int]]


def compute(session: AnySession, attempt_ids: Collection[int]) -> dict[int, Computed]:
    """The standing of each of these attempts (missing: no such attempt any more), from
    their submissions and the ``scoring`` rules, in a few column queries."""
    if not attempt_ids:
        return {}
    ids = list(attempt_ids)
    owners: dict[int, int] = {attempt: assessment for attempt, assessment in session.execute(
        select(Attempt.id, Invite.assessment_id).join(Invite, Invite.id == Attempt.invite_id)
        .where(Attempt.id.in_(ids)))}
    assessments = set(owners.values())
    counting: dict[int, str] = {assessment: str(rule) for assessment, rule in session.execute(
        select(Assessment.id, Assessment.counting).where(Assessment.id.in_(assessments)))}
    challenges: dict[int, list[int]] = {}
    for assessment_id, challenge_id in session.execute(
            select(AssessmentChallenge.assessment_id, AssessmentChallenge.challenge_id)
            .where(AssessmentChallenge.assessment_id.in_(assessments))
            .order_by(AssessmentChallenge.assessment_id, AssessmentChallenge.position)):
        challenges.setdefault(assessment_id, []).append(challenge_id)
    tries: dict[tuple[int, int], list[_Try]] = {}
    # Ordered by attempt first: the attempt index gives that order (SQLite walked every
    # submission in id order otherwise, whatever the attempts asked for).
    rows = session.execute(
        select(Submission.id, Submission.attempt_id, Submission.challenge_id, Submission.status,
               Submission.retry_at, EvaluationRecord.id, EvaluationRecord.score,
               EvaluationRecord.challenge_version)
        .outerjoin(EvaluationRecord, EvaluationRecord.submission_id == Submission.id)
        .where(Submission.attempt_id.in_(ids)).order_by(Submission.attempt_id, Submission.id))
    for submission_id, attempt_id, challenge_id, status, retry_at, evaluation_id, score, \
            version in rows:
        tries.setdefault((attempt_id, challenge_id), []).append(_Try(
            submission_id, str(status), retry_at, float(score) if score is not None else None,
            version if evaluation_id is not None else None))
    found: dict[int, Computed] = {}
    for attempt_id, assessment_id in owners.items():
        rule = str(counting[assessment_id])
        results = []
        for challenge_id in challenges.get(assessment_id, []):
            history = tuple(tries.get((attempt_id, challenge_id), ()))
            results.append(_Result(history, counted(history, rule, lambda t: t.score)))
        total = total_score(results)
        versions: Versions = tuple(r.counted.version if r.counted is not None else None
                                   for r in results)
        found[attempt_id] = Computed(
            assessment_id, total, group_key(versions) if total is not None else None,
            {challenge_id: (r.counted.score, r.counted.version or "", r.counted.id)
             for challenge_id, r in zip(challenges.get(assessment_id, []), results, strict=True)
             if r.counted is not None and r.counted.score is not None})
    return found


def _count(session: AnySession, assessment_id: int, versions: str, total: float,
           change: int) -> None:
    """Add ``change`` to how many ranked totals hold ``total`` (atomic in SQL: two workers
    landing the same total at once both count)."""
    if change > 0:
        values = {"assessment_id": assessment_id, "versions": versions, "total": total,
                  "count": change}
        keys = ["assessment_id", "versions", "total"]
        dialect = session.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(ScoreAggregate)
            session.execute(upsert.values(**values).on_conflict_do_update(
                index_elements=keys,
                set_={"count": ScoreAggregate.count + upsert.excluded.count}))
            return
        moved = session.execute(update(ScoreAggregate).where(
            ScoreAggregate.assessment_id == assessment_id, ScoreAggregate.versions == versions,
            ScoreAggregate.total == total).values(count=ScoreAggregate.count + change))
        if not moved.rowcount:  # type: ignore[attr-defined]
            session.execute(insert(ScoreAggregate).values(**values))
        return
    where = (ScoreAggregate.assessment_id == assessment_id, ScoreAggregate.versions == versions,
             ScoreAggregate.total == total)
    session.execute(update(ScoreAggregate).where(*where)
                    .values(count=ScoreAggregate.count + change))
    session.execute(delete(ScoreAggregate).where(*where, ScoreAggregate.count <= 0))


def _ranked(assessment_id: int | None, total: float | None,
            versions: str | None) -> tuple[int, str, float] | None:
    if assessment_id is None or total is None or versions is None:
        return None
    return assessment_id, versions, total


def refresh(session: AnySession, attempt_ids: Iterable[int]) -> None:
    """Write these attempts' standings as the rules give them now, moving their totals in
    the percentile aggregate (an attempt gone: its standing and counts go)."""
    ids = sorted(set(attempt_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One writer per attempt at a time: a second waits, then reads what the first wrote.
        # FOR NO KEY UPDATE: a plain FOR UPDATE also waits for the key-share lock another
        # transaction's new submission (or deadline claim) holds on the attempt through its
        # foreign key, while that one may wait for this one's claim: a deadlock (two deadline
        # workers racing for the same drafts).
        session.execute(select(Attempt.id).where(Attempt.id.in_(ids))
                        .with_for_update(key_share=True))
    now = compute(session, ids)
    held = {row.attempt_id: row for row in session.execute(
        select(AttemptStanding.attempt_id, AttemptStanding.assessment_id,
               AttemptStanding.total, AttemptStanding.versions)
        .where(AttemptStanding.attempt_id.in_(ids)))}
    for attempt_id in ids:
        old, new = held.get(attempt_id), now.get(attempt_id)
        if new is not None and new.total is None:
            new = None  # no settled total: no row (as an attempt never written)
        before = _ranked(old.assessment_id, old.total, old.versions) if old is not None else None
        after = _ranked(new.assessment_id, new.total, new.versions) if new is not None else None
        if before != after:
            if before is not None:
                _count(session, *before, -1)
            if after is not None:
                _count(session, *after, +1)
        if old is not None and (new is None or (old.assessment_id, old.total, old.versions)
                                != (new.assessment_id, new.total, new.versions)):
            session.execute(delete(AttemptStanding)
                            .where(AttemptStanding.attempt_id == attempt_id))
            old = None
        if new is not None and old is None:
            session.execute(insert(AttemptStanding).values(
                attempt_id=attempt_id, assessment_id=new.assessment_id, total=new.total,
                versions=new.versions))
    session.execute(delete(ChallengeStanding).where(ChallengeStanding.attempt_id.in_(ids)))
    scores = [{"attempt_id": a, "challenge_id": c, "score": s, "version": v,
               "submission_id": sid}
              for a, computed in now.items() for c, (s, v, sid) in computed.scores.items()]
    if scores:
        session.execute(insert(ChallengeStanding), scores)


def forget(session: AnySession, attempt_ids: Collection[int]) -> None:
    """Take these attempts out of the standings before they are deleted in bulk."""
    if not attempt_ids:
        return
    for _, assessment_id, total, versions in session.execute(
            select(AttemptStanding.attempt_id, AttemptStanding.assessment_id,
                   AttemptStanding.total, AttemptStanding.versions)
            .where(AttemptStanding.attempt_id.in_(list(attempt_ids)))).all():
        ranked = _ranked(assessment_id, total, versions)
        if ranked is not None:
            _count(session, *ranked, -1)
    session.execute(delete(AttemptStanding)
                    .where(AttemptStanding.attempt_id.in_(list(attempt_ids))))
    session.execute(delete(ChallengeStanding)
                    .where(ChallengeStanding.attempt_id.in_(list(attempt_ids))))


def rebuild(session: AnySession, assessment_ids: Collection[int] | None = None,
            batch: int = 500) -> int:
    """Compute the standings of every attempt (of these assessments) from scratch and
    replace what is stored; the number of attempts. The caller commits."""
    scope: list[ColumnElement[bool]] = [] if assessment_ids is None else \
        [Invite.assessment_id.in_(list(assessment_ids))]
    kept: list[ColumnElement[bool]] = [] if assessment_ids is None else \
        [AttemptStanding.assessment_id.in_(list(assessment_ids))]
    aggregates: list[ColumnElement[bool]] = [] if assessment_ids is None else \
        [ScoreAggregate.assessment_id.in_(list(assessment_ids))]
    stale = select(AttemptStanding.attempt_id).where(*kept)
    session.execute(delete(ChallengeStanding).where(ChallengeStanding.attempt_id.in_(stale)))
    session.execute(delete(AttemptStanding).where(*kept))
    session.execute(delete(ScoreAggregate).where(*aggregates))
    ids = list(session.scalars(select(Attempt.id).join(Invite, Invite.id == Attempt.invite_id)
                               .where(*scope).order_by(Attempt.id)))
    counts: dict[tuple[int, str, float], int] = {}
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        computed = compute(session, chunk)
        if not computed:
            continue
        settled = [{"attempt_id": a, "assessment_id": c.assessment_id, "total": c.total,
                    "versions": c.versions} for a, c in computed.items() if c.total is not None]
        if settled:
            session.execute(insert(AttemptStanding), settled)
        scores = [{"attempt_id": a, "challenge_id": ch, "score": s, "version": v,
                   "submission_id": sid}
                  for a, c in computed.items() for ch, (s, v, sid) in c.scores.items()]
        if scores:
            session.execute(insert(ChallengeStanding), scores)
        for c in computed.values():
            ranked = _ranked(c.assessment_id, c.total, c.versions)
            if ranked is not None:
                counts[ranked] = counts.get(ranked, 0) + 1
    if counts:
        session.execute(insert(ScoreAggregate), [
            {"assessment_id": a, "versions": v, "total": t, "count": n}
            for (a, v, t), n in counts.items()])
    return len(ids)


# --- reading ranks from the aggregate --------------------------------------------------


def settled_totals(assessment_id: int) -> dict[int, float]:
    """Every attempt of the assessment whose total is settled, and that total (one column
    query over the standings)."""
    return {attempt_id: float(total) for attempt_id, total in db.session.execute(
        select(AttemptStanding.attempt_id, AttemptStanding.total)
        .where(AttemptStanding.assessment_id == assessment_id)) if total is not None}


def rank_table(assessment_id: int) -> Subquery:
    """Per version group and total of an assessment: how many ranked totals are lower,
    how many equal it, how many there are. Its size is the number of distinct totals,
    not of candidates."""
    lower = func.coalesce(func.sum(ScoreAggregate.count).over(
        partition_by=ScoreAggregate.versions, order_by=ScoreAggregate.total,
        rows=(None, -1)), 0)
    return (select(ScoreAggregate.versions, ScoreAggregate.total,
                   lower.label("lower"), ScoreAggregate.count.label("equal"),
                   func.sum(ScoreAggregate.count).over(
                       partition_by=ScoreAggregate.versions).label("ranked"))
            .where(ScoreAggregate.assessment_id == assessment_id).subquery("ranks"))


def joins_rank(ranks: Subquery) -> ColumnElement[bool]:
    """The condition joining ``AttemptStanding`` to its row of ``rank_table``."""
    return and_(ranks.c.versions == AttemptStanding.versions,
                ranks.c.total == AttemptStanding.total)


def percentile_of(ranks: Subquery) -> ColumnElement[float]:
    """An attempt's percentile rank from its row of ``rank_table`` (itself left out)."""
    return percentile_rank_clause(ranks.c.lower, ranks.c.equal - 1, ranks.c.ranked - 1)


@dataclass(frozen=True)
class Ranked:
    """A total's percentile rank, and how many others it was ranked among."""

    percentile: float | None
    peers: int


class GroupCounts:
    """The counts of an assessment's version groups (how many ranked totals are lower and
    equal, per distinct total, and the group's size), each group read once when first
    asked for: an export ranks every batch against the counts it read for the first."""

    def __init__(self, assessment_id: int) -> None:
        self.assessment_id = assessment_id
        self.counts: dict[tuple[str, float], tuple[int, int]] = {}  # (lower, equal)
        self.sizes: dict[str, int] = {}

    def read(self, groups: Collection[str]) -> None:
        """Read the counts of these groups not read yet (one query)."""
        missing = sorted(set(groups) - set(self.sizes))
        if not missing:
            return
        for group in missing:
            self.sizes[group] = 0
        for versions, total, count in db.session.execute(
                select(ScoreAggregate.versions, ScoreAggregate.total, ScoreAggregate.count)
                .where(ScoreAggregate.assessment_id == self.assessment_id,
                       ScoreAggregate.versions.in_(missing))
                .order_by(ScoreAggregate.versions, ScoreAggregate.total)):
            below = self.sizes[versions]
            self.counts[(versions, total)] = (below, count)
            self.sizes[versions] = below + count


def ranked(assessment_id: int, attempt_ids: Sequence[int],
           counts: GroupCounts | None = None) -> dict[int, Ranked]:
    """The percentile rank of these attempts' totals (ranked attempts only): their
    standings, and the counts of their version groups (one row per distinct total; given
    ``counts``, only the groups it has not read yet), in two queries; the rank from the
    counts by ``scoring.rank_from_counts``."""
    if not attempt_ids:
        return {}
    mine = db.session.execute(
        select(AttemptStanding.attempt_id, AttemptStanding.versions, AttemptStanding.total)
        .where(AttemptStanding.attempt_id.in_(list(attempt_ids)),
               AttemptStanding.versions.is_not(None), AttemptStanding.total.is_not(None))).all()
    groups = {str(versions) for _, versions, _ in mine}
    if not groups:
        return {}
    counts = counts if counts is not None else GroupCounts(assessment_id)
    counts.read(groups)
    found = {}
    for attempt_id, group, value in mine:
        if group is not None and value is not None and (group, value) in counts.counts:
            lower, equal = counts.counts[(group, value)]
            size = counts.sizes[group]
            found[attempt_id] = Ranked(rank_from_counts(lower, equal - 1, size - 1), size - 1)
    return found


# --- kept up to date as submissions are written ------------------------------------------


@event.listens_for(Session, "after_flush")
def _note_touched(session: Session, _context: Any) -> None:
    attempts: set[int] = session.info.setdefault(_TOUCHED, set())
    submissions: set[int] = session.info.setdefault(_TOUCHED_SUBMISSIONS, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Submission) and obj.attempt_id is not None:
            attempts.add(obj.attempt_id)
        elif isinstance(obj, EvaluationRecord) and obj.submission_id is not None:
            submissions.add(obj.submission_id)
        elif isinstance(obj, Assessment) and obj in session.dirty and \
                inspect(obj).attrs.counting.history.has_changes():
            session.info.setdefault(_TOUCHED_ASSESSMENTS, set()).add(obj.id)


@event.listens_for(Session, "before_commit")
def _refresh_touched(session: Session) -> None:
    for _ in range(3):  # refreshing writes no submission: one more pass at most
        session.flush()
        attempts: set[int] = session.info.pop(_TOUCHED, set())
        submissions: set[int] = session.info.pop(_TOUCHED_SUBMISSIONS, set())
        assessments: set[int] = session.info.pop(_TOUCHED_ASSESSMENTS, set())
        if submissions:
            attempts |= set(session.scalars(select(Submission.attempt_id)
                                            .where(Submission.id.in_(list(submissions)))))
        if not attempts and not assessments:
            return
        if assessments:
            rebuild(session, assessments)
        refresh(session, attempts)


@event.listens_for(Session, "after_rollback")
def _forget_touched(session: Session) -> None:
    for key in (_TOUCHED, _TOUCHED_SUBMISSIONS, _TOUCHED_ASSESSMENTS):
        session.info.pop(key, None)
