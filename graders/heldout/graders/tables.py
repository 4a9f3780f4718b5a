"""Safe reading of id/value CSV files: candidate predictions and hidden labels."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import stat
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from heldout.graders.errors import CandidateOutputError, GraderError
from heldout.sandbox.spec import OUTPUT, RunResult

MAX_SHOWN = 3
MAX_SHOWN_CHARS = 40


@dataclass(frozen=True)
class Labels:
    """Hidden labels: the ids in file order and one numeric label per id."""

    ids: tuple[str, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Predictions:
    """Validated predictions, aligned with the labels' id order."""

    values: tuple[float, ...]
    rows: int
    ignored_columns: tuple[str, ...]


def show(text: str) -> str:
    """A candidate-controlled string made short and unambiguous for a detail line."""
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS] + "…"
    return repr(text)


def _examples(items: list[str]) -> str:
    return ", ".join(show(item) for item in items[:MAX_SHOWN])


def read_capped(path: Path, max_bytes: int, *, shown: str) -> bytes:
    """The bytes of a regular file, refusing links, special files and anything too big."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CandidateOutputError(f"{shown} is a symbolic link; write a regular file") from exc
        raise CandidateOutputError(f"{shown} could not be opened ({exc.strerror})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CandidateOutputError(f"{shown} is not a regular file")
        if info.st_size > max_bytes:
            raise CandidateOutputError(f"{shown} is {_size(info.st_size)}, over the "
                                       f"{_size(max_bytes)} limit")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise CandidateOutputError(f"{shown} is over the {_size(max_bytes)} limit")
    return data


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def strict_json(data: bytes | str) -> Any:
    """``json.loads`` that refuses NaN and Infinity, which JSON itself does not have."""
    return json.loads(data, parse_constant=_not_json)


Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


def read_result_lines(result: RunResult, name: str, max_bytes: int, known: Collection[Key],
                      parse: Callable[[Any], tuple[Key, Value] | None],
                      ) -> tuple[dict[Key, Value | None], str]:
    """Outcomes from a JSON-lines file a harness wrote to /output, and a note on what was skipped.

    The file sits where candidate code can write, so every line is untrusted: read under a
    size cap, lines that don't parse (``parse`` returns None for a bad object) or name an
    unknown key are skipped, and a key reported twice maps to ``None`` (its outcome fails).
    """
    shown = f"{OUTPUT}/{name}"
    output = result.output(name)
    if output is None:
        return {}, f"{shown} was not written"
    try:
        data = read_capped(output.path, max_bytes, shown=shown)
    except CandidateOutputError as exc:
        return {}, str(exc)
    outcomes: dict[Key, Value | None] = {}
    skipped = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            parsed = parse(strict_json(line))
        except (ValueError, RecursionError):
            parsed = None
        if parsed is None or parsed[0] not in known:
            skipped += 1
            continue
        key, outcome = parsed
        outcomes[key] = None if key in outcomes else outcome
    return outcomes, f"{skipped} unreadable line(s) in {shown} ignored" if skipped else ""


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


# Whose fault a bad table is: the candidate's for their predictions, the bundle's (a
# grader error, retried and never scored) for its own hidden labels.
Fault = type[CandidateOutputError] | type[GraderError]


def _rows(data: bytes, shown: str,
          fault: Fault = CandidateOutputError) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and non-blank rows (with line numbers) of UTF-8 CSV bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fault(
            f"{shown} is not UTF-8 text (bad byte at offset {exc.start})") from exc
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors add
    if not text.strip():
        raise fault(f"{shown} is empty")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = [name.strip() for name in next(reader)]
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise fault(
            f"{shown} is not valid CSV near line {reader.line_num}: {exc}") from exc
    return header, rows


def _column(header: list[str], name: str, shown: str,
            fault: Fault = CandidateOutputError) -> int:
    if header.count(name) > 1:
        raise fault(
            f"{shown}: column {show(name)} appears more than once in the header")
    try:
        return header.index(name)
    except ValueError:
        raise fault(
            f"{shown}: the header is {show(','.join(header))}; it needs the column {show(name)}"
        ) from None


def read_labels(path: Path, *, id_column: str, label_column: str) -> Labels:
    """Parse the bundle's labels; any problem is the bundle's fault (``GraderError``)."""
    shown = path.name
    try:
        header, rows = _rows(path.read_bytes(), shown, GraderError)
        id_at = _column(header, id_column, shown, GraderError)
        label_at = _column(header, label_column, shown, GraderError)
        ids: list[str] = []
        values: list[float] = []
        for line, row in rows:
            if len(row) != len(header):
                raise GraderError(f"{shown} line {line}: {len(row)} fields")
            ids.append(row[id_at].strip())
            values.append(float(row[label_at]))
    except (GraderError, ValueError, OSError) as exc:
        raise GraderError(f"hidden labels unusable: {exc}") from exc
    if len(set(ids)) != len(ids) or not ids:
        raise GraderError(f"hidden labels unusable: {shown} has duplicate ids or no rows")
    return Labels(tuple(ids), tuple(values))


def read_predictions(path: Path, *, shown: str, id_column: str, value_column: str,
                     expected_ids: tuple[str, ...], max_bytes: int) -> Predictions:
    """Validate a predictions CSV against the expected ids; problems raise
    ``CandidateOutputError`` whose message says every way the file is wrong."""
    header, rows = _rows(read_capped(path, max_bytes, shown=shown), shown)
    id_at = _column(header, id_column, shown)
    value_at = _column(header, value_column, shown)
    for line, row in rows:
        if len(row) != len(header):
            raise CandidateOutputError(f"{shown} line {line} has {len(row)} fields; "
                                       f"the header has {len(header)}")
    expected = set(expected_ids)
    found: dict[str, float] = {}
    not_numbers: list[str] = []
    not_finite: list[str] = []
    duplicates: list[str] = []
    unknown: list[str] = []
    for line, row in rows:
        row_id = row[id_at].strip()
        cell = row[value_at].strip()
        try:
            value = float(cell)
        except ValueError:
            not_numbers.append(f"line {line}: {show(cell)}")
            continue
        if not math.isfinite(value):
            not_finite.append(f"line {line}: {show(cell)}")
            continue
        if row_id not in expected:
            unknown.append(row_id)
        elif row_id in found:
            duplicates.append(row_id)
        else:
            found[row_id] = value
    missing = [i for i in expected_ids if i not in found]

    problems: list[str] = []
    if not_numbers:
        problems.append(f"{len(not_numbers)} value(s) of {value_column} are not numbers "
                        f"({'; '.join(not_numbers[:MAX_SHOWN])})")
    if not_finite:
        problems.append(f"{len(not_finite)} value(s) of {value_column} are NaN or infinite "
                        f"({'; '.join(not_finite[:MAX_SHOWN])})")
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate id(s) (e.g. {_examples(duplicates)})")
    if unknown:
        problems.append(f"{len(unknown)} row(s) with ids that are not in the test set "
                        f"(e.g. {_examples(unknown)})")
    if missing and not (not_numbers or not_finite):
        problems.append(f"{len(missing)} of {len(expected_ids)} test ids have no prediction "
                        f"(e.g. {_examples(missing)})")
    elif missing:
        problems.append(f"{len(missing)} of {len(expected_ids)} test ids have no usable prediction")
    if problems:
        raise CandidateOutputError(f"{shown}: " + "; ".join(problems))
    ignored = tuple(name for i, name in enumerate(header) if i not in (id_at, value_at))
    return Predictions(tuple(found[i] for i in expected_ids), len(rows), ignored)
