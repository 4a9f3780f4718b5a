"""``notebook``: run the candidate's notebook top to bottom in the sandbox, check what it left.

The submission (an ``.ipynb``, or a ``.py`` percent-format script in its place) is read on
the host first; a malformed notebook is graded, never run. In one sandbox run a trusted
harness discards the file's outputs, restores the starter's locked cells (nbgrader
metadata), executes every cell on a fresh kernel with per-cell and total time limits and
appends a cell that exports the values the bundle names. On the host: did every cell run
clean, which graded test cells passed, the answers JSON and exports against hidden
expected values, the predictions against hidden labels. Hidden answers never enter the
sandbox; everything read back from it is untrusted (candidate code shared the container).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import (
    METRIC,
    PREDICTIONS,
    RUN,
    TESTS,
    CheckType,
    Tally,
    metric_check,
    tally_check,
)
from heldout.graders.compare import InvalidValue, Tolerance, compare, decode, show
from heldout.graders.errors import BundleError, CandidateOutputError, GraderError
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.notebook.render import read_executed
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.metrics import METRICS, read_scale
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import describe_stop, run_check
from heldout.graders.tables import read_capped, read_labels, read_predictions, strict_json
from heldout.sandbox.spec import HARNESS, OUTPUT, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox

HARNESS_SCRIPT = "notebook_harness.py"
HARNESS_SOURCE = Path(__file__).resolve().parent / HARNESS_SCRIPT
REPORT_NAME = "notebook_run.json"
EXECUTED_NAME = "executed.ipynb"
EXPORTS_NAME = "exports.json"
# The key of Evaluation.artefacts under which the executed notebook is kept for the report.
EXECUTED_ARTEFACT = "executed.ipynb"
DEFAULT_CELL_TIMEOUT = 30.0
KERNEL_START_MARGIN = 20.0  # seconds of the run's wall time kept for the kernel to start and stop
DEFAULT_MAX_NOTEBOOK_MB = 8.0
DEFAULT_MAX_ANSWERS_KB = 64
MAX_REPORT_BYTES = 4 * 1024 * 1024
MAX_SHOWN_FAILURES = 3

NOTEBOOK = CheckType(
    "notebook", "test",
    "the submission is a valid Jupyter notebook (nbformat) or a percent-format Python script")
CLEAN = CheckType(
    "runs-clean", "run",
    "every cell ran without error, top to bottom on a fresh kernel, within the per-cell and "
    "total time limits")
LOCKED = CheckType(
    "locked-cells", "test",
    "the starter's locked cells (tests, instructions) were left as written; changed ones are "
    "restored and deleted ones re-inserted before the run")
ANSWERS = CheckType(
    "answers", "test",
    "the answers file the statement asks for, compared with hidden expected answers within "
    "a tolerance")
EXPORTS = CheckType(
    "exports", "test",
    "values the notebook left under the names the statement gives, read after its last cell "
    "and compared with hidden expected values")


@dataclass(frozen=True)
class StarterCell:
    """One nbgrader cell of the starter notebook: a locked cell keeps its JSON to restore."""

    grade_id: str
    locked: bool
    points: float
    first_line: str
    cell_json: str


@dataclass(frozen=True)
class Expected:
    """One hidden expected value (an answer or an export) and what it is worth."""

    key: str
    value_json: str  # tagged JSON (see heldout.graders.compare), decoded when compared
    tolerance: Tolerance
    points: float
    question: str = ""


@dataclass(frozen=True)
class PredictionsGrading:
    """``[grading.predictions]``: a predictions file scored like ``model_training``."""

    metric: str
    baseline: float
    target: float
    points: float
    id_column: str
    prediction_column: str
    label_column: str
    file: str = "predictions.csv"
    labels: str = "labels.csv"
    max_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class NotebookGrading(GradingConfig):
    """The validated ``[grading]`` table of a notebook bundle."""

    starter: tuple[StarterCell, ...]
    order: tuple[str, ...]  # every nbgrader grade_id of the starter, in its order
    clean_points: float
    cell_timeout: float
    total_timeout: float
    answers_file: str | None = None
    answers: tuple[Expected, ...] = ()
    exports: tuple[Expected, ...] = ()
    predictions: PredictionsGrading | None = None
    max_notebook_bytes: int = int(DEFAULT_MAX_NOTEBOOK_MB * 1024 * 1024)
    max_answers_bytes: int = DEFAULT_MAX_ANSWERS_KB * 1024

    @property
    def graded_cells(self) -> tuple[StarterCell, ...]:
        return tuple(cell for cell in self.starter if cell.points > 0)


@dataclass(frozen=True)
class Submitted:
    """The submission as read on the host: its format, or why it can't be run."""

    format: str  # "ipynb" or "script"
    problem: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class CellOutcome:
    """One cell of the executed notebook as the harness reported it (untrusted)."""

    index: int
    grade_id: str | None
    first_line: str
    status: str
    error: str

    @property
    def named(self) -> str:
        line = f" `{self.first_line}`" if self.first_line else ""
        return f"cell {self.index + 1}{line}"


