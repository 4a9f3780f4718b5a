"""Compare a function's output with the expected value, on the host, from tagged JSON.

Values cross the sandbox boundary as JSON. Plain JSON stands for itself; a one-key object
whose key starts with ``$`` is a tagged value (see challenges/README.md, "Values"):

    {"$float": "nan" | "inf" | "-inf"}
    {"$ndarray": {"dtype": "float64", "shape": [2, 3], "data": [...row-major...]}}
    {"$series": {"dtype": "int64", "data": [...]}}              (compared as a 1-D array)
    {"$dataframe": {"columns": ["a", "b"], "data": [[...a...], [...b...]]}}
    {"$set": [...]}                                             (compared order-insensitively)

Decoding is strict and bounded: candidate output never names files, never unpickles, and
a malformed value is an ``InvalidValue`` (a candidate fault), never a crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

# numpy is imported inside the functions that use it: the web process loads this module
# with the catalogue (the function kind) and must not pay for the scientific stack.

MAX_DEPTH = 64
MAX_ELEMENTS = 5_000_000
MAX_SHOWN_CHARS = 60
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# Data types a tagged array may declare; anything else (object, void, datetime) is refused.
_DTYPE_KINDS = {"b": "bool", "i": "number", "u": "number", "f": "number", "U": "string"}


class InvalidValue(ValueError):
    """A JSON value does not follow the tagged-value format; the message says where."""


@dataclass(frozen=True)
class Tolerance:
    """How close two numbers must be: ``|a - e| <= abs + rel * |e|`` (both default tiny)."""

    abs: float = 1e-9
    rel: float = 1e-9

    def close(self, actual: float, expected: float) -> bool:
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        if math.isinf(expected) or math.isinf(actual):
            return actual == expected
        return abs(actual - expected) <= self.abs + self.rel * abs(expected)


EXACT = Tolerance(0.0, 0.0)


@dataclass(frozen=True)
class Frame:
    """A DataFrame as the host sees it: named columns of equal length (the index is ignored)."""

    columns: tuple[str, ...]
    data: tuple[npt.NDArray[Any], ...]

    @property
    def rows(self) -> int:
        return len(self.data[0]) if self.data else 0


@dataclass(frozen=True)
class Unordered:
    """A set (or a list declared order-insensitive): its items, in no meaningful order."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Comparison:
    """Whether an output matched; ``reason`` says how it differed (empty when it matched)."""

    matched: bool
    reason: str = ""


MATCH = Comparison(True)


def _differs(reason: str) -> Comparison:
    return Comparison(False, reason)


# --- decoding -------------------------------------------------------------------------


def decode(raw: Any, *, where: str = "value") -> Any:
    """Tagged JSON (already parsed, no ``$file``) to host values: numpy arrays, Frames, ..."""
    return _decode(raw, where, 0)


