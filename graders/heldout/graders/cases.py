"""Test cases of a bundle (``public/cases.jsonl``, ``hidden/cases.jsonl``): parse and split.

A case file is one JSON object per line (blank lines and lines starting with ``//`` are
skipped)::

    {"function": "roc_auc", "args": [[0, 1, 1], [0.1, 0.4, 0.35]], "expected": 1.0,
     "tolerance": {"abs": 1e-9}, "group": "ties", "weight": 2}

Inputs (``args``, ``kwargs``) and ``expected`` are JSON or tagged values
(:mod:`heldout.graders.compare`), plus ``{"$file": "name.npy"}``: a file next to the
case file (``.npy`` = array, ``.csv`` = DataFrame, ``.json`` = a value). What reaches the
sandbox is :meth:`CaseSet.harness_inputs` and :meth:`CaseSet.input_files` alone: never
``expected``, a group, a weight or a tolerance.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from heldout.graders.compare import Frame, InvalidValue, Tolerance, decode
from heldout.graders.errors import BundleError

if TYPE_CHECKING:
    import numpy.typing as npt

CASES_NAME = "cases.jsonl"
FILE_TAG = "$file"
FILE_SUFFIXES = (".npy", ".csv", ".json")
DEFAULT_GROUP = ""
DEFAULT_TOLERANCE = Tolerance()
MAX_CASES_BYTES = 64 * 1024 * 1024
MAX_CASES = 10_000
_KEYS = ("function", "args", "kwargs", "expected", "tolerance", "group", "weight",
         "unordered", "timeout", "name")


class CasesError(BundleError):
    """A case file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Case:
    """One call of a candidate function and the value it must return."""

    number: int  # 1-based position in its file; reports say "case 3"
    line: int
    function: str
    args: tuple[Any, ...]  # raw JSON: tagged values and $file references unresolved
    kwargs: Mapping[str, Any]
    expected: Any  # raw JSON, resolved on the host by CaseSet.expected_value
    tolerance: Tolerance = DEFAULT_TOLERANCE
    group: str = DEFAULT_GROUP
    weight: float = 1.0
    unordered: bool = False
    timeout: float | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return f"case {self.number}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class CaseSet:
    """The cases of one file; ``$file`` references are relative to ``base``."""

    path: Path
    base: Path
    cases: tuple[Case, ...]
    input_files: tuple[str, ...] = field(default=())
    expected_files: tuple[str, ...] = field(default=())

    def groups(self) -> tuple[str, ...]:
        """Group names in order of first appearance."""
        return tuple(dict.fromkeys(case.group for case in self.cases))

    def harness_inputs(self, default_timeout: float) -> list[dict[str, Any]]:
        """What the harness may see of each case: the call, and nothing about its answer."""
        return [{"id": case.number, "function": case.function, "args": list(case.args),
                 "kwargs": dict(case.kwargs), "timeout": case.timeout or default_timeout}
                for case in self.cases]

    def expected_value(self, case: Case) -> Any:
        """``expected`` decoded for :func:`heldout.graders.compare.compare` (host only)."""
        return _resolve(case.expected, self.base, f"{self.path.name}:{case.line}: expected")