@dataclass(frozen=True)
class RunReport:
    """The harness's report, parsed defensively; ``problem`` when it is missing or unusable."""

    cells: tuple[CellOutcome, ...] = ()  # the candidate's and the starter's, not the export cell
    restored: tuple[str, ...] = ()
    reinserted: tuple[str, ...] = ()
    export_status: str | None = None
    done: bool = False
    problem: str | None = None


def _plain_name(table: Table, key: str, default: str) -> str:
    value = table.string(key, default)
    pure = PurePosixPath(value)
    if pure.is_absolute() or len(pure.parts) != 1 or value != pure.as_posix() or "\\" in value:
        raise table.error(key, f"must be a plain file name, got {value!r}")
    return value


def _read_notebook(text: str) -> Any:
    """An nbformat v4 node; nbformat's own exceptions (or ValueError) when it is not one."""
    import nbformat

    with warnings.catch_warnings():
        # Old notebooks without cell ids are normalised, with a warning we don't need.
        warnings.simplefilter("ignore")
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    return notebook


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            text = line.strip()
            return text if len(text) <= 80 else text[:80] + "…"
    return ""


def read_starter(path: Path, shown: str) -> tuple[tuple[StarterCell, ...], tuple[str, ...]]:
    """The nbgrader cells of a bundle's starter notebook, validated."""
    try:
        notebook = _read_notebook(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{shown}: missing (a notebook bundle ships its starter notebook)") from None
    except Exception as exc:  # nbformat raises several unrelated types
        raise BundleError(f"{shown}: not a valid notebook: {exc}") from exc
    cells: list[StarterCell] = []
    order: list[str] = []
    for index, cell in enumerate(notebook.cells, 1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(grade_id, str) or not grade_id.strip():
            raise BundleError(f"{shown}: cell {index}: nbgrader metadata without a grade_id")
        if grade_id in order:
            raise BundleError(f"{shown}: cell {index}: grade_id {grade_id!r} appears twice")
        order.append(grade_id)
        graded, locked = bool(meta.get("grade")), bool(meta.get("locked"))
        raw_points = meta.get("points", 0) if graded else 0
        if not isinstance(raw_points, int | float) or isinstance(raw_points, bool) \
                or not math.isfinite(raw_points) or raw_points < 0:
            raise BundleError(f"{shown}: cell {index} ({grade_id}): points must be a "
                              "non-negative number")
        if graded and meta.get("solution"):
            raise BundleError(f"{shown}: cell {index} ({grade_id}): manually graded answer "
                              "cells (grade and solution) are not supported; grade the "
                              "answer with a locked test cell")
        if graded and raw_points > 0 and (not locked or cell.cell_type != "code"):
            raise BundleError(f"{shown}: cell {index} ({grade_id}): a graded cell must be a "
                              "locked code cell, or a candidate could edit it")
        cell_json = json.dumps(cell, sort_keys=True) if locked else ""
        cells.append(StarterCell(grade_id, locked, float(raw_points), _first_line(cell.source),
                                 cell_json))
    return tuple(cells), tuple(order)


def _tolerance(raw: Any, where: str) -> Tolerance:
    if raw is None:
        return Tolerance()
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = {"abs": raw}
    if not isinstance(raw, dict) or set(raw) - {"abs", "rel"}:
        raise BundleError(f"{where}: tolerance must be a number (absolute) or "
                          "{\"abs\": …, \"rel\": …}")
    values = [raw.get("abs", 0.0), raw.get("rel", 0.0)]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               and v >= 0 for v in values):
        raise BundleError(f"{where}: tolerance values must be non-negative numbers")
    return Tolerance(float(values[0]), float(values[1]))


def read_expected(path: Path, shown: str) -> tuple[Expected, ...]:
    """A hidden file of expected values: ``{key: {"expected", "points", "tolerance", "question"}}``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{shown}: unreadable: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise BundleError(f"{shown}: must be a non-empty JSON object of expected values")
    found = []
    for key, entry in raw.items():
        where = f"{shown}: {key!r}"
        if not isinstance(entry, dict) or "expected" not in entry or \
                set(entry) - {"expected", "points", "tolerance", "question"}:
            raise BundleError(f"{where}: must be an object with \"expected\" and optionally "
                              "\"points\", \"tolerance\", \"question\"")
        points = entry.get("points", 1)
        if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
            raise BundleError(f"{where}: points must be a non-negative number")
        try:
            decode(entry["expected"], where=where)
        except InvalidValue as exc:
            raise BundleError(f"{where}: expected: {exc}") from exc
        question = entry.get("question", "")
        found.append(Expected(str(key), json.dumps(entry["expected"]),
                              _tolerance(entry.get("tolerance"), where), float(points),
                              question if isinstance(question, str) else ""))
    return tuple(found)


def _predictions(table: Table, root: Path) -> PredictionsGrading | None:
    if not table.raw:
        return None
    metric, baseline, target = read_scale(table)
    points = table.number("points")
    if points <= 0:
        raise table.error("points", "must be positive")
    config = PredictionsGrading(
        metric=metric.name, baseline=baseline, target=target, points=points,
        id_column=table.string("id_column"), prediction_column=table.string("prediction_column"),
        label_column=table.string("label_column"), file=_plain_name(table, "file", "predictions.csv"),
        labels=_plain_name(table, "labels", "labels.csv"),
        max_bytes=int(table.number("max_mb", 16.0) * 1024 * 1024))
    table.finish()
    labels = root / "hidden" / config.labels
    if not labels.is_file() or labels.is_symlink():
        raise table.error("labels", f"hidden/{config.labels} is missing")
    return config


class NotebookKind:
    """A notebook executed headless on a fresh kernel; cells, answers and outputs checked."""

    name = "notebook"
    summary = "an analysis notebook run top to bottom on a fresh kernel; tests, answers, outputs"
    checks: tuple[CheckType, ...] = (NOTEBOOK, RUN, CLEAN, LOCKED, TESTS, ANSWERS, EXPORTS,
                                     PREDICTIONS, METRIC)
    artefacts: tuple[str, ...] = (EXECUTED_ARTEFACT,)
    report_parts: tuple[ReportPart, ...] = (
        ReportPart(EXECUTED_ARTEFACT, Path(__file__).resolve().parent / "report.html",
                   read_executed),)
    roles: tuple[str, ...] = ("data-scientist",)

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        if not submission.entrypoint.endswith(".ipynb"):
            raise BundleError(f"{table.file}: [submission].entrypoint: a notebook challenge "
                              "takes an .ipynb file")
        clean_points = table.number("clean_points")
        cell_timeout = table.number("cell_timeout", DEFAULT_CELL_TIMEOUT)
        if cell_timeout <= 0:
            raise table.error("cell_timeout", "must be positive")
        total_timeout = table.number("total_timeout")
        answers_file = table.string("answers", "") or None
        exports = table.string_list("exports", ())
        max_mb = table.number("max_notebook_mb", DEFAULT_MAX_NOTEBOOK_MB)
        max_answers_kb = table.integer("max_answers_kb", DEFAULT_MAX_ANSWERS_KB, minimum=1)
        predictions = _predictions(table.table("predictions", required=False), root)
        table.finish()
        if clean_points < 0:
            raise table.error("clean_points", "must not be negative")
        if max_mb <= 0:
            raise table.error("max_notebook_mb", "must be positive")
        if answers_file is not None:
            pure = PurePosixPath(answers_file)
            if len(pure.parts) != 1 or pure.suffix != ".json":
                raise table.error("answers", f"must be a .json file name, got {answers_file!r}")
        for name in exports:
            if not name.isidentifier():
                raise table.error("exports", f"{name!r} is not a Python name")
        starter, order = read_starter(root / "starter" / submission.entrypoint,
                                      f"starter/{submission.entrypoint}")
        answers = (read_expected(root / "hidden" / "answers.json", "hidden/answers.json")
                   if answers_file else ())
        exported = (read_expected(root / "hidden" / "exports.json", "hidden/exports.json")
                    if exports else ())
        if {e.key for e in exported} != set(exports):
            raise table.error("exports", "hidden/exports.json must hold exactly the exported "
                              f"names ({', '.join(exports)})")
        total = (clean_points + sum(c.points for c in starter) + sum(a.points for a in answers)
                 + sum(e.points for e in exported) + (predictions.points if predictions else 0))
        if abs(total - MAX_SCORE) > 1e-6:
            raise table.error("clean_points", f"the points add up to {total:g}, not "
                              f"{MAX_SCORE:g} (clean_points + graded cells' nbgrader points "
                              "+ answers + exports + predictions)")
        return NotebookGrading(
            starter=starter, order=order, clean_points=clean_points, cell_timeout=cell_timeout,
            total_timeout=total_timeout, answers_file=answers_file, answers=answers,
            exports=exported, predictions=predictions,
            max_notebook_bytes=int(max_mb * 1024 * 1024), max_answers_bytes=max_answers_kb * 1024)

    def verify(self, bundle: Bundle) -> None:
        """The time limits fit the run, and the hidden labels suit the metric."""
        config = grading_of(bundle, NotebookGrading)
        if config.total_timeout + KERNEL_START_MARGIN > bundle.limits.wall_seconds:
            raise GraderError(f"{bundle.slug}: [grading].total_timeout {config.total_timeout:g} s "
                              f"leaves under {KERNEL_START_MARGIN:g} s of the run's "
                              f"{bundle.limits.wall_seconds:g} s for the kernel")
        if config.predictions is not None:
            p = config.predictions
            labels = read_labels(bundle.hidden_dir / p.labels, id_column=p.id_column,
                                 label_column=p.label_column)
            METRICS.get(p.metric).compute(labels.values, [labels.values[0]] * len(labels.values))

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """The public checks: the run, the test cells and the outputs' format; no hidden
        value is compared."""
        public = split == "public"
        config = grading_of(bundle, NotebookGrading)
        submitted = read_submission(workspace / bundle.submission.entrypoint)
        if submitted.problem is not None:
            check = NOTEBOOK.failed(f"not run: {submitted.problem}")
            return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                              score=0, checks=(check,))
        with tempfile.TemporaryDirectory(prefix="heldout-notebook-") as tmp:
            harness = Path(tmp) / "harness"
            output_dir = Path(tmp) / "output"
            output_dir.mkdir()
            _build_harness(harness, bundle.submission.entrypoint, submitted.format, config)
            spec = JobSpec(
                command=("python", f"{HARNESS}/{HARNESS_SCRIPT}"), workspace=workspace,
                data=bundle.public_dir, harness=harness, limits=bundle.limits,
                labels={"heldout.challenge": bundle.slug, "heldout.split": split})
            result = sandbox.run(spec, output_dir)
            report = read_report(result)
            artefacts = _executed_notebook(result, config)
            checks = [NOTEBOOK.passed(submitted.detail), run_check(result, bundle.limits),
                      clean_check(report, result, bundle, config), locked_check(report, config)]
            if config.graded_cells:
                checks.append(cells_check(report, config))
            if config.answers_file is not None:
                checks.append(answers_check(result, config, public=public))
            if config.exports:
                checks.append(exports_check(result, report, config, public=public))
            metrics: dict[str, float] = {}
            if config.predictions is not None:
                checks += predictions_checks(result, bundle, config.predictions, metrics,
                                             public=public)
        score = min(round(sum(check.score for check in checks), 2), MAX_SCORE)
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=score, checks=tuple(checks), metrics=metrics,
                          run=RunStats.from_result(result), artefacts=artefacts)


def read_submission(path: Path) -> Submitted:
    """What the candidate sent: a notebook that validates, or a percent-format script.

    A file whose text starts with ``{`` is a notebook (so a broken one is refused with the
    reason); anything else is read as a ``.py`` percent script, converted in the sandbox.
    """
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        return Submitted("ipynb", f"{path.name} is not UTF-8 text (bad byte at offset {exc.start})")
    if not text.lstrip().startswith("{"):
        cells = text.count("# %%")
        return Submitted("script", detail=f"a percent-format script ({cells} `# %%` cell "
                         "marker(s)), converted with jupytext")
    try:
        notebook = _read_notebook(text)
    except RecursionError:
        return Submitted("ipynb", f"{path.name} is not a valid notebook: nested too deeply")
    except Exception as exc:  # nbformat raises JSON, schema and its own reader errors
        reason = " ".join(str(exc).split())[:300]
        return Submitted("ipynb", f"{path.name} is not a valid notebook: {reason}")
    code = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    return Submitted("ipynb", detail=f"a valid notebook: {len(notebook.cells)} cells, {code} "
                     "of code (outputs in the file are discarded)")


def _build_harness(harness: Path, entrypoint: str, fmt: str, config: NotebookGrading) -> None:
    """A fresh directory with the harness and its job: locked cells and limits, no answers."""
    harness.mkdir()
    shutil.copyfile(HARNESS_SOURCE, harness / HARNESS_SCRIPT)
    job = {
        "entrypoint": entrypoint, "format": fmt,
        "cell_timeout": config.cell_timeout, "total_timeout": config.total_timeout,
        "locked": [{"grade_id": c.grade_id, "cell": json.loads(c.cell_json)}
                   for c in config.starter if c.locked],
        "order": list(config.order),
        "exports": [e.key for e in config.exports],
    }
    (harness / "job.json").write_text(json.dumps(job, allow_nan=False), encoding="utf-8")


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


def _executed_notebook(result: RunResult, config: NotebookGrading) -> dict[str, bytes]:
    """The executed notebook, kept for the report when it is a valid notebook under the cap.

    Its outputs are candidate-controlled (HTML, scripts): whoever renders it must sanitise.
    """
    output = result.output(EXECUTED_NAME)
    if output is None:
        return {}
    try:
        data = read_capped(output.path, config.max_notebook_bytes, shown=EXECUTED_NAME)
        _read_notebook(data.decode("utf-8"))
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


KIND = NotebookKind()