def _decode(raw: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidValue(f"{where}: nested more than {MAX_DEPTH} levels deep")
    if raw is None or isinstance(raw, bool | int | str):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise InvalidValue(f"{where}: bare NaN/Infinity is not JSON; use {{\"$float\": ...}}")
        return raw
    if isinstance(raw, list):
        return [_decode(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(raw)]
    if isinstance(raw, dict):
        if len(raw) == 1:
            (key, body), = raw.items()
            if isinstance(key, str) and key.startswith("$"):
                return _decode_tagged(key, body, where, depth)
        return {str(k): _decode(v, f"{where}.{k}", depth + 1) for k, v in raw.items()}
    raise InvalidValue(f"{where}: not a JSON value ({type(raw).__name__})")


def _decode_tagged(tag: str, body: Any, where: str, depth: int) -> Any:
    if tag == "$float":
        if body not in _FLOATS:
            raise InvalidValue(f"{where}: $float must be \"nan\", \"inf\" or \"-inf\"")
        return _FLOATS[body]
    if tag == "$set":
        if not isinstance(body, list):
            raise InvalidValue(f"{where}: $set must hold a list")
        return Unordered(tuple(_decode(item, f"{where}[{i}]", depth + 1)
                               for i, item in enumerate(body)))
    if tag in ("$ndarray", "$series"):
        return _decode_array(body, f"{where} ({tag})", one_dimensional=tag == "$series")
    if tag == "$dataframe":
        return _decode_frame(body, where)
    raise InvalidValue(f"{where}: unknown tag {tag!r} (known: $float, $ndarray, $series, "
                       "$dataframe, $set)")


def _scalar(item: Any, where: str) -> Any:
    if isinstance(item, dict) and set(item) == {"$float"}:
        return _decode_tagged("$float", item["$float"], where, 0)
    if item is None or isinstance(item, bool | int | float | str):
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidValue(f"{where}: bare NaN/Infinity is not JSON")
        return item
    raise InvalidValue(f"{where}: array items must be numbers, booleans or strings")


def _decode_array(body: Any, where: str, *, one_dimensional: bool) -> npt.NDArray[Any]:
    import numpy as np

    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise InvalidValue(f"{where}: needs an object with a \"data\" list")
    data: list[Any] = body["data"]
    if len(data) > MAX_ELEMENTS:
        raise InvalidValue(f"{where}: more than {MAX_ELEMENTS} elements")
    shape_raw = body.get("shape", [len(data)])
    if (not isinstance(shape_raw, list) or len(shape_raw) > 32
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                       for n in shape_raw)):
        raise InvalidValue(f"{where}: shape must be a list of non-negative integers")
    shape = tuple(shape_raw)
    if one_dimensional and len(shape) != 1:
        raise InvalidValue(f"{where}: a series is one-dimensional")
    if math.prod(shape) != len(data):
        raise InvalidValue(f"{where}: shape {shape} does not hold {len(data)} elements")
    items = [_scalar(item, f"{where}[{i}]") for i, item in enumerate(data)]
    dtype = body.get("dtype")
    kind = _kind_of_dtype(dtype) if isinstance(dtype, str) else None
    try:
        if kind == "string":
            array = np.array([str(v) for v in items], dtype=np.str_)
        elif kind == "bool":
            if not all(isinstance(v, bool) for v in items):
                raise InvalidValue(f"{where}: a bool array holds only true/false")
            array = np.array(items, dtype=np.bool_)
        elif kind == "number" or all(isinstance(v, int | float) for v in items):
            if any(isinstance(v, bool | str) or v is None for v in items):
                raise InvalidValue(f"{where}: a numeric array holds only numbers")
            integral = dtype is not None and dtype.startswith(("int", "uint"))
            array = np.array(items, dtype=np.int64 if integral else np.float64)
        else:
            array = np.array([str(v) for v in items], dtype=np.str_)
    except OverflowError as exc:
        raise InvalidValue(f"{where}: {exc}") from exc
    return array.reshape(shape)


def _kind_of_dtype(dtype: str) -> str | None:
    import numpy as np

    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return None
    return _DTYPE_KINDS.get(kind, "string" if kind == "O" else None)


def _decode_frame(body: Any, where: str) -> Frame:
    if not isinstance(body, dict):
        raise InvalidValue(f"{where}: $dataframe needs an object with columns and data")
    columns, data = body.get("columns"), body.get("data")
    if (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
            or not isinstance(data, list) or len(data) != len(columns)):
        raise InvalidValue(f"{where}: $dataframe needs \"columns\" (names) and one \"data\" "
                           "list per column")
    if len(set(columns)) != len(columns):
        raise InvalidValue(f"{where}: $dataframe has duplicate column names")
    dtypes = body.get("dtypes") or [None] * len(columns)
    if not isinstance(dtypes, list) or len(dtypes) != len(columns):
        raise InvalidValue(f"{where}: $dataframe \"dtypes\" must list one dtype per column")
    arrays = tuple(_decode_array({"data": col, "dtype": dt}, f"{where}.{name}",
                                 one_dimensional=True)
                   if isinstance(col, list) else _bad_column(where, name)
                   for name, col, dt in zip(columns, data, dtypes, strict=True))
    if len({len(a) for a in arrays}) > 1:
        raise InvalidValue(f"{where}: $dataframe columns have different lengths")
    return Frame(tuple(columns), arrays)


def _bad_column(where: str, name: str) -> npt.NDArray[Any]:
    raise InvalidValue(f"{where}: $dataframe column {name!r} must be a list")


# --- comparing ------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as a detail line quotes it: short, unambiguous, never unbounded."""
    import numpy as np

    if isinstance(value, np.ndarray):
        text = f"array{list(value.shape)} {np.array2string(value.ravel()[:6], separator=', ')}"
    elif isinstance(value, Frame):
        text = f"DataFrame {value.rows}x{len(value.columns)} columns {list(value.columns)}"
    elif isinstance(value, Unordered):
        text = f"set of {len(value.items)}"
    elif isinstance(value, float):
        text = f"{value:.6g}" if math.isfinite(value) else str(value)
    else:
        text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "…"


def type_name(value: Any) -> str:
    import numpy as np

    if value is None:
        return "None"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, np.ndarray):
        return "an array"
    if isinstance(value, Frame):
        return "a DataFrame"
    if isinstance(value, Unordered):
        return "a set"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(actual: Any, expected: Any, *, tolerance: Tolerance = Tolerance(),
            unordered: bool = False) -> Comparison:
    """Whether ``actual`` matches ``expected``; numbers within ``tolerance``.

    ``unordered`` makes the top-level list (or array, or DataFrame rows) order-insensitive.
    A list and a 1-D array holding the same values match (a candidate may return either).
    """
    if unordered:
        actual, expected = _as_unordered(actual), _as_unordered(expected)
    return _compare(actual, expected, tolerance, 0)


