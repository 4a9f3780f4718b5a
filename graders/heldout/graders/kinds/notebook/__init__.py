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
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from heldout.graders.checks import (
    METRIC,
    PREDICTIONS,
    RUN,
    TESTS,
    CheckType,
)
from heldout.graders.errors import BundleError, GraderError
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.notebook.checks import (
    answers_check,
    cells_check,
    clean_check,
    executed_notebook,
    exports_check,
    locked_check,
    predictions_checks,
    read_report,
)
from heldout.graders.kinds.notebook.config import (
    ANSWERS,
    CLEAN,
    DEFAULT_CELL_TIMEOUT,
    DEFAULT_MAX_ANSWERS_KB,
    DEFAULT_MAX_NOTEBOOK_MB,
    EXECUTED_ARTEFACT,
    EXPORTS,
    HARNESS_SCRIPT,
    HARNESS_SOURCE,
    KERNEL_START_MARGIN,
    LOCKED,
    NOTEBOOK,
    NotebookGrading,
    Submitted,
    parse_notebook,
    predictions_table,
    read_expected,
    read_starter,
)
from heldout.graders.kinds.notebook.render import read_executed
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.metrics import METRICS
from heldout.graders.result import MAX_SCORE, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.graders.tables import read_labels
from heldout.sandbox.spec import HARNESS, JobSpec

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox


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
        predictions = predictions_table(table.table("predictions", required=False), root)
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
            build_harness(harness, bundle.submission.entrypoint, submitted.format, config)
            spec = JobSpec(
                command=("python", f"{HARNESS}/{HARNESS_SCRIPT}"), workspace=workspace,
                data=bundle.public_dir, harness=harness, limits=bundle.limits,
                labels={"heldout.challenge": bundle.slug, "heldout.split": split})
            result = sandbox.run(spec, output_dir)
            report = read_report(result)
            artefacts = executed_notebook(result, config)
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
        notebook = parse_notebook(text)
    except RecursionError:
        return Submitted("ipynb", f"{path.name} is not a valid notebook: nested too deeply")
    except Exception as exc:  # nbformat raises JSON, schema and its own reader errors
        reason = " ".join(str(exc).split())[:300]
        return Submitted("ipynb", f"{path.name} is not a valid notebook: {reason}")
    code = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    return Submitted("ipynb", detail=f"a valid notebook: {len(notebook.cells)} cells, {code} "
                     "of code (outputs in the file are discarded)")


def build_harness(harness: Path, entrypoint: str, fmt: str, config: NotebookGrading) -> None:
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


KIND = NotebookKind()
