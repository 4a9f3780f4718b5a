"""The sql kind's run console: one query on the public tables, its first rows as a grid."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.errors import GraderError
from heldout.graders.kinds.base import grading_of
from heldout.graders.kinds.sql import (
    HARNESS_SCRIPT,
    SqlGrading,
    build_harness,
    read_outcomes,
)
from heldout.sandbox.spec import HARNESS, TMP, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox

CONSOLE_QUERY = "console"
CONSOLE_FILE = "console.sql"
ROWS_SHOWN = 100
# Rows counted past the ones shown, so the grid can say how many the query returned.
ROWS_COUNTED = 1_000_000


def run_query(bundle: Bundle, query: str, sandbox: Sandbox, root: Path,
              labels: Mapping[str, str]) -> tuple[RunResult, dict[str, Any]]:
    """The query, run by the grading harness on the public database (locked the same way).

    The harness reads named queries from a file: the console's query is the one file of a
    workspace of its own, under one name. The candidate's files are not needed to run it.
    """
    config = grading_of(bundle, SqlGrading)
    with tempfile.TemporaryDirectory(prefix="heldout-sql-console-", dir=root) as tmp:
        workspace, harness, output = Path(tmp) / "workspace", Path(tmp) / "harness", Path(tmp) / "output"
        workspace.mkdir()
        output.mkdir()
        (workspace / CONSOLE_FILE).write_text(f"-- name: {CONSOLE_QUERY}\n{query}\n",
                                              encoding="utf-8")
        build_harness(harness, bundle, bundle.public_dir, config, queries=[CONSOLE_QUERY],
                      max_rows=ROWS_SHOWN, count_rows=ROWS_COUNTED)
        result = sandbox.run(JobSpec(
            command=("python", f"{HARNESS}/{HARNESS_SCRIPT}", CONSOLE_FILE),
            workspace=workspace, harness=harness, limits=bundle.limits,
            env={"HOME": TMP, "TMPDIR": TMP}, labels=dict(labels)), output)
        outcomes, note = read_outcomes(result, {CONSOLE_QUERY})
    outcome = outcomes.get(CONSOLE_QUERY)
    shown: dict[str, Any] = {"mode": "sql", "query": query, "tables": list(config.tables)}
    if outcome is None or CONSOLE_QUERY not in outcomes:
        shown["error"] = note or "the query gave no result (see the error output)"
    elif outcome.status == "harness_error":
        raise GraderError(f"the sql harness could not open the database: {outcome.error}")
    elif outcome.status != "ok" or outcome.table is None:
        shown["error"] = outcome.error or outcome.status
    else:
        table = outcome.table
        shown.update(columns=[{"name": n, "type": t} for n, t in zip(table.columns, table.types,
                                                                      strict=True)],
                     rows=[list(r) for r in table.rows], shown_rows=len(table.rows),
                     row_count=table.row_count if table.row_count is not None else len(table.rows),
                     row_count_capped=(table.truncated and table.row_count is None)
                     or (table.row_count or 0) >= ROWS_COUNTED)
    return result, shown
