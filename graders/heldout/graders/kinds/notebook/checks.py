"""The notebook kind's verdicts, read on the host from what the sandbox run left."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import (
    METRIC,
    PREDICTIONS,
    TESTS,
    CheckType,
    Tally,
    metric_check,
    tally_check,
)
from heldout.graders.compare import InvalidValue, compare, decode, show
from heldout.graders.errors import CandidateOutputError
from heldout.graders.kinds.notebook.config import (
    ANSWERS,
    CLEAN,
    EXECUTED_ARTEFACT,
    EXECUTED_NAME,
    EXPORTS,
    EXPORTS_NAME,
    LOCKED,
    MAX_REPORT_BYTES,
    REPORT_NAME,
    CellOutcome,
    Expected,
    NotebookGrading,
    PredictionsGrading,
    RunReport,
    parse_notebook,
)
from heldout.graders.metrics import METRICS
from heldout.graders.result import Check
from heldout.graders.runcheck import describe_stop
from heldout.graders.tables import read_capped, read_labels, read_predictions, strict_json
from heldout.sandbox.spec import OUTPUT, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle


def _strings(raw: Any) -> tuple[str, ...]:
    return tuple(str(item)[:80] for item in raw[:200]) if isinstance(raw, list) else ()


def read_report(result: RunResult) -> RunReport:
    """The harness's per-cell report; malformed entries are dropped, never trusted blindly."""
    shown = f"{OUTPUT}/{REPORT_NAME}"
    output = result.output(REPORT_NAME)
    if output is None:
        return RunReport(problem=f"{shown} was not written")
    try:
        raw = json.loads(read_capped(output.path, MAX_REPORT_BYTES, shown=shown))
    except CandidateOutputError as exc:
        return RunReport(problem=str(exc))
    except (ValueError, RecursionError):
        return RunReport(problem=f"{shown} is not JSON")
    if not isinstance(raw, dict):
        return RunReport(problem=f"{shown} is not a JSON object")
    cells = []
    for entry in raw.get("cells", []) if isinstance(raw.get("cells"), list) else []:
        if (not isinstance(entry, dict) or not isinstance(entry.get("index"), int)
                or entry.get("export") is True):
            continue
        grade_id = entry.get("grade_id")
        cells.append(CellOutcome(
            index=entry["index"], grade_id=grade_id if isinstance(grade_id, str) else None,
            first_line=str(entry.get("first_line", ""))[:80], status=str(entry.get("status"))[:20],
            error=str(entry.get("error", ""))[:200]))
    export = raw.get("export")
    problem = raw.get("problem")
    return RunReport(
        cells=tuple(cells), restored=_strings(raw.get("restored")),
        reinserted=_strings(raw.get("reinserted")),
        export_status=str(export.get("status")) if isinstance(export, dict) else None,
        done=raw.get("done") is True, problem=str(problem)[:300] if problem else None)


def executed_notebook(result: RunResult, config: NotebookGrading) -> dict[str, bytes]:
    """The executed notebook, kept for the report when it is a valid notebook under the cap.

    Its outputs are candidate-controlled (HTML, scripts): whoever renders it must sanitise.
    """
    output = result.output(EXECUTED_NAME)
    if output is None:
        return {}
    try:
        data = read_capped(output.path, config.max_notebook_bytes, shown=EXECUTED_NAME)
        parse_notebook(data.decode("utf-8"))
    except Exception:  # a forged or oversized file is simply not kept
        return {}
    return {EXECUTED_ARTEFACT: data}


def _code_cells(report: RunReport) -> list[CellOutcome]:
    return [cell for cell in report.cells if cell.status != "skipped"]


