"""``function``: call the candidate's functions on hidden test cases in one sandbox run."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.cases import CASES_NAME, Case, CasesError, CaseSet, load_cases
from heldout.graders.checks import RUN, TESTS, CheckType, Tally, tally_check
from heldout.graders.compare import InvalidValue, compare, decode
from heldout.graders.errors import BundleError, GraderError
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.graders.tables import read_result_lines
from heldout.sandbox.profiles import get_profile
from heldout.sandbox.spec import HARNESS, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox

HARNESS_SCRIPT = "function_harness.py"
HARNESS_SOURCE = Path(__file__).resolve().parent / HARNESS_SCRIPT
RESULTS_NAME = "results.jsonl"
DEFAULT_CASE_TIMEOUT = 5.0
DEFAULT_MAX_RESULT_KB = 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
_FAILED_STATUS = {"error": "raised {error}", "timeout": "{error}", "missing": "{error}",
                  "unsupported": "returned {error}", "too_large": "{error}",
                  "crashed": "{error}"}


@dataclass(frozen=True)
class FunctionGrading(GradingConfig):
    """The validated ``[grading]`` table of a function bundle."""

    functions: tuple[str, ...]
    case_timeout: float = DEFAULT_CASE_TIMEOUT
    max_result_bytes: int = DEFAULT_MAX_RESULT_KB * 1024


@dataclass(frozen=True)
class Outcome:
    """What the harness reported for one case (parsed from untrusted output)."""

    status: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0


class FunctionKind:
    """The candidate's module defines functions; hidden cases call them, the host compares."""

    name = "function"
    summary = "implement functions; graded on hidden test cases with partial credit"
    checks: tuple[CheckType, ...] = (RUN, TESTS)
    artefacts: tuple[str, ...] = ()
    report_parts: tuple[ReportPart, ...] = ()
    roles: tuple[str, ...] = ("ml-engineer", "mlops-engineer", "researcher")

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        functions = table.string_list("functions")
        for name in functions:
            if not name.isidentifier():
                raise table.error("functions", f"{name!r} is not a Python function name")
        timeout = table.number("case_timeout", DEFAULT_CASE_TIMEOUT)
        if timeout <= 0:
            raise table.error("case_timeout", "must be positive")
        max_kb = table.integer("max_result_kb", DEFAULT_MAX_RESULT_KB, minimum=1)
        table.finish()
        if not submission.entrypoint.endswith(".py"):
            raise BundleError(f"{table.file}: [submission].entrypoint: a function challenge "
                              "imports a Python module, so it must be a .py file")
        config = FunctionGrading(functions, timeout, max_kb * 1024)
        for split in ("public", "hidden"):
            self._cases(root, split, config)
        return config

    def _cases(self, root: Path, split: str, config: FunctionGrading) -> CaseSet:
        return load_cases(root / split / CASES_NAME, functions=config.functions)

    def verify(self, bundle: Bundle) -> None:
        """Every case file parses, its references exist and fit the run's time limit."""
        config = grading_of(bundle, FunctionGrading)
        for split in ("public", "hidden"):
            cases = self._cases(bundle.root, split, config)
            total = sum(case.timeout or config.case_timeout for case in cases.cases)
            if total > bundle.limits.wall_seconds * 4:
                raise GraderError(f"{split}/{CASES_NAME}: case timeouts add up to {total:g} s, "
                                  f"far over the run's {bundle.limits.wall_seconds:g} s")

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """The split's cases (public/ or hidden/cases.jsonl), scored the same way."""
        config = grading_of(bundle, FunctionGrading)
        try:
            cases = self._cases(bundle.root, split, config)
        except CasesError as exc:
            raise GraderError(str(exc)) from exc
        with tempfile.TemporaryDirectory(prefix="heldout-harness-") as tmp:
            harness = Path(tmp) / "harness"
            output_dir = Path(tmp) / "output"
            output_dir.mkdir()
            _build_harness(harness, cases, config, get_profile(bundle.profile).ahead)
            spec = JobSpec(
                command=("python", f"{HARNESS}/{HARNESS_SCRIPT}", bundle.submission.entrypoint),
                workspace=workspace, data=bundle.public_dir, harness=harness,
                limits=bundle.limits,
                labels={"heldout.challenge": bundle.slug, "heldout.split": split},
            )
            result = sandbox.run(spec, output_dir)
            outcomes, note = read_outcomes(result, {case.number for case in cases.cases},
                                            max_bytes=len(cases.cases) * config.max_result_bytes
                                            + MAX_LINE_BYTES)
        ran = run_check(result, bundle.limits)
        if not ran.passed and note:
            ran = Check(ran.name, ran.kind, False, 0, 0, f"{ran.detail}; {note}")
        checks = [ran, *_tests_checks(cases, outcomes, ran.passed)]
        score = min(round(sum(check.score for check in checks), 2), MAX_SCORE)
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=score, checks=tuple(checks), run=RunStats.from_result(result))


