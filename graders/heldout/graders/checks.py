"""Check types by short name: what each verdict in a report means, and how it is built.

A kind composes its evaluation from registered check types instead of inlining verdicts,
so every check an interviewer reads has one name and one explanation across all kinds.
The types shared by several kinds are registered here; a kind's own ones are registered
with the kind (see :mod:`heldout.graders.kinds`), so ``CHECKS`` loads the kinds before
answering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from heldout.graders.metrics import Metric, points
from heldout.graders.registry import Registry
from heldout.graders.result import Check, CheckKind

__all__ = [
    "CHECKS", "METRIC", "PREDICTIONS", "RUN", "SHARED", "SUBMISSION", "TESTS", "CheckType",
    "Tally", "explain", "metric_check", "tally_check", "type_of",
]

NOT_CHECKED = "not checked: "
MAX_FAILURES_SHOWN = 3


@dataclass(frozen=True)
class CheckType:
    """A registered kind of verdict: ``name`` is user-visible, ``explanation`` one line.

    ``explanation`` is written for staff reading a report ("the candidate's program");
    ``to_candidate`` is the same line addressed to the candidate ("your program"), when
    the staff wording would not read right to them.

    ``kind`` is the coarse family of the ``heldout grade`` JSON contract (run, test,
    metric, probe). A check built with a ``label`` is named ``label`` in the report
    (e.g. a metric's own name, or ``tests: ties``) but still belongs to this type.
    """

    name: str
    kind: CheckKind
    explanation: str
    to_candidate: str = ""

    def explained(self, *, to_candidate: bool = False) -> str:
        """The one-line explanation for staff, or for the candidate."""
        return (self.to_candidate or self.explanation) if to_candidate else self.explanation

    def verdict(self, passed: bool, detail: str, *, score: float = 0.0, max_score: float = 0.0,
                label: str | None = None) -> Check:
        return Check(label or self.name, self.kind, passed, score, max_score, detail)

    def passed(self, detail: str, *, score: float = 0.0, max_score: float = 0.0,
               label: str | None = None) -> Check:
        return self.verdict(True, detail, score=score, max_score=max_score, label=label)

    def failed(self, detail: str, *, score: float = 0.0, max_score: float = 0.0,
               label: str | None = None) -> Check:
        return self.verdict(False, detail, score=score, max_score=max_score, label=label)

    def not_checked(self, why: str, *, max_score: float = 0.0, label: str | None = None) -> Check:
        """A check that could not run because an earlier one failed: zero points, said so."""
        return self.failed(NOT_CHECKED + why, max_score=max_score, label=label)


CHECKS: Registry[CheckType] = Registry("check", filled_by="heldout.graders.kinds")

SUBMISSION = CHECKS.register(CheckType(
    "submission", "run",
    "the submitted files fit the challenge (names, count, size, entrypoint); refused ones "
    "are not run"))
RUN = CHECKS.register(CheckType(
    "run", "run",
    "the candidate's program ran to the end within its time, memory, process and output limits",
    "your program ran to the end within its time, memory, process and output limits"))
PREDICTIONS = CHECKS.register(CheckType(
    "predictions", "test",
    "the predictions file exists, parses, and has exactly one finite value per test id"))
METRIC = CHECKS.register(CheckType(
    "metric", "metric",
    "a model metric on hidden labels, scored linearly from the baseline (0) to the target (full)"))
TESTS = CHECKS.register(CheckType(
    "tests", "test",
    "the candidate's functions called on hidden test cases; points per case, weighted",
    "your functions called on hidden test cases; points per case, weighted"))
# Registered here once; a kind that uses them lists them among its checks all the same.
SHARED = (SUBMISSION, RUN, PREDICTIONS, METRIC, TESTS)


def type_of(name: str, kind: str) -> CheckType | None:
    """The registered type a verdict named ``name`` of family ``kind`` belongs to: by its
    name, by the ``type: detail`` form of a labelled one (``tests: ties``, ``query:
    retention``), or for a metric named after itself (``roc_auc``), ``metric``. None when
    no registered type fits.
    """
    known = CHECKS.known()
    for candidate in (name, name.split(":", 1)[0].strip()):
        if candidate in known:
            return CHECKS.get(candidate)
    return METRIC if kind == METRIC.kind else None


def explain(name: str, kind: str, *, to_candidate: bool = False) -> str:
    """The registered explanation of a check (see :func:`type_of`; a ``run`` verdict of no
    registered type reads as ``run``); "" for none. Staff wording unless ``to_candidate``."""
    found = type_of(name, kind) or (RUN if kind == RUN.kind else None)
    return found.explained(to_candidate=to_candidate) if found is not None else ""


def metric_check(metric: Metric, value: float, *, baseline: float, target: float,
                 max_score: float, scope: str = "", digits: int = 4) -> Check:
    """The scored ``metric`` check, named after the metric itself; ``scope`` says which
    rows it was measured on (e.g. "on the public slice"), ``digits`` how it is shown."""
    earned = round(points(value, baseline=baseline, target=target, max_points=max_score), 2)
    where = f" {scope}" if scope else ""
    detail = (f"{metric.name} {value:.{digits}f}{where}: {earned:g} of {max_score:g} points "
              f"(0 at baseline {baseline:g}, all at target {target:g}; "
              f"{'higher' if metric.higher_is_better else 'lower'} is better)")
    return METRIC.verdict(earned > 0, detail, score=earned, max_score=max_score, label=metric.name)


@dataclass(frozen=True)
class Tally:
    """The outcome of one test case as a ``tests`` check counts it."""

    label: str  # how the case is named in a detail line, e.g. "case 3"
    passed: bool
    weight: float
    reason: str = ""  # why it failed, e.g. "expected 0.75, got 0.5"


def tally_check(tallies: Sequence[Tally], *, max_score: float, label: str | None = None) -> Check:
    """One ``tests`` check over some cases: weighted partial credit, first failures named."""
    total = sum(t.weight for t in tallies)
    won = sum(t.weight for t in tallies if t.passed)
    earned = round(max_score * won / total, 2) if total > 0 else 0.0
    earned = min(earned, max_score)
    passed = sum(1 for t in tallies if t.passed)
    detail = f"{passed}/{len(tallies)} cases passed"
    failures = [t for t in tallies if not t.passed]
    if failures:
        shown = "; ".join(f"{t.label}: {t.reason}" for t in failures[:MAX_FAILURES_SHOWN])
        more = len(failures) - MAX_FAILURES_SHOWN
        detail += f"; {shown}" + (f"; and {more} more" if more > 0 else "")
    return TESTS.verdict(bool(tallies) and not failures, detail, score=earned,
                         max_score=max_score, label=label)
