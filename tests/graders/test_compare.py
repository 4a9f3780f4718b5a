"""Host-side comparison of function outputs with expected values, from tagged JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from heldout.graders.compare import (
    EXACT,
    Frame,
    InvalidValue,
    Tolerance,
    Unordered,
    compare,
    decode,
)


def frame(**columns: list[Any]) -> Frame:
    return Frame(tuple(columns), tuple(np.asarray(v) for v in columns.values()))


@pytest.mark.parametrize(("actual", "expected"), [
    (1, 1), ("a", "a"), (None, None), (True, True), ([1, [2, "x"]], [1, [2, "x"]]),
    ({"a": 1.0, "b": [1]}, {"a": 1.0, "b": [1]}), (0.1 + 0.2, 0.3), (3, 3.0), (3.0, 3),
    (math.nan, math.nan), (math.inf, math.inf),
])
def test_equal_values_match(actual: Any, expected: Any) -> None:
    assert compare(actual, expected).matched


@pytest.mark.parametrize(("actual", "expected", "reason"), [
    (0.5, 0.75, "expected 0.75, got 0.5"),
    ("0.75", 0.75, "expected 0.75, got a string '0.75'"),
    (True, 1, "expected 1, got a boolean True"),
    (None, [1], "expected a list [1], got None None"),
    ([1, 2], [1, 2, 3], "expected a list of 3, got 2 items"),
    ([1, 5], [1, 2], "item 1: expected 2, got 5"),
    ({"a": 1}, {"b": 1}, "keys differ"),
    (math.nan, 1.0, "expected 1, got nan"),
    (-math.inf, math.inf, "expected inf, got -inf"),
])
def test_different_values_say_how(actual: Any, expected: Any, reason: str) -> None:
    result = compare(actual, expected)
    assert not result.matched
    assert reason in result.reason


def test_tolerance_absolute_and_relative() -> None:
    assert compare(1.05, 1.0, tolerance=Tolerance(abs=0.1, rel=0)).matched
    assert not compare(1.2, 1.0, tolerance=Tolerance(abs=0.1, rel=0)).matched
    assert compare(1010.0, 1000.0, tolerance=Tolerance(abs=0, rel=0.02)).matched
    assert not compare(1.0 + 1e-12, 1.0, tolerance=EXACT).matched


def test_arrays_shape_dtype_tolerant_values_with_tolerance() -> None:
    want = np.array([[1.0, 2.0], [3.0, math.nan]])
    assert compare(np.array([[1.0, 2.0], [3.0, math.nan]]), want).matched
    assert compare(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])).matched  # int vs float
    assert compare([1, 2, 3], np.array([1, 2, 3])).matched  # a list for a 1-D array
    shape = compare(np.zeros(4), np.zeros((2, 2)))
    assert not shape.matched and "expected shape (2, 2), got shape (4,)" in shape.reason
    value = compare(np.array([1.0, 2.5]), np.array([1.0, 2.0]))
    assert not value.matched and "1 of 2 values differ; at 1: expected 2, got 2.5" in value.reason
    kind = compare(np.array(["a", "b"]), np.array([1, 2]))
    assert not kind.matched and "numeric" in kind.reason
    assert not compare("text", np.array([1])).matched


def test_unordered_lists_arrays_and_frames() -> None:
    assert compare([3, 1, 2], [1, 2, 3], unordered=True).matched
    assert not compare([3, 1, 2], [1, 2, 3]).matched
    assert compare(np.array([2.0, 1.0]), [1.0, 2.0], unordered=True).matched
    missing = compare([1, 1, 2], [1, 2, 2], unordered=True)
    assert not missing.matched and "not found" in missing.reason
    assert compare(Unordered((1, 2)), Unordered((2.0, 1.0))).matched
    left = frame(a=[2, 1], b=["y", "x"])
    right = frame(b=["x", "y"], a=[1, 2])
    assert compare(left, right, unordered=True).matched
    assert not compare(left, right).matched


def test_frames_columns_rows_and_values() -> None:
    want = frame(a=[1, 2], b=[0.5, 0.25])
    assert compare(frame(b=[0.5, 0.25], a=[1.0, 2.0]), want).matched
    assert "columns differ" in compare(frame(a=[1, 2]), want).reason
    assert "expected 2 rows, got 1" in compare(frame(a=[1], b=[0.5]), want).reason
    assert "column 'b'" in compare(frame(a=[1, 2], b=[0.5, 0.3]), want).reason
    assert "expected a DataFrame" in compare([1, 2], want).reason


def test_decode_tagged_values() -> None:
    raw = json.loads(json.dumps({
        "x": {"$float": "nan"},
        "a": {"$ndarray": {"dtype": "float64", "shape": [2, 2], "data": [1, 2, 3, {"$float": "inf"}]}},
        "s": {"$series": {"dtype": "int64", "data": [1, 2]}},
        "f": {"$dataframe": {"columns": ["k", "v"], "dtypes": ["object", "float64"],
                             "data": [["a", "b"], [1.5, 2.5]]}},
        "u": {"$set": [3, 1]},
    }))
    value = decode(raw)
    assert math.isnan(value["x"])
    assert value["a"].shape == (2, 2) and value["a"][1, 1] == math.inf
    assert value["s"].dtype == np.int64
    assert value["f"].columns == ("k", "v") and value["f"].rows == 2
    assert isinstance(value["u"], Unordered)


@pytest.mark.parametrize("raw", [
    {"$float": "zero"},
    {"$ndarray": {"shape": [3], "data": [1, 2]}},
    {"$ndarray": {"data": [[1]]}},
    {"$ndarray": {"dtype": "float64", "data": ["a"]}},
    {"$dataframe": {"columns": ["a", "a"], "data": [[1], [2]]}},
    {"$dataframe": {"columns": ["a", "b"], "data": [[1], [2, 3]]}},
    {"$pickle": "gASV"},
    {"$file": "/etc/passwd"},
    math.nan,
])
def test_decode_refuses_malformed_or_unsafe_values(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        decode(raw)


def test_decode_refuses_deep_nesting() -> None:
    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(InvalidValue, match="nested"):
        decode(deep)