def _error(path: Path, line: int, message: str) -> CasesError:
    return CasesError(f"{path.parent.name}/{path.name}:{line}: {message}")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON (write {{\"$float\": \"nan\"}} and the like)")


def load_cases(path: Path, *, functions: Collection[str] | None = None,
               max_timeout: float | None = None, required: bool = True) -> CaseSet:
    """Parse and validate a case file and every file it references.

    ``functions`` restricts the function names; ``max_timeout`` caps each case's timeout.
    """
    if not path.is_file() or path.is_symlink():
        if required:
            raise CasesError(f"{path.parent.name}/{path.name}: missing")
        return CaseSet(path, path.parent, ())
    if path.stat().st_size > MAX_CASES_BYTES:
        raise CasesError(f"{path.parent.name}/{path.name}: over {MAX_CASES_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CasesError(f"{path.parent.name}/{path.name}: not UTF-8: {exc}") from exc
    cases: list[Case] = []
    inputs: dict[str, None] = {}
    expected: dict[str, None] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            raw = json.loads(line, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise _error(path, line_no, f"not a JSON object: {exc}") from None
        case = _case(raw, path, line_no, len(cases) + 1, functions, max_timeout)
        for ref in _references([*case.args, dict(case.kwargs)]):
            inputs[_checked_file(ref, path, line_no)] = None
        for ref in _references(case.expected):
            expected[_checked_file(ref, path, line_no)] = None
        try:
            _resolve(case.expected, path.parent, "expected")
            decode(_without_files(list(case.args)), where="args")
            decode(_without_files(dict(case.kwargs)), where="kwargs")
        except (InvalidValue, OSError, ValueError) as exc:
            raise _error(path, line_no, str(exc)) from None
        cases.append(case)
        if len(cases) > MAX_CASES:
            raise _error(path, line_no, f"more than {MAX_CASES} cases")
    if required and not cases:
        raise CasesError(f"{path.parent.name}/{path.name}: holds no cases")
    return CaseSet(path, path.parent, tuple(cases), tuple(inputs), tuple(expected))


def _case(raw: Any, path: Path, line: int, number: int, functions: Collection[str] | None,
          max_timeout: float | None) -> Case:
    def fail(message: str) -> CasesError:
        return _error(path, line, message)

    if not isinstance(raw, dict):
        raise fail("each line must be a JSON object")
    unknown = [key for key in raw if key not in _KEYS]
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; known: {', '.join(_KEYS)}")
    function = raw.get("function")
    if not isinstance(function, str) or not function.isidentifier():
        raise fail("\"function\" must name a Python function")
    if functions is not None and function not in functions:
        raise fail(f"function {function!r} is not one of [grading].functions "
                   f"({', '.join(sorted(functions))})")
    args = raw.get("args", [])
    kwargs = raw.get("kwargs", {})
    if not isinstance(args, list):
        raise fail("\"args\" must be a list")
    if not isinstance(kwargs, dict) or not all(k.isidentifier() for k in kwargs):
        raise fail("\"kwargs\" must be an object of argument names")
    if "expected" not in raw:
        raise fail("\"expected\" is missing")
    group = raw.get("group", DEFAULT_GROUP)
    if not isinstance(group, str) or len(group) > 40 or ":" in group:
        raise fail("\"group\" must be a short string without ':'")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 60):
        raise fail("\"name\" must be a short string")
    weight = _positive(raw, "weight", 1.0, fail)
    timeout = _positive(raw, "timeout", None, fail)
    if timeout is not None and max_timeout is not None and timeout > max_timeout:
        raise fail(f"\"timeout\" {timeout:g} s is over the run's {max_timeout:g} s")
    unordered = raw.get("unordered", False)
    if not isinstance(unordered, bool):
        raise fail("\"unordered\" must be true or false")
    return Case(number=number, line=line, function=function, args=tuple(args),
                kwargs=MappingProxyType(dict(kwargs)), expected=raw["expected"],
                tolerance=_tolerance(raw.get("tolerance"), fail), group=group, weight=weight,
                unordered=unordered, timeout=timeout, name=name)


def _positive(raw: Mapping[str, Any], key: str, default: float | None,
              fail: Any) -> Any:
    value = raw.get(key, default)
    if value is None:
        return None
    if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            or value <= 0):
        raise fail(f"\"{key}\" must be a positive number")
    return float(value)


def _tolerance(raw: Any, fail: Any) -> Tolerance:
    if raw is None:
        return DEFAULT_TOLERANCE
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = {"abs": raw, "rel": 0}
    if not isinstance(raw, dict) or set(raw) - {"abs", "rel"}:
        raise fail("\"tolerance\" must be a number (absolute) or {\"abs\": …, \"rel\": …}")
    values = {key: raw.get(key, 0.0) for key in ("abs", "rel")}
    for key, value in values.items():
        if (not isinstance(value, int | float) or isinstance(value, bool)
                or not math.isfinite(value) or value < 0):
            raise fail(f"\"tolerance\".{key} must be a non-negative number")
    return Tolerance(float(values["abs"]), float(values["rel"]))


def _is_file_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and FILE_TAG in value


def _references(value: Any) -> list[Any]:
    if _is_file_ref(value):
        return [value[FILE_TAG]]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _references(item)]
    return []


def _without_files(value: Any) -> Any:
    if _is_file_ref(value):
        return None
    if isinstance(value, list):
        return [_without_files(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_files(item) for key, item in value.items()}
    return value


def _checked_file(ref: Any, path: Path, line: int) -> str:
    if not isinstance(ref, str):
        raise _error(path, line, "{\"$file\": …} needs a relative path")
    pure = PurePosixPath(ref)
    if (pure.is_absolute() or ".." in pure.parts or pure.as_posix() != ref or "\\" in ref
            or pure.suffix not in FILE_SUFFIXES or ref == CASES_NAME):
        raise _error(path, line, f"$file {ref!r}: must be a relative path next to the case "
                     f"file ending in {', '.join(FILE_SUFFIXES)}")
    target = path.parent / ref
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        raise _error(path, line, f"$file {ref!r}: no such file") from None
    if not stat.S_ISREG(mode):
        raise _error(path, line, f"$file {ref!r}: not a regular file")
    return ref


def _resolve(value: Any, base: Path, where: str) -> Any:
    """Decode a trusted bundle value, loading ``$file`` references relative to ``base``."""
    if _is_file_ref(value):
        return load_value_file(base / value[FILE_TAG])
    if isinstance(value, list):
        return [_resolve(item, base, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict) and not (len(value) == 1 and next(iter(value)).startswith("$")):
        return {key: _resolve(item, base, f"{where}.{key}") for key, item in value.items()}
    return decode(value, where=where)


def load_value_file(path: Path) -> Any:
    """A bundle's data file as a host value: ``.npy`` array, ``.csv`` Frame, ``.json`` value."""
    if path.suffix == ".npy":
        import numpy as np

        return np.load(path, allow_pickle=False)
    if path.suffix == ".json":
        return decode(json.loads(path.read_text(encoding="utf-8"),
                                 parse_constant=_reject_constant), where=path.name)
    return read_frame(path.read_text(encoding="utf-8"))


def read_frame(text: str) -> Frame:
    """A CSV as a Frame: a column whose cells all parse as numbers is numeric (empty = NaN)."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return Frame((), ())
    header, body = rows[0], [row for row in rows[1:] if row]
    columns = []
    for i in range(len(header)):
        cells = [row[i] if i < len(row) else "" for row in body]
        columns.append(_column(cells))
    return Frame(tuple(header), tuple(columns))


def _column(cells: list[str]) -> npt.NDArray[Any]:
    # Imported here, not at the top: the web process loads this module with the catalogue.
    import numpy as np

    try:
        as_int = [int(cell) for cell in cells]
        return np.array(as_int, dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(cell) if cell.strip() else math.nan for cell in cells],
                        dtype=np.float64)
    except ValueError:
        return np.array(cells, dtype=np.str_)