def _as_unordered(value: Any) -> Any:
    import numpy as np

    if isinstance(value, list):
        return Unordered(tuple(value))
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        return Unordered(tuple(value.tolist()))
    if isinstance(value, Frame):
        return _sorted_frame(value)
    return value


def _compare(actual: Any, expected: Any, tol: Tolerance, depth: int) -> Comparison:
    import numpy as np

    if isinstance(expected, Unordered) or isinstance(actual, Unordered):
        return _compare_unordered(actual, expected, tol, depth)
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        return _compare_arrays(actual, expected, tol)
    if isinstance(expected, Frame):
        if not isinstance(actual, Frame):
            return _differs(f"expected a DataFrame, got {type_name(actual)} {show(actual)}")
        return _compare_frames(actual, expected, tol)
    if _is_number(expected):
        if not _is_number(actual):
            return _differs(f"expected {show(expected)}, got {type_name(actual)} {show(actual)}")
        if isinstance(expected, int) and isinstance(actual, int):
            return MATCH if actual == expected else _differs(
                f"expected {show(expected)}, got {show(actual)}")
        if tol.close(float(actual), float(expected)):
            return MATCH
        return _differs(f"expected {show(expected)}, got {show(actual)}")
    if type_name(actual) != type_name(expected):
        return _differs(f"expected {type_name(expected)} {show(expected)}, "
                        f"got {type_name(actual)} {show(actual)}")
    if isinstance(expected, list):
        if len(actual) != len(expected):
            return _differs(f"expected a list of {len(expected)}, got {len(actual)} items")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            inner = _compare(a, e, tol, depth + 1)
            if not inner.matched:
                return _differs(f"item {i}: {inner.reason}")
        return MATCH
    if isinstance(expected, dict):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing or extra:
            return _differs(f"keys differ (missing: {show(missing)}, unexpected: {show(extra)})")
        for key in expected:
            inner = _compare(actual[key], expected[key], tol, depth + 1)
            if not inner.matched:
                return _differs(f"key {show(key)}: {inner.reason}")
        return MATCH
    return MATCH if actual == expected else _differs(
        f"expected {show(expected)}, got {show(actual)}")


