"""Result tables as data: the expected ones, the harness's (untrusted) output, and how
they are compared into one check per query."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.graders.checks import CheckType
from heldout.graders.errors import CandidateOutputError, GraderError
from heldout.graders.kinds.sql.config import (
    EXPECTED_DIR,
    MAX_EXPECTED_BYTES,
    MAX_RESULT_BYTES,
    RESULTS_NAME,
    ROWS_SHOWN,
    SqlGrading,
    SqlQuery,
)
from heldout.graders.result import MAX_SCORE, Check
from heldout.graders.tables import read_capped, read_result_lines
from heldout.sandbox.spec import RunResult

QUERY = CheckType(
    "query", "test",
    "a named SQL query's result table against the expected one: column names, type "
    "families, the rows as a multiset (in order where the statement asks for ORDER BY), "
    "floats within a tolerance")

# Types DuckDB reports, by the family a comparison tolerates: an integer count written as
# a DOUBLE or a DECIMAL still answers the question, a count written as text does not.
_FAMILIES = (
    ("number", ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL",
                "DECIMAL")),
    ("text", ("VARCHAR",)),
    ("timestamp", ("TIMESTAMP",)),
    ("date", ("DATE",)),
    ("time", ("TIME",)),
    ("boolean", ("BOOLEAN",)),
    ("interval", ("INTERVAL",)),
)
_FAILED_STATUS = {"missing": "{error}", "duplicate": "{error}", "empty": "{error}",
                  "error": "failed: {error}", "timeout": "{error}", "crashed": "{error}",
                  "no_result": "{error}", "too_wide": "{error}"}


@dataclass(frozen=True)
class ResultTable:
    """A result table as data: the harness's output (untrusted) or an expected file."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool = False
    # How many rows the query returned, when the harness counted past those kept.
    row_count: int | None = None


@dataclass(frozen=True)
class QueryOutcome:
    """What the harness reported for one query."""

    status: str
    table: ResultTable | None = None
    error: str = ""


def family(type_name: str) -> str:
    """The comparison family of a DuckDB type name (``DECIMAL(10,2)`` is a number)."""
    base = type_name.upper().split("(")[0].strip()
    if base.endswith("]"):
        return "list"
    if base.startswith("TIMESTAMP"):  # TIMESTAMP WITH TIME ZONE, TIMESTAMP_NS, …
        return "timestamp"
    for name, members in _FAMILIES:
        if base in members:
            return name
    return base.lower()


def load_expected(directory: Path, name: str) -> ResultTable:
    """A query's expected table (trusted bundle data; a broken file is a bundle fault)."""
    path = directory / EXPECTED_DIR / f"{name}.json"
    try:
        raw = json.loads(read_capped(path, MAX_EXPECTED_BYTES, shown=str(path)))
    except (CandidateOutputError, ValueError) as exc:
        raise GraderError(f"{path}: unreadable expected result: {exc}") from exc
    table = parse_table(raw)
    if table is None:
        raise GraderError(f"{path}: not a result table (columns, rows)")
    return table


def parse_table(raw: Any) -> ResultTable | None:
    """A result table from JSON, or ``None`` when its shape is wrong."""
    if not isinstance(raw, dict):
        return None
    columns, rows = raw.get("columns"), raw.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return None
    if not all(isinstance(c, dict) and isinstance(c.get("name"), str)
               and isinstance(c.get("type"), str) for c in columns):
        return None
    if not all(isinstance(r, list) and len(r) == len(columns) for r in rows):
        return None
    count = raw.get("row_count")
    return ResultTable(tuple(c["name"][:200] for c in columns),
                       tuple(c["type"][:80] for c in columns),
                       tuple(tuple(r) for r in rows), raw.get("truncated") is True,
                       count if isinstance(count, int) and not isinstance(count, bool)
                       and count >= 0 else None)


def read_outcomes(result: RunResult,
                  names: set[str]) -> tuple[dict[str, QueryOutcome | None], str]:
    """Each query's outcome from the results file; ``None`` marks a name reported twice.

    The file is written by a process that ran candidate SQL: every line is untrusted.
    """
    return read_result_lines(result, RESULTS_NAME, len(names) * (MAX_RESULT_BYTES * 2 + 4096),
                             names, _parse_line)


def _parse_line(raw: Any) -> tuple[str, QueryOutcome] | None:
    if not isinstance(raw, dict):
        return None
    name, status = raw.get("name"), raw.get("status")
    if not isinstance(name, str) or not isinstance(status, str):
        return None
    error = str(raw.get("error", ""))[:300]
    if status != "ok":
        return name, QueryOutcome(status[:40], error=error)
    table = parse_table(raw)
    if table is None:
        return name, QueryOutcome("malformed", error="the result table is malformed")
    return name, QueryOutcome("ok", table)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict) and set(value) == {"$float"} and isinstance(value["$float"], str):
        try:
            return float(value["$float"])
        except ValueError:
            return None
    return None


def same_value(actual: Any, expected: Any, tolerance: float) -> bool:
    """Cell equality: numbers within ``tolerance`` (relative or absolute), NaN equals NaN."""
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        if math.isnan(a) or math.isnan(e):
            return math.isnan(a) and math.isnan(e)
        return a == e or math.isclose(a, e, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            same_value(x, y, tolerance) for x, y in zip(actual, expected, strict=True))
    return type(actual) is type(expected) and bool(actual == expected)


