"""Hidden data published by mistake: reference files whose bytes or labels sit in public data."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping
from pathlib import Path

from heldout.graders.tables import Labels

MAX_CSV_BYTES = 64 * 1024 * 1024  # public tables larger than this are compared by bytes only


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def same_bytes(public: Mapping[str, Path], hidden: Mapping[str, Path]) -> str | None:
    """The first public file with exactly the bytes of a hidden one, as a refusal."""
    hidden_digests: dict[str, str] = {}
    for shown, path in hidden.items():
        if path.stat().st_size:
            hidden_digests.setdefault(_digest(path), shown)
    for shown, path in public.items():
        if path.stat().st_size and (twin := hidden_digests.get(_digest(path))):
            return f"{shown}: public data with the same bytes as the hidden {twin}"
    return None


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _matches(cells: list[str], labels: tuple[float, ...]) -> bool:
    for cell, label in zip(cells, labels, strict=True):
        value = _number(cell.strip())
        if value is None or abs(value - label) > 1e-9 * max(1.0, abs(label)):
            return False
    return True


def _table(path: Path) -> tuple[list[str], list[list[str]]] | None:
    if path.suffix.lower() not in (".csv", ".tsv", ".txt") or path.stat().st_size > MAX_CSV_BYTES:
        return None
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), dialect)
                if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    return [name.strip() for name in rows[0]], rows[1:]


def label_column(public: Mapping[str, Path], labels: Labels, id_column: str,
                 labels_shown: str) -> str | None:
    """The first public table holding the hidden label column, as a refusal.

    A table with the id column leaks when one of its other columns has every hidden id's
    label on that id's row; a table without it, when a column equals the labels in order.
    """
    for shown, path in public.items():
        table = _table(path)
        if table is None:
            continue
        header, rows = table
        if id_column in header:
            at = header.index(id_column)
            by_id = {row[at].strip(): row for row in rows if len(row) == len(header)}
            if not all(i in by_id for i in labels.ids):
                continue
            aligned = [by_id[i] for i in labels.ids]
        elif len(rows) == len(labels.ids) and all(len(row) == len(header) for row in rows):
            at, aligned = -1, rows
        else:
            continue
        for column, name in enumerate(header):
            if column != at and _matches([row[column] for row in aligned], labels.values):
                return (f"{shown}: public column {name!r} holds the hidden labels of "
                        f"{labels_shown}")
    return None
