"""Result rows as the candidate's page shows them: typed column heads, NULLs marked, long
cells cut. The rows came out of the sandbox (a query's result): capped, shown as text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A grid cell longer than this is cut on the page (the whole text, up to the harness's own
# cap, stays in its title).
CELL_CHARS = 80
MAX_GRID_COLUMNS = 50
MAX_GRID_ROWS = 100


@dataclass(frozen=True)
class Cell:
    text: str
    full: str
    null: bool = False
    cut: bool = False


@dataclass(frozen=True)
class Grid:
    """Rows as the page shows them: typed column heads, NULLs marked, long cells cut."""

    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[Cell, ...], ...]
    row_count: int
    capped: bool

    @property
    def shown(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class QueryRows:
    """One named query of a sql public run: the candidate's rows beside the expected shape."""

    name: str
    matched: bool
    status: str
    grid: Grid | None
    expected_columns: tuple[tuple[str, str], ...]
    expected_rows: int
    ordered: bool


def cell(value: Any) -> Cell:
    """One value of a result row, as the harness encoded it, as text for a grid."""
    if value is None:
        return Cell("NULL", "NULL", null=True)
    if isinstance(value, dict) and set(value) == {"$truncated"}:
        full = str(value["$truncated"])
        return Cell(full[:CELL_CHARS] + "…", full + "…", cut=True)
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag in ("$float", "$interval"):
            text = str(inner)
            return Cell(text, text)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > CELL_CHARS:
        return Cell(text[:CELL_CHARS] + "…", text, cut=True)
    return Cell(text, text)


def columns_of(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list):
        return ()
    shown = []
    for column in raw[:MAX_GRID_COLUMNS]:
        if isinstance(column, dict):
            shown.append((str(column.get("name", ""))[:200], str(column.get("type", ""))[:80]))
    return tuple(shown)


def grid(columns: tuple[tuple[str, str], ...], rows: Any, row_count: Any,
         capped: bool = False) -> Grid:
    kept = [r for r in rows if isinstance(r, list)][:MAX_GRID_ROWS] if isinstance(rows, list) else []
    width = len(columns)
    count = row_count if isinstance(row_count, int) and not isinstance(row_count, bool) \
        else len(kept)
    return Grid(columns, tuple(tuple(cell(v) for v in r[:width]) for r in kept), count, capped)


def query_rows(output: Mapping[str, Any] | None) -> tuple[QueryRows, ...]:
    """A sql public run's queries, each with the candidate's first rows (never expected ones:
    the grader keeps only the expected shape, and the checks' details say what differs)."""
    queries: Sequence[Any] = (output or {}).get("queries") or []
    shown = []
    for item in queries[:50] if isinstance(queries, list) else []:
        if not isinstance(item, dict):
            continue
        names, types = item.get("columns"), item.get("types")
        preview = item.get("preview")
        table = None
        if isinstance(names, list) and isinstance(types, list) and isinstance(preview, list):
            columns = tuple((str(n)[:200], str(t)[:80]) for n, t in zip(names, types,
                                                                        strict=False))
            table = grid(columns[:MAX_GRID_COLUMNS], preview, item.get("rows"))
        want = zip(item.get("expected_columns") or [], item.get("expected_types") or [],
                   strict=False)
        rows = item.get("expected_rows")
        shown.append(QueryRows(
            name=str(item.get("name", ""))[:100], matched=item.get("matched") is True,
            status=str(item.get("status", ""))[:40], grid=table,
            expected_columns=tuple((str(n)[:200], str(t)[:80]) for n, t in want),
            expected_rows=rows if isinstance(rows, int) else 0,
            ordered=item.get("ordered") is True))
    return tuple(shown)