def clean_check(report: RunReport, result: RunResult, bundle: Bundle,
                config: NotebookGrading) -> Check:
    """Every cell ran without error; else the first failing cell, by number and first line."""
    points = config.clean_points
    stop = describe_stop(result, bundle.limits)
    if report.problem is not None and not report.cells:
        return CLEAN.failed(f"the notebook did not run: {report.problem}"
                            + (f" ({stop})" if stop else ""), max_score=points)
    cells = _code_cells(report)
    failed = [cell for cell in cells if cell.status not in ("ok", "not_run")]
    if failed:
        first = failed[0]
        what = {"error": "raised", "timeout": "timed out:", "dead": "killed the kernel:"}
        detail = f"{first.named} {what.get(first.status, first.status)} {first.error}".strip()
        more = len(failed) - 1
        return CLEAN.failed(detail + (f"; {more} more cell(s) failed" if more else ""),
                            max_score=points)
    if stop is not None or not report.done or any(c.status == "not_run" for c in cells):
        unrun = next((c for c in cells if c.status == "not_run"), None)
        where = f" before {unrun.named}" if unrun else ""
        return CLEAN.failed(f"the run stopped{where}: {stop or 'the harness did not finish'}",
                            max_score=points)
    if report.problem is not None:
        return CLEAN.failed(f"the run failed: {report.problem}", max_score=points)
    return CLEAN.passed(f"{len(cells)} code cells ran without error on a fresh kernel",
                        score=points, max_score=points)


def locked_check(report: RunReport, config: NotebookGrading) -> Check:
    locked = [cell.grade_id for cell in config.starter if cell.locked]
    if not locked:
        return LOCKED.passed("the starter has no locked cells")
    if report.problem is not None and not report.cells:
        return LOCKED.not_checked("the notebook did not run")
    known = set(locked)
    restored = [g for g in report.restored if g in known]
    reinserted = [g for g in report.reinserted if g in known]
    if not restored and not reinserted:
        return LOCKED.passed(f"all {len(locked)} locked cells as the starter wrote them")
    parts = []
    if restored:
        parts.append(f"edited, restored before the run: {', '.join(restored)}")
    if reinserted:
        parts.append(f"deleted, re-inserted before the run: {', '.join(reinserted)}")
    return LOCKED.failed("; ".join(parts))


def cells_check(report: RunReport, config: NotebookGrading) -> Check:
    """Each graded test cell earns its nbgrader points when it ran without error."""
    by_id: dict[str, CellOutcome] = {}
    for cell in report.cells:
        if cell.grade_id is not None and cell.grade_id not in by_id:
            by_id[cell.grade_id] = cell
    tallies = []
    for graded in config.graded_cells:
        outcome = by_id.get(graded.grade_id)
        label, points = graded.grade_id, graded.points
        if outcome is None:
            tallies.append(Tally(label, False, points, "did not run"))
        elif outcome.status == "ok":
            tallies.append(Tally(label, True, points))
        elif outcome.status == "not_run":
            tallies.append(Tally(label, False, points, outcome.error or "not run"))
        else:
            tallies.append(Tally(label, False, points,
                                 f"{outcome.status}: {outcome.error}".rstrip(": ")))
    return tally_check(tallies, max_score=sum(c.points for c in config.graded_cells),
                       label=f"{TESTS.name}: notebook cells")


def _read_json_output(result: RunResult, name: str, max_bytes: int) -> Any:
    shown = f"{OUTPUT}/{name}"
    output = result.output(name)
    if output is None:
        raise CandidateOutputError(f"{shown} was not written")
    data = read_capped(output.path, max_bytes, shown=shown)
    try:
        return strict_json(data)
    except (ValueError, RecursionError) as exc:
        raise CandidateOutputError(f"{shown} is not JSON: {' '.join(str(exc).split())[:120]}") from exc


def _compare_values(expected: tuple[Expected, ...], found: Mapping[str, Any], *, public: bool,
                    missing: Mapping[str, str]) -> list[Tally]:
    """One tally per expected value; ``missing`` says why a key without a value has none."""
    tallies = []
    for item in expected:
        label = show(item.key)
        if item.key not in found:
            tallies.append(Tally(label, False, item.points, missing.get(item.key, "missing")))
            continue
        try:
            actual = decode(found[item.key], where=item.key)
        except InvalidValue as exc:
            tallies.append(Tally(label, False, item.points, f"unreadable: {exc}"))
            continue
        if public:
            tallies.append(Tally(label, True, item.points))
            continue
        verdict = compare(actual, decode(json.loads(item.value_json)), tolerance=item.tolerance)
        tallies.append(Tally(label, verdict.matched, item.points, verdict.reason))
    return tallies


