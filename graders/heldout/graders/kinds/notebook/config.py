"""The notebook kind's settings: its check types, the `[grading]` table, the starter's
locked cells and the expected values."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import (
    CheckType,
)
from heldout.graders.compare import InvalidValue, Tolerance, decode
from heldout.graders.errors import BundleError
from heldout.graders.kinds.base import GradingConfig
from heldout.graders.metrics import read_scale

if TYPE_CHECKING:
    from heldout.graders.fields import Table

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


def parse_notebook(text: str) -> Any:
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
        notebook = parse_notebook(path.read_text(encoding="utf-8"))
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


def predictions_table(table: Table, root: Path) -> PredictionsGrading | None:
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
