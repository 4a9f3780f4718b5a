"""``sql``: the candidate's named queries run by DuckDB in the sandbox; tables compared on the host.

The sandbox gets the database (schema and CSV tables: inputs only) in its harness mount;
the expected result tables stay in ``hidden/expected/`` (``public/expected/`` for the
public checks) and are compared here, as data. The host never runs SQL.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from heldout.graders.checks import RUN, CheckType
from heldout.graders.errors import GraderError
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.kinds.sql.config import (
    EXPECTED_DIR,
    HARNESS_SCRIPT,
    HARNESS_SOURCE,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_QUERY_FILE_CHARS,
    MAX_RESULT_BYTES,
    PREVIEW_ROWS,
    SHAPES_ARTEFACT,
    SqlGrading,
    SqlQuery,
    parse_config,
)
from heldout.graders.kinds.sql.report import read_shapes
from heldout.graders.kinds.sql.results import (
    QUERY,
    ResultTable,
    compare_tables,
    family,
    load_expected,
    query_checks,
    query_shapes,
    read_outcomes,
)
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.sandbox.spec import HARNESS, TMP, JobSpec

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox

# What other modules read from the package (the rest lives in config.py and results.py).
__all__ = ["HARNESS_SCRIPT", "HARNESS_SOURCE", "KIND", "QUERY", "SHAPES_ARTEFACT", "ResultTable",
           "SqlGrading", "SqlKind", "SqlQuery", "build_harness", "compare_tables", "family",
           "load_expected", "read_outcomes"]


class SqlKind:
    """The candidate writes named DuckDB queries; their result tables are graded."""

    name = "sql"
    summary = "write named SQL queries; DuckDB runs them on a hidden database of the same schema"
    checks: tuple[CheckType, ...] = (RUN, QUERY)
    artefacts: tuple[str, ...] = (SHAPES_ARTEFACT,)
    report_parts: tuple[ReportPart, ...] = (
        ReportPart(SHAPES_ARTEFACT, Path(__file__).resolve().parent / "report.html", read_shapes),)
    roles: tuple[str, ...] = ("data-engineer",)

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        return parse_config(table, root=root, submission=submission)

    def verify(self, bundle: Bundle) -> None:
        """Every expected table parses and fits the row cap the candidate's run gets."""
        config = grading_of(bundle, SqlGrading)
        for split, directory in (("public", bundle.public_dir), ("hidden", bundle.hidden_dir)):
            for query in config.queries:
                expected = load_expected(directory, query.name)
                if len(expected.rows) > config.max_rows:
                    raise GraderError(f"{split}/{EXPECTED_DIR}/{query.name}.json: "
                                      f"{len(expected.rows)} rows, over max_rows")
        total = len(config.queries) * config.query_timeout
        if total > bundle.limits.wall_seconds:
            raise GraderError(f"query timeouts add up to {total:g} s, over the run's "
                              f"{bundle.limits.wall_seconds:g} s")

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """The split's database and expected results (public/ or hidden/), scored the same way."""
        config = grading_of(bundle, SqlGrading)
        data_dir = bundle.hidden_dir if split == "hidden" else bundle.public_dir
        expected = {q.name: load_expected(data_dir, q.name) for q in config.queries}
        with tempfile.TemporaryDirectory(prefix="heldout-harness-") as tmp:
            harness = Path(tmp) / "harness"
            output_dir = Path(tmp) / "output"
            output_dir.mkdir()
            build_harness(harness, bundle, data_dir, config)
            spec = JobSpec(
                command=("python", f"{HARNESS}/{HARNESS_SCRIPT}", bundle.submission.entrypoint),
                workspace=workspace, harness=harness, limits=bundle.limits,
                env={"HOME": TMP, "TMPDIR": TMP},
                labels={"heldout.challenge": bundle.slug, "heldout.split": split},
            )
            result = sandbox.run(spec, output_dir)
            outcomes, note = read_outcomes(result, {q.name for q in config.queries})
        broken = [o.error for o in outcomes.values() if o is not None and o.status == "harness_error"]
        if broken:
            # The locked connection opens before any candidate SQL runs: a platform fault.
            raise GraderError(f"the sql harness could not open the database: {broken[0]}")
        ran = run_check(result, bundle.limits)
        if not ran.passed and note:
            ran = Check(ran.name, ran.kind, False, 0, 0, f"{ran.detail}; {note}")
        per_query = query_checks(config, expected, outcomes, ran.passed, note)
        checks = [ran, *per_query]
        score = min(round(sum(check.score for check in checks), 2), MAX_SCORE)
        shapes = query_shapes(config, expected, outcomes, per_query,
                              preview=PREVIEW_ROWS if split == "public" else 0)
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=score, checks=tuple(checks), run=RunStats.from_result(result),
                          artefacts={SHAPES_ARTEFACT: shapes})


def build_harness(harness: Path, bundle: Bundle, data_dir: Path, config: SqlGrading, *,
                  queries: Sequence[str] | None = None, max_rows: int | None = None,
                  count_rows: int = 0) -> None:
    """A fresh directory with the harness, the caps and the database's inputs.

    Copied, never linked, so the mount shares no inode with the bundle; expected results
    are not among the files copied. ``queries`` (default: the graded ones) names the
    queries run; ``count_rows``, when positive, counts a result's rows up to it past the
    ``max_rows`` kept (the run console says how many rows a query returned).
    """
    (harness / "db").mkdir(parents=True)
    shutil.copyfile(HARNESS_SOURCE, harness / HARNESS_SCRIPT)
    shutil.copyfile(bundle.public_dir / config.schema, harness / "db" / "schema.sql")
    for table in config.tables:
        shutil.copyfile(data_dir / f"{table}.csv", harness / "db" / f"{table}.csv")
    job = {"tables": list(config.tables),
           "queries": list(queries) if queries is not None else [q.name for q in config.queries],
           "query_timeout": config.query_timeout,
           "max_rows": config.max_rows if max_rows is None else max_rows,
           "count_rows": count_rows,
           "max_columns": MAX_COLUMNS, "max_cell_chars": MAX_CELL_CHARS,
           "max_bytes": MAX_RESULT_BYTES, "max_file_chars": MAX_QUERY_FILE_CHARS,
           "memory_mb": config.memory_mb}
    (harness / "job.json").write_text(json.dumps(job), encoding="utf-8")


KIND = SqlKind()