def _tallied(check: CheckType, tallies: list[Tally], points: float, noun: str) -> Check:
    """Like ``tally_check``, under ``check``'s name and counting ``noun`` instead of cases."""
    counted = tally_check(tallies, max_score=points)
    detail = counted.detail.replace("cases passed", noun, 1)
    return check.verdict(counted.passed, detail, score=counted.score, max_score=points)


def answers_check(result: RunResult, config: NotebookGrading, *, public: bool) -> Check:
    """The answers JSON against the hidden answers (public: present and readable only)."""
    assert config.answers_file is not None
    points = sum(a.points for a in config.answers)
    try:
        found = _read_json_output(result, config.answers_file, config.max_answers_bytes)
    except CandidateOutputError as exc:
        return ANSWERS.failed(str(exc), max_score=points)
    if not isinstance(found, dict):
        return ANSWERS.failed(f"{OUTPUT}/{config.answers_file} must be a JSON object",
                              max_score=points)
    tallies = _compare_values(config.answers, found, public=public, missing={})
    return _tallied(ANSWERS, tallies, points, "answers given" if public else "answers right")


def exports_check(result: RunResult, report: RunReport, config: NotebookGrading, *,
                  public: bool) -> Check:
    """The values the appended export cell found, against hidden expected values."""
    points = sum(e.points for e in config.exports)
    if report.export_status not in (None, "ok"):
        return EXPORTS.failed(f"the export cell did not run ({report.export_status})",
                              max_score=points)
    try:
        raw = _read_json_output(result, EXPORTS_NAME, config.max_answers_bytes)
    except CandidateOutputError as exc:
        return EXPORTS.failed(f"no exported values: {exc}", max_score=points)
    if not isinstance(raw, dict):
        return EXPORTS.failed("the exported values are not a JSON object", max_score=points)
    found: dict[str, Any] = {}
    why: dict[str, str] = {}
    for key, entry in raw.items():
        if isinstance(entry, dict) and entry.get("status") == "ok" and "value" in entry:
            found[str(key)] = entry["value"]
        elif isinstance(entry, dict):
            status = str(entry.get("status", "?"))[:20]
            why[str(key)] = "not defined" if status == "missing" else f"{status} value"
    tallies = _compare_values(config.exports, found, public=public, missing=why)
    return _tallied(EXPORTS, tallies, points, "values exported" if public else "values right")


def predictions_checks(result: RunResult, bundle: Bundle, config: PredictionsGrading,
                       metrics: dict[str, float], *, public: bool) -> list[Check]:
    """The predictions file as ``model_training`` reads it, then its metric (hidden only)."""
    metric = METRICS.get(config.metric)
    labels = read_labels(bundle.hidden_dir / config.labels, id_column=config.id_column,
                         label_column=config.label_column)
    shown = f"{OUTPUT}/{config.file}"
    format_points = config.points if public else 0.0
    output = result.output(config.file)
    try:
        if output is None:
            raise CandidateOutputError(f"{shown} was not written")
        predictions = read_predictions(output.path, shown=shown, id_column=config.id_column,
                                       value_column=config.prediction_column,
                                       expected_ids=labels.ids, max_bytes=config.max_bytes)
        unusable = metric.prediction_problem(labels.values, predictions.values)
        if unusable:
            raise CandidateOutputError(f"{shown}: {unusable}")
    except CandidateOutputError as exc:
        checks = [PREDICTIONS.failed(str(exc), max_score=format_points)]
        if not public:
            checks.append(METRIC.failed("not computed: no valid predictions",
                                        max_score=config.points, label=metric.name))
        return checks
    checks = [PREDICTIONS.passed(f"{predictions.rows} rows, one finite prediction per test id",
                                 score=format_points, max_score=format_points)]
    if not public:
        value = metric.compute(labels.values, predictions.values)
        metrics[metric.name] = round(value, 6)
        checks.append(metric_check(metric, value, baseline=config.baseline,
                                   target=config.target, max_score=config.points))
    return checks