def _to_array(value: Any) -> npt.NDArray[Any] | None:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, list | Unordered):
        items = list(value.items) if isinstance(value, Unordered) else value
        try:
            array = np.asarray(items)
        except (ValueError, TypeError):
            return None
        return array if array.dtype.kind in "biufU" else None
    return None


def _array_kind(array: npt.NDArray[Any]) -> str:
    return {"b": "boolean", "U": "string"}.get(array.dtype.kind, "numeric")


def _compare_arrays(actual: Any, expected: Any, tol: Tolerance) -> Comparison:
    import numpy as np

    want, got = _to_array(expected), _to_array(actual)
    if want is None or got is None:
        return _differs(f"expected {type_name(expected)} {show(expected)}, "
                        f"got {type_name(actual)} {show(actual)}")
    if want.shape != got.shape:
        return _differs(f"expected shape {want.shape}, got shape {got.shape}")
    if _array_kind(want) != _array_kind(got):
        return _differs(f"expected {_array_kind(want)} values, got {_array_kind(got)} values")
    if _array_kind(want) != "numeric" or (want.dtype.kind in "iu" and got.dtype.kind in "iu"):
        bad = np.argwhere(want != got)
    else:
        w, g = want.astype(np.float64), got.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.abs(g - w) <= tol.abs + tol.rel * np.abs(w)
        close |= (np.isnan(w) & np.isnan(g)) | (np.isinf(w) & (w == g))
        bad = np.argwhere(~close)
    if len(bad) == 0:
        return MATCH
    first = tuple(int(i) for i in bad[0])
    at = first[0] if len(first) == 1 else first
    return _differs(f"{len(bad)} of {want.size} values differ; at {at}: expected "
                    f"{show(want[first].item())}, got {show(got[first].item())}")


def _canonical(value: Any) -> tuple[str, str]:
    """A sort key for mixed items: by type, then text (numbers sort by their float value)."""
    if _is_number(value):
        return ("number", f"{float(value):+.12e}")
    return (type_name(value), repr(value))


def _compare_unordered(actual: Any, expected: Any, tol: Tolerance, depth: int) -> Comparison:
    import numpy as np

    def items(value: Any) -> list[Any] | None:
        if isinstance(value, Unordered):
            return list(value.items)
        if isinstance(value, list):
            return value
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return list(value.tolist())
        return None

    want, got = items(expected), items(actual)
    if want is None or got is None:
        return _differs(f"expected {type_name(expected)} {show(expected)}, "
                        f"got {type_name(actual)} {show(actual)}")
    if len(want) != len(got):
        return _differs(f"expected {len(want)} items (in any order), got {len(got)}")
    remaining = sorted(got, key=_canonical)
    for e in sorted(want, key=_canonical):
        # Sorted on both sides, the match is usually next; the scan keeps tolerance honest.
        for i, a in enumerate(remaining):
            if _compare(a, e, tol, depth + 1).matched:
                del remaining[i]
                break
        else:
            return _differs(f"expected {show(e)} among the items (in any order); not found")
    return MATCH


def _sorted_frame(frame: Frame) -> Frame:
    if not frame.data or frame.rows == 0:
        return frame
    order = sorted(range(frame.rows),
                   key=lambda r: [_canonical(col[r].item()) for col in frame.data])
    return Frame(frame.columns, tuple(col[order] for col in frame.data))


def _compare_frames(actual: Frame, expected: Frame, tol: Tolerance) -> Comparison:
    if set(actual.columns) != set(expected.columns):
        missing = [c for c in expected.columns if c not in actual.columns]
        extra = [c for c in actual.columns if c not in expected.columns]
        return _differs(f"columns differ (missing: {show(missing)}, unexpected: {show(extra)})")
    if actual.rows != expected.rows:
        return _differs(f"expected {expected.rows} rows, got {actual.rows}")
    by_name = dict(zip(actual.columns, actual.data, strict=True))
    for name, want in zip(expected.columns, expected.data, strict=True):
        inner = _compare_arrays(by_name[name], want, tol)
        if not inner.matched:
            return _differs(f"column {show(name)}: {inner.reason}")
    return MATCH

