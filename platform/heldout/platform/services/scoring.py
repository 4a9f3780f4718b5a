"""The scoring rules, each in one place: the statuses stored in the model columns, which
submission counts, where grading of a challenge stands, the total, an invite's state (with
its SQL twin), percentile ranks, the budget of public runs and the public-vs-final gap,
and why a graded run fell short.

Every page, export and the candidate's own page ask these functions; none keeps a copy.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from flask_babel import gettext
from sqlalchemy import ColumnElement, Float, and_, case, cast, literal, null, or_

from heldout.graders.result import Check, RunStats
from heldout.platform.models import Attempt, Invite, PublicRun, Submission

# The statuses the model columns store live beside the models (which import them); they
# are part of these rules and are named from here.
from heldout.platform.statuses import PENDING as PENDING
from heldout.platform.statuses import Counting as Counting
from heldout.platform.statuses import GradingStatus as GradingStatus
from heldout.platform.statuses import InviteState as InviteState

# --- where grading stands ------------------------------------------------------------


class Graded(Protocol):
    """What ``counted`` reads of a submission: the ORM row, or a plain value of one."""

    @property
    def status(self) -> str: ...


class Outcome(Graded, Protocol):
    """What the settling rules read of a submission: its status and any retry planned."""

    @property
    def retry_at(self) -> datetime | None: ...


def grading_pending(outcome: Outcome) -> bool:
    """Grading not over: queued, running, or a platform error that will be retried."""
    return outcome.status in PENDING or (
        outcome.status == GradingStatus.INTERNAL_ERROR and outcome.retry_at is not None)


def grading_failed(outcome: Outcome) -> bool:
    """A platform error that will not be retried by itself (a re-run, never a zero)."""
    return outcome.status == GradingStatus.INTERNAL_ERROR and outcome.retry_at is None


T = TypeVar("T", bound=Graded)


def supersedes(counting: str, held: float | None, newer: float) -> bool:
    """Whether a newer graded score takes the count from the one held so far (``held``
    None: none yet). ``last``: always. ``best``: only a strictly higher score, so of equal
    scores the earliest keeps it: a later equal or worse run never replaces it (the
    candidate is told so, and the choice never moves once made)."""
    return held is None or counting != Counting.BEST or newer > held


def counted(history: Iterable[T], counting: str, score: Callable[[T], float | None]) -> T | None:
    """The graded submission that counts, of one challenge's ``history`` (oldest first), by
    ``supersedes``. ``score`` reads an outcome's score (None: no evaluation, it can't count).
    """
    chosen: T | None = None
    top: float | None = None
    for outcome in history:
        value = score(outcome) if outcome.status == GradingStatus.GRADED else None
        if value is not None and supersedes(counting, top, value):
            chosen, top = outcome, value
    return chosen


def counted_submission(history: Sequence[Submission], counting: str) -> Submission | None:
    """``counted`` for stored submissions, scored by their evaluation."""
    return counted(history, counting,
                   lambda s: s.evaluation.score if s.evaluation is not None else None)


class Standing:
    """One challenge of one candidate: its submissions (oldest first) and the counted one.

    Subclasses (the report's and the table's) hold ``history`` and say what ``score`` is.
    """

    __slots__ = ()
    history: Sequence[Outcome]

    @property
    def score(self) -> float | None:
        raise NotImplementedError

    @property
    def pending(self) -> bool:
        """The latest submission is still being graded, or awaits a retry."""
        return bool(self.history) and grading_pending(self.history[-1])

    @property
    def failed(self) -> bool:
        """The latest submission hit a final platform error (needs a re-run, not a zero)."""
        return bool(self.history) and grading_failed(self.history[-1])

    @property
    def state(self) -> str:
        if not self.history:
            return "not submitted"
        if self.pending:
            return "grading"
        if self.failed:
            return "platform error"
        return "graded"


def submitted_any(results: Sequence[Standing]) -> bool:
    """Whether the candidate submitted anything at all (else there is no score, not a 0)."""
    return any(r.history for r in results)


def total_score(results: Sequence[Standing]) -> float | None:
    """Mean of the challenges' scores (a challenge not submitted counts 0); None while any
    is unsettled, and None when nothing was submitted at all: no submission is no score."""
    if not submitted_any(results) or any(r.pending or r.failed for r in results):
        return None
    return sum((r.score or 0.0) for r in results) / len(results)


# --- an invite's state ---------------------------------------------------------------


def invite_state(invite: Invite, now: datetime) -> InviteState:
    """What an invite is now, from its times, how its link went out and its attempt's
    deadline (nothing stored: an expiry or a deadline passes without anyone writing it)."""
    attempt = invite.attempt
    if invite.revoked_at is not None and attempt is None:
        return InviteState.REVOKED
    if invite.finished_at is not None:
        return InviteState.FINISHED
    if attempt is not None:
        return InviteState.STARTED if attempt.deadline > now else InviteState.FINISHED
    if invite.expires_at <= now:
        return InviteState.EXPIRED
    if invite.opened_at is not None:
        return InviteState.OPENED
    return InviteState.EMAILED if invite.delivery == "email" else InviteState.LINK_CREATED


def invite_state_clause(state: InviteState, now: datetime) -> ColumnElement[bool]:
    """``invite_state(invite, now) == state`` in SQL, over ``Invite`` outer-joined with its
    ``Attempt``: the same rule, branch for branch."""
    not_started = Invite.started_at.is_(None)
    live = and_(not_started, Invite.revoked_at.is_(None), Invite.expires_at > now)
    unopened = and_(live, Invite.opened_at.is_(None))
    running = and_(Invite.started_at.is_not(None), Invite.finished_at.is_(None))
    return {
        InviteState.LINK_CREATED: and_(unopened, or_(Invite.delivery.is_(None),
                                                     Invite.delivery != "email")),
        InviteState.EMAILED: and_(unopened, Invite.delivery == "email"),
        InviteState.OPENED: and_(live, Invite.opened_at.is_not(None)),
        InviteState.STARTED: and_(running, Attempt.deadline > now),
        InviteState.FINISHED: or_(Invite.finished_at.is_not(None),
                                  and_(running, Attempt.deadline <= now)),
        InviteState.EXPIRED: and_(not_started, Invite.revoked_at.is_(None),
                                  Invite.expires_at <= now),
        InviteState.REVOKED: and_(not_started, Invite.revoked_at.is_not(None)),
    }[state]


# --- percentile ranks ----------------------------------------------------------------
#
# A candidate's percentile rank: the share of the *other* candidates of the population
# whose score is lower, ties counted half, in percent: ``100 * (lower + ties / 2) / others``;
# None when there is nobody else. (A latency percentile, the value a share of requests stay
# under, is another meaning: ``report_kinds.percentile``.)


def rank_from_counts(lower: int, ties: int, others: int) -> float | None:
    """The percentile rank of a score with ``lower`` others below it and ``ties`` others
    equal, among ``others`` (``standings`` reads these counts from its aggregate)."""
    return None if others <= 0 else 100.0 * (lower + ties / 2) / others


def percentile_rank_clause(lower: ColumnElement[Any], ties: ColumnElement[Any],
                           others: ColumnElement[Any]) -> ColumnElement[float]:
    """``rank_from_counts`` in SQL, over counts (``standings.percentile_of``): the same rule, in
    double precision as Python computes it."""
    as_float = [cast(value, Float) for value in (lower, ties, others)]
    return case((others > 0, literal(100.0, Float) * (as_float[0] + as_float[1] / 2.0)
                 / as_float[2]), else_=null())


def percentile_rank(score: float, others: Iterable[float]) -> float | None:
    """``score``'s percentile rank among ``others`` (this candidate left out of them)."""
    population = list(others)
    lower = sum(1 for o in population if o < score)
    ties = sum(1 for o in population if o == score)
    return rank_from_counts(lower, ties, len(population))