def _sort_key(row: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    """Rows ordered for a multiset comparison; floats rounded so near-equal rows line up."""
    key: list[tuple[int, Any]] = []
    for value in row:
        number = _number(value)
        if value is None:
            key.append((0, 0))
        elif number is not None:
            key.append((1, 0.0 if math.isnan(number) else round(number, 6)))
        elif isinstance(value, str):
            key.append((2, value))
        else:
            key.append((3, json.dumps(value, sort_keys=True, default=str)))
    return tuple(key)


def _show(row: Sequence[Any]) -> str:
    text = json.dumps(list(row), default=str)
    return text if len(text) <= 160 else text[:160] + "…"


def compare_tables(actual: ResultTable, expected: ResultTable, query: SqlQuery,
                   max_rows: int) -> str | None:
    """Why ``actual`` doesn't answer the query, or ``None`` when it does."""
    if actual.truncated:
        return f"more than {max_rows} rows (or over the result size cap); expected {len(expected.rows)}"
    got = [c.lower() for c in actual.columns]
    want = [c.lower() for c in expected.columns]
    if got != want:
        return f"columns {_show(actual.columns)}, expected {_show(expected.columns)}"
    for column, got_type, want_type in zip(expected.columns, actual.types, expected.types,
                                           strict=True):
        if family(got_type) != family(want_type):
            return (f"column {column} is {got_type} ({family(got_type)}), expected "
                    f"{family(want_type)} like {want_type}")
    if len(actual.rows) != len(expected.rows):
        return f"{len(actual.rows)} rows, expected {len(expected.rows)}"
    got_rows, want_rows = list(actual.rows), list(expected.rows)
    if not query.ordered:
        got_rows.sort(key=_sort_key)
        want_rows.sort(key=_sort_key)
    wrong = [i for i, (g, w) in enumerate(zip(got_rows, want_rows, strict=True))
             if not all(same_value(x, y, query.tolerance) for x, y in zip(g, w, strict=True))]
    if not wrong:
        return None
    where = "row" if query.ordered else "row (rows sorted, order not graded)"
    shown = "; ".join(f"{where} {i + 1}: got {_show(got_rows[i])}, expected "
                      f"{_show(want_rows[i])}" for i in wrong[:ROWS_SHOWN])
    return f"{len(wrong)} of {len(want_rows)} rows differ; {shown}"


def query_checks(config: SqlGrading, expected: Mapping[str, ResultTable],
                 outcomes: Mapping[str, QueryOutcome | None], run_finished: bool,
                 note: str = "") -> list[Check]:
    """One ``query`` check per named query, each worth its weight's share of the score."""
    total = sum(q.weight for q in config.queries)
    checks = []
    left = MAX_SCORE
    for i, query in enumerate(config.queries):
        # The last query takes what rounding left, so a perfect run scores exactly 100.
        share = left if i == len(config.queries) - 1 else round(MAX_SCORE * query.weight / total, 2)
        left = round(left - share, 2)
        label = f"{QUERY.name}: {query.name}"
        want = expected[query.name]
        outcome = outcomes.get(query.name, QueryOutcome("absent"))
        if outcome is None:
            why: str | None = "reported more than once (forged output?)"
        elif outcome.status == "absent":
            why = ("no result" if run_finished
                   else "no result: the run stopped before this query finished")
            why += f" ({note})" if note else ""
        elif outcome.status != "ok" or outcome.table is None:
            template = _FAILED_STATUS.get(outcome.status, "failed ({status}): {error}")
            why = template.format(error=outcome.error, status=outcome.status)
        else:
            why = compare_tables(outcome.table, want, query, config.max_rows)
        shape = f"expected {len(want.rows)} rows x {len(want.columns)} columns"
        if why is None:
            checks.append(QUERY.passed(f"matches ({shape})", score=share, max_score=share,
                                       label=label))
        else:
            checks.append(QUERY.failed(f"{why} ({shape})", max_score=share, label=label))
    return checks


def query_shapes(config: SqlGrading, expected: Mapping[str, ResultTable],
                 outcomes: Mapping[str, QueryOutcome | None], checks: Sequence[Check],
                 preview: int = 0) -> bytes:
    """Each query's result shape next to the expected shape, as JSON for the report.

    Shapes only: column names and types and row counts. No row of the expected table is
    written, so the artefact can be shown (and kept) without disclosing hidden answers.
    ``preview`` rows of the candidate's own result go with it (the public checks show
    them beside the expected shape; they are the candidate's, never an answer).
    """
    shapes: list[dict[str, Any]] = []
    for query, check in zip(config.queries, checks, strict=True):
        want = expected[query.name]
        outcome = outcomes.get(query.name, QueryOutcome("absent"))
        table = outcome.table if outcome is not None and outcome.status == "ok" else None
        shapes.append({
            "name": query.name,
            "status": "duplicate" if outcome is None else outcome.status,
            "columns": None if table is None else list(table.columns),
            "types": None if table is None else list(table.types),
            "rows": None if table is None else len(table.rows),
            "truncated": table is not None and table.truncated,
            "expected_columns": list(want.columns),
            "expected_types": list(want.types),
            "expected_rows": len(want.rows),
            "ordered": query.ordered,
            "matched": check.passed,
        })
        if preview:
            shapes[-1]["preview"] = None if table is None else [list(r) for r in table.rows[:preview]]
    return json.dumps(shapes).encode("utf-8")
