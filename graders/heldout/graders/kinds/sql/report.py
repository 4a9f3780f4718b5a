"""The sql kind's report part: each query's result shape beside the expected shape."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from heldout.graders.kinds.parts import KeptArtefact, Unreadable, clipped, json_artefact

MAX_QUERIES = 100
MAX_COLUMNS_SHOWN = 60


@dataclass(frozen=True)
class ColumnPair:
    expected_name: str | None
    expected_type: str | None
    name: str | None
    type: str | None

    @property
    def same(self) -> bool:
        return (self.name or "").lower() == (self.expected_name or "").lower() \
            and self.type == self.expected_type


@dataclass(frozen=True)
class QueryShape:
    """One named query's result shape beside the expected shape (never a row's values)."""

    name: str
    status: str
    rows: int | None
    expected_rows: int
    truncated: bool
    ordered: bool
    matched: bool
    columns: tuple[ColumnPair, ...]


def _names(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [clipped(v) for v in value[:MAX_COLUMNS_SHOWN]]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def query_shapes(data: bytes) -> tuple[QueryShape, ...]:
    """The kind's ``queries.json``: per query, the result's and the expected shape."""
    raw = json_artefact(data)
    if not isinstance(raw, list):
        raise Unreadable("not a list of queries")
    shapes = []
    for item in raw[:MAX_QUERIES]:
        if not isinstance(item, dict):
            continue
        names, types = _names(item.get("columns")) or [], _names(item.get("types")) or []
        want_names = _names(item.get("expected_columns")) or []
        want_types = _names(item.get("expected_types")) or []
        columns = tuple(
            ColumnPair(wn, wt, n, t)
            for (wn, wt), (n, t) in zip_longest(zip_longest(want_names, want_types),
                                                zip_longest(names, types),
                                                fillvalue=(None, None)))
        shapes.append(QueryShape(
            name=clipped(item.get("name", "")), status=clipped(item.get("status", ""), 40),
            rows=_count(item.get("rows")), expected_rows=_count(item.get("expected_rows")) or 0,
            truncated=item.get("truncated") is True, ordered=item.get("ordered") is True,
            matched=item.get("matched") is True, columns=columns))
    return tuple(shapes)


def read_shapes(artefact: KeptArtefact) -> tuple[QueryShape, ...]:
    return query_shapes(artefact.data())