def percentile_ranks(scores: Sequence[float]) -> list[float | None]:
    """Each score's ``percentile_rank`` among the rest of ``scores``, from one sort (a
    table of a thousand candidates is not a million comparisons)."""
    ordered = sorted(scores)
    ranks: list[float | None] = []
    for score in scores:
        lower = bisect.bisect_left(ordered, score)
        ties = bisect.bisect_right(ordered, score) - lower - 1  # not counting itself
        ranks.append(rank_from_counts(lower, ties, len(ordered) - 1))
    return ranks


# --- public runs: the budget, and what they said beside the final score ---------------


def public_run_spent() -> ColumnElement[bool]:
    """The public runs that count against an attempt's budget: every run of the checks,
    except one a platform error ended for good (not the candidate's doing: the run is given
    back). A run of the run console scores nothing on the public slice: it never counts."""
    return PublicRun.console.is_(None) & ~and_(PublicRun.status == GradingStatus.INTERNAL_ERROR,
                                               PublicRun.retry_at.is_(None))


def public_runs_left(budget: int | None, spent: int) -> int | None:
    """Public runs an attempt may still make of a challenge (None: no budget)."""
    return None if budget is None else max(0, budget - spent)


def latest_public_metric(evaluations: Sequence[dict[str, Any]], metric: str) -> float | None:
    """The metric the candidate last saw: that of the newest public run (oldest first in
    ``evaluations``) that scored it, as shown (rounded)."""
    for evaluation in reversed(evaluations):
        value = (evaluation.get("metrics") or {}).get(metric)
        if isinstance(value, int | float):
            return float(value)
    return None


