"""Parsing of case files: inputs split from answers, errors naming file and line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from heldout.graders.cases import CasesError, load_cases
from heldout.graders.compare import Frame, Tolerance


def write(directory: Path, *lines: Any, name: str = "cases.jsonl") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line)
                              for line in lines) + "\n")
    return path


def test_cases_parse_with_defaults_and_options(tmp_path: Path) -> None:
    path = write(tmp_path / "hidden",
                 {"function": "f", "args": [1, 2], "expected": 3},
                 "",
                 "// a comment line",
                 {"function": "g", "kwargs": {"x": [1]}, "expected": {"$float": "nan"},
                  "tolerance": {"abs": 0.01, "rel": 0.1}, "group": "edge", "weight": 2,
                  "unordered": True, "timeout": 1.5, "name": "empty"})
    cases = load_cases(path, functions={"f", "g"})
    first, second = cases.cases
    assert (first.number, first.line, first.function, first.args) == (1, 1, "f", (1, 2))
    assert first.tolerance == Tolerance() and first.weight == 1.0 and first.group == ""
    assert (second.number, second.line, second.group, second.weight) == (2, 4, "edge", 2.0)
    assert second.tolerance == Tolerance(0.01, 0.1) and second.unordered
    assert second.label == "case 2 (empty)"
    assert math.isnan(cases.expected_value(second))
    assert cases.groups() == ("", "edge")


def test_harness_inputs_never_carry_answers(tmp_path: Path) -> None:
    path = write(tmp_path / "hidden",
                 {"function": "f", "args": [{"$file": "x.npy"}], "expected": 987654321,
                  "group": "secret-group", "weight": 3, "tolerance": 0.5})
    np.save(tmp_path / "hidden" / "x.npy", np.arange(3))
    cases = load_cases(path)
    inputs = cases.harness_inputs(default_timeout=2.0)
    assert inputs == [{"id": 1, "function": "f", "args": [{"$file": "x.npy"}], "kwargs": {},
                       "timeout": 2.0}]
    text = json.dumps(inputs)
    assert "987654321" not in text and "secret-group" not in text
    assert cases.input_files == ("x.npy",)


def test_file_references_load_on_the_host(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    np.save(hidden / "want.npy", np.array([0.5, 1.5]))
    (hidden / "want.csv").write_text("k,v,n\na,1,0.5\nb,2,\n")
    (hidden / "want.json").write_text(json.dumps({"$set": [1, 2]}))
    path = write(hidden,
                 {"function": "f", "expected": {"$file": "want.npy"}},
                 {"function": "f", "expected": {"$file": "want.csv"}},
                 {"function": "f", "expected": [{"$file": "want.json"}]})
    cases = load_cases(path)
    assert cases.expected_files == ("want.npy", "want.csv", "want.json")
    assert cases.input_files == ()
    array = cases.expected_value(cases.cases[0])
    assert array.tolist() == [0.5, 1.5]
    table = cases.expected_value(cases.cases[1])
    assert isinstance(table, Frame) and table.columns == ("k", "v", "n")
    assert table.data[1].dtype == np.int64 and math.isnan(table.data[2][1])


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "hidden/cases.jsonl:2: not a JSON object"),
    ("[1, 2]", "hidden/cases.jsonl:2: each line must be a JSON object"),
    ({"function": "f"}, "hidden/cases.jsonl:2: \"expected\" is missing"),
    ({"function": "nope", "expected": 1}, "function 'nope' is not one of"),
    ({"function": "f", "expected": 1, "extra": 1}, "unknown key 'extra'"),
    ({"function": "f", "args": {"a": 1}, "expected": 1}, "\"args\" must be a list"),
    ({"function": "f", "expected": 1, "weight": 0}, "\"weight\" must be a positive number"),
    ({"function": "f", "expected": 1, "timeout": 99}, "over the run's 10 s"),
    ({"function": "f", "expected": 1, "tolerance": "loose"}, "\"tolerance\" must be"),
    ({"function": "f", "expected": 1, "tolerance": {"abs": -1}}, "non-negative"),
    ({"function": "f", "expected": {"$float": "zero"}}, "$float must be"),
    ({"function": "f", "args": [{"$ndarray": {"data": 3}}], "expected": 1}, "\"data\" list"),
    ({"function": "f", "args": [{"$file": "../labels.npy"}], "expected": 1}, "relative path"),
    ({"function": "f", "args": [{"$file": "gone.npy"}], "expected": 1}, "no such file"),
    ({"function": "f", "args": [{"$file": "x.pkl"}], "expected": 1}, "ending in .npy"),
    ('{"function": "f", "expected": NaN}', "NaN is not JSON"),
])
def test_errors_name_file_and_line(tmp_path: Path, line: Any, message: str) -> None:
    path = write(tmp_path / "hidden", {"function": "f", "expected": 1}, line)
    with pytest.raises(CasesError) as caught:
        load_cases(path, functions={"f"}, max_timeout=10)
    assert message in str(caught.value)
    assert "hidden/cases.jsonl:" in str(caught.value)


def test_missing_or_empty_files(tmp_path: Path) -> None:
    with pytest.raises(CasesError, match="missing"):
        load_cases(tmp_path / "public" / "cases.jsonl")
    assert load_cases(tmp_path / "public" / "cases.jsonl", required=False).cases == ()
    with pytest.raises(CasesError, match="holds no cases"):
        load_cases(write(tmp_path / "hidden", "// nothing"))


def test_a_linked_file_is_refused(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (tmp_path / "outside.npy").write_bytes(b"x")
    (hidden / "x.npy").symlink_to(tmp_path / "outside.npy")
    path = write(hidden, {"function": "f", "args": [{"$file": "x.npy"}], "expected": 1})
    with pytest.raises(CasesError, match="not a regular file"):
        load_cases(path)
