"""The ``[grading]`` table of a sql bundle, its defaults and the caps every run gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from heldout.graders.errors import BundleError
from heldout.graders.kinds.base import GradingConfig

if TYPE_CHECKING:
    from heldout.graders.bundle_types import SubmissionSpec
    from heldout.graders.fields import Table

HARNESS_SCRIPT = "sql_harness.py"
HARNESS_SOURCE = Path(__file__).resolve().parent / HARNESS_SCRIPT
RESULTS_NAME = "results.jsonl"
EXPECTED_DIR = "expected"
DEFAULT_SCHEMA = "schema.sql"
DEFAULT_QUERY_TIMEOUT = 10.0
DEFAULT_MAX_ROWS = 10000
DEFAULT_TOLERANCE = 1e-6
DEFAULT_DUCKDB_MEMORY_MB = 256
MAX_COLUMNS = 50
MAX_CELL_CHARS = 1000
MAX_QUERY_FILE_CHARS = 256 * 1024
MAX_RESULT_BYTES = 4 * 1024 * 1024
MAX_EXPECTED_BYTES = 32 * 1024 * 1024
ROWS_SHOWN = 2
# Rows of the candidate's own result a public run shows beside each query's expected shape.
PREVIEW_ROWS = 20
# The key of Evaluation.artefacts holding each query's result shape beside the expected one
# (names, types, row counts: never a row's values) for the report.
SHAPES_ARTEFACT = "queries.json"


@dataclass(frozen=True)
class SqlQuery:
    """One named query the statement asks for, and how its result is compared."""

    name: str
    ordered: bool = False
    weight: float = 1.0
    tolerance: float = DEFAULT_TOLERANCE


@dataclass(frozen=True)
class SqlGrading(GradingConfig):
    """The validated ``[grading]`` table of a sql bundle."""

    tables: tuple[str, ...]
    queries: tuple[SqlQuery, ...]
    schema: str = DEFAULT_SCHEMA
    query_timeout: float = DEFAULT_QUERY_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    memory_mb: int = DEFAULT_DUCKDB_MEMORY_MB


def _identifier(table: Table, key: str, value: str) -> str:
    if not (value.replace("_", "a").isalnum() and value.isascii() and not value[0].isdigit()):
        raise table.error(key, f"{value!r} is not a name (letters, digits, _)")
    return value


def parse_config(table: Table, *, root: Path, submission: SubmissionSpec) -> SqlGrading:
    """The validated ``[grading]`` table of a sql bundle; every file it names must exist."""
    tables = tuple(_identifier(table, "tables", t) for t in table.string_list("tables"))
    schema = table.string("schema", DEFAULT_SCHEMA)
    timeout = table.number("query_timeout", DEFAULT_QUERY_TIMEOUT)
    if timeout <= 0:
        raise table.error("query_timeout", "must be positive")
    max_rows = table.integer("max_rows", DEFAULT_MAX_ROWS, minimum=1)
    memory_mb = table.integer("memory_mb", DEFAULT_DUCKDB_MEMORY_MB, minimum=16)
    queries = []
    for name, sub in table.table("queries").subtables().items():
        _identifier(table, "queries", name)
        weight = sub.number("weight", 1.0)
        tolerance = sub.number("tolerance", DEFAULT_TOLERANCE)
        if weight <= 0 or tolerance < 0:
            raise sub.error("weight", "weight must be positive and tolerance not negative")
        queries.append(SqlQuery(name, sub.boolean("ordered", False), weight, tolerance))
        sub.finish()
    table.finish()
    if not queries:
        raise table.error("queries", "declare at least one [grading.queries.<name>]")
    if not submission.entrypoint.endswith(".sql"):
        raise BundleError(f"{table.file}: [submission].entrypoint: a sql challenge runs "
                          "one file of named queries, so it must be a .sql file")
    config = SqlGrading(tables, tuple(queries), schema, timeout, max_rows, memory_mb)
    needed = [root / "public" / schema]
    for split in ("public", "hidden"):
        needed += [root / split / f"{t}.csv" for t in tables]
        needed += [root / split / EXPECTED_DIR / f"{q.name}.json" for q in queries]
    for path in needed:
        if not path.is_file():
            raise BundleError(f"{path.relative_to(root)}: missing (a sql bundle needs the "
                              "schema, each table per split and each query's expected "
                              "result per split)")
    return config