# A final metric this much worse than the public one (a share of the public value) is
# worth a reviewer's look. The sampling error of a metric on a public slice of a few hundred
# rows is a few hundredths (of AUC, say); a tenth of the value is well beyond it. An
# estimate, not yet measured on the catalogue's submissions.
GAP_REVIEW_SHARE = 0.10


@dataclass(frozen=True)
class PublicFinalGap:
    """The metric on the public slice (latest public run, as shown) beside the final one
    (the counted submission, private slice). None: no such run or score."""

    metric: str
    public: float | None
    final: float | None
    higher_is_better: bool

    @property
    def drop(self) -> float | None:
        """How much worse the final metric is than the public one (negative: better)."""
        if self.public is None or self.final is None:
            return None
        gap = self.public - self.final
        return gap if self.higher_is_better else -gap

    @property
    def large(self) -> bool:
        """Whether the final is worse than the public value by ``GAP_REVIEW_SHARE`` of it
        or more: listed in the report's integrity panel (a model tuned to the public slice
        looks like this; so may honest bad luck on a small slice, hence evidence only)."""
        drop = self.drop
        return drop is not None and self.public is not None and self.public != 0 \
            and drop >= GAP_REVIEW_SHARE * abs(self.public)


def public_final_gap(metric: str, public: float | None, final: float | None, *,
                     higher_is_better: bool) -> PublicFinalGap:
    return PublicFinalGap(metric, public, final, higher_is_better)


# --- why a graded run fell short -----------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a run fell short, in plain words, and what to try."""

    title: str
    detail: str
    advice: str


def _run_reasons(run: RunStats, *, public: bool) -> list[Reason]:
    # In the candidate's language where a candidate reads them (English elsewhere).
    if run.timed_out or run.limit == "time":
        return [Reason(gettext("Time limit reached"),
                       gettext("The run was stopped after %(seconds)s s.",
                               seconds=round(run.wall_seconds)),
                       gettext("Look for an endless loop or a slow step (row-by-row Python "
                               "loops, a large grid search); try it on a sample of the data "
                               "first."))]
    if run.oom_killed or run.limit == "memory":
        return [Reason(gettext("Out of memory"),
                       gettext("The run was killed at the memory limit (peak %(mb)s MB).",
                               mb=round(run.peak_memory_mb)),
                       gettext("Load only the columns you need, use smaller dtypes, avoid "
                               "copies of large frames, or process the data in chunks."))]
    if run.limit is not None:
        return [Reason(gettext("The %(limit)s limit was reached",
                               limit=run.limit.replace("_", " ")),
                       gettext("The sandbox stopped the run."),
                       gettext("Write less output and fewer or smaller files; keep processes "
                               "and threads few."))]
    if run.exit_code not in (0, None):
        code = str(run.exit_code) if run.signal is None else gettext(
            "%(code)s (signal %(signal)s)", code=run.exit_code, signal=run.signal)
        if public:
            return [Reason(gettext("Your program crashed"),
                           gettext("It exited with code %(code)s; the traceback is in the "
                                   "error output below.", code=code),
                           gettext("Read the last lines of the error output: they name the "
                                   "exception and the line of your code that raised it."))]
        # A graded run's error output came from hidden data: it is never shown.
        return [Reason(gettext("Your program crashed"),
                       gettext("It exited with code %(code)s.", code=code),
                       gettext("The error output of a graded run is not shown, since it ran "
                               "on hidden data: press \"Run public checks\" to see the "
                               "traceback on the public data."))]
    return []


def shortfalls(run: RunStats | None, checks: Iterable[Check], *,
               public: bool) -> tuple[Reason, ...]:
    """Plain reasons a run lost points (run failures and unusable files), each with what to
    try. ``public``: a public-checks run, whose error output the candidate can read."""
    found = _run_reasons(run, public=public) if run is not None else []
    ran_ok = not found
    for check in checks:
        if check.passed:
            continue
        if check.name == "submission":
            found.append(Reason(gettext("Your files were not run"), check.detail,
                                gettext("Check the file names the challenge accepts and "
                                        "include the entrypoint.")))
        elif check.name == "predictions" and ran_ok:
            found.append(Reason(gettext("The output file could not be used"), check.detail,
                                gettext("Write the file the statement names, in its format: "
                                        "one row per id, the columns it asks for, no extra "
                                        "index.")))
    return tuple(found)