def _build_harness(harness: Path, cases: CaseSet, config: FunctionGrading,
                   ahead: tuple[str, ...] = ()) -> None:
    """A fresh directory holding the harness, the calls and copies of their input files.

    Files are copied (never linked) so the harness mount shares no inode with the bundle.
    ``ahead``: modules the harness imports before it forks the cases (the runtime
    profile's, e.g. torch), so no case pays for them again.
    """
    (harness / "inputs").mkdir(parents=True)
    shutil.copyfile(HARNESS_SOURCE, harness / HARNESS_SCRIPT)
    job = {"max_result_bytes": config.max_result_bytes, "ahead": list(ahead),
           "cases": cases.harness_inputs(config.case_timeout)}
    (harness / "cases.json").write_text(json.dumps(job, allow_nan=False), encoding="utf-8")
    for relative in cases.input_files:
        target = harness / "inputs" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cases.base / relative, target)


def read_outcomes(result: RunResult, ids: set[int],
                   max_bytes: int) -> tuple[dict[int, Outcome | None], str]:
    """Each case's outcome from the results file; ``None`` marks an id reported twice."""
    return read_result_lines(result, RESULTS_NAME, max_bytes, ids, _parse_line)


def _parse_line(raw: Any) -> tuple[int, Outcome] | None:
    if not isinstance(raw, dict):
        return None
    number, status = raw.get("id"), raw.get("status")
    if not isinstance(number, int) or isinstance(number, bool) or not isinstance(status, str):
        return None
    error = raw.get("error")
    seconds = raw.get("seconds")
    return number, Outcome(status=status[:40], value=raw.get("value"),
                           error=str(error)[:300] if error is not None else "",
                           seconds=float(seconds) if isinstance(seconds, int | float) else 0.0)


def _tally(case: Case, cases: CaseSet, outcomes: Mapping[int, Outcome | None],
           run_finished: bool) -> Tally:
    if case.number not in outcomes:
        why = ("no result" if run_finished
               else "no result: the run stopped before this case finished")
        return Tally(case.label, False, case.weight, why)
    outcome = outcomes[case.number]
    if outcome is None:
        return Tally(case.label, False, case.weight, "reported more than once (forged output?)")
    if outcome.status != "ok":
        template = _FAILED_STATUS.get(outcome.status, "failed ({status})")
        return Tally(case.label, False, case.weight,
                     template.format(error=outcome.error, status=outcome.status))
    try:
        actual = decode(outcome.value, where="result")
    except InvalidValue as exc:
        return Tally(case.label, False, case.weight, f"unreadable result: {exc}")
    verdict = compare(actual, cases.expected_value(case), tolerance=case.tolerance,
                      unordered=case.unordered)
    return Tally(case.label, verdict.matched, case.weight, verdict.reason)


def _tests_checks(cases: CaseSet, outcomes: Mapping[int, Outcome | None],
                  run_finished: bool) -> list[Check]:
    """One ``tests`` check per group, each worth its share of the cases' total weight."""
    total = sum(case.weight for case in cases.cases)
    checks = []
    left = MAX_SCORE
    groups = cases.groups()
    for i, group in enumerate(groups):
        members = [case for case in cases.cases if case.group == group]
        weight = sum(case.weight for case in members)
        # The last group takes what rounding left, so a perfect run scores exactly 100.
        share = left if i == len(groups) - 1 else round(MAX_SCORE * weight / total, 2)
        left = round(left - share, 2)
        tallies = [_tally(case, cases, outcomes, run_finished) for case in members]
        label = f"{TESTS.name}: {group}" if group else TESTS.name
        checks.append(tally_check(tallies, max_score=share, label=label))
    return checks


KIND = FunctionKind()
