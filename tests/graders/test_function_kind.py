"""The ``function`` kind: case results read from untrusted output, and the real sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle_types import Bundle
from heldout.graders.cli import grade_command

REPO_CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
METRICS = REPO_CHALLENGES / "metrics-from-scratch"

TOML = """\
title = "Add"
kind = "function"
summary = "Add numbers."
skills = ["python"]
difficulty = "easy"
expected_minutes = 5

[submission]
entrypoint = "solution.py"

[grading]
functions = ["add"]
"""


@pytest.fixture
def add_bundle(tmp_path: Path) -> Bundle:
    root = tmp_path / "challenges" / "add"
    for name in ("public", "hidden", "starter"):
        (root / name).mkdir(parents=True)
    (root / "challenge.toml").write_text(TOML)
    (root / "statement.md").write_text("# Add\n")
    (root / "public" / "cases.jsonl").write_text(
        json.dumps({"function": "add", "args": [1, 1], "expected": 2}) + "\n")
    lines = [{"function": "add", "args": [1, 2], "expected": 3, "group": "small"},
             {"function": "add", "args": [2, 2], "expected": 4, "group": "small"},
             {"function": "add", "args": [0.1, 0.2], "expected": 0.3, "group": "floats",
              "weight": 2}]
    (root / "hidden" / "cases.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return load_bundle(root)


def _results(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
                    for line in lines)


def test_results_are_compared_per_case_with_group_credit(
        add_bundle: Bundle, submission: Path, fake_sandbox: Callable[..., object]) -> None:
    sandbox = fake_sandbox({"results.jsonl": _results(
        {"id": 1, "status": "ok", "value": 3},
        {"id": 2, "status": "ok", "value": 5},
        {"id": 3, "status": "ok", "value": 0.30000000000000004})})
    evaluation = evaluate(add_bundle, submission, sandbox=sandbox)  # type: ignore[arg-type]
    names = [c.name for c in evaluation.checks]
    assert names == ["run", "tests: small", "tests: floats"]
    small = evaluation.checks[1]
    assert small.score == 25 and small.max_score == 50  # weights: small 1+1, floats 2
    assert small.detail == "1/2 cases passed; case 2: expected 4, got 5"
    assert evaluation.checks[2].score == 50 and evaluation.score == 75


def test_the_harness_sees_inputs_only(add_bundle: Bundle, submission: Path,
                                      fake_sandbox: Callable[..., object]) -> None:
    seen: dict[str, str] = {}

    class Peeking:
        def __init__(self) -> None:
            self.inner = fake_sandbox()

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def run(self, spec, output_dir):  # type: ignore[no-untyped-def]
            assert spec.harness is not None and spec.data == add_bundle.public_dir
            seen.update({p.name: p.read_text() for p in spec.harness.rglob("*.json")})
            return self.inner.run(spec, output_dir)  # type: ignore[attr-defined]

    evaluate(add_bundle, submission, sandbox=Peeking())  # type: ignore[arg-type]
    job = json.loads(seen["cases.json"])
    assert [case["args"] for case in job["cases"]] == [[1, 2], [2, 2], [0.1, 0.2]]
    assert "expected" not in seen["cases.json"] and "small" not in seen["cases.json"]


@pytest.mark.parametrize(("lines", "reason"), [
    ([b"garbage", {"id": 1, "status": "ok", "value": 3}], None),
    ([b'{"id": 1, "status": "ok", "value": NaN}'], "no result"),
    ([{"id": 1, "status": "ok", "value": 3}, {"id": 1, "status": "ok", "value": 3}],
     "reported more than once"),
    ([{"id": 1, "status": "ok", "value": {"$file": "/etc/passwd"}}], "unreadable result"),
    ([{"id": 1, "status": "ok", "value": {"$pickle": "gASV"}}], "unreadable result"),
    ([{"id": 1, "status": "error", "error": "ValueError: no"}], "raised ValueError: no"),
    ([{"id": 1, "status": "timeout", "error": "timed out after 5 s"}], "timed out after 5 s"),
    ([{"id": "1", "status": "ok", "value": 3}, {"id": 99, "status": "ok", "value": 3}],
     "no result"),
    ([b"[" * 100000], "no result"),
])
def test_untrusted_result_lines(add_bundle: Bundle, submission: Path,
                                fake_sandbox: Callable[..., object], lines: list[object],
                                reason: str | None) -> None:
    sandbox = fake_sandbox({"results.jsonl": _results(*lines)})
    evaluation = evaluate(add_bundle, submission, sandbox=sandbox)  # type: ignore[arg-type]
    assert evaluation.status == "graded"
    first = evaluation.checks[1]
    if reason is None:
        assert first.detail.startswith("1/2 cases passed")
    else:
        assert "case 1: " + reason in first.detail or f"case 1: {reason}" in first.detail


def test_missing_or_oversized_results_fail_every_case(
        add_bundle: Bundle, submission: Path, fake_sandbox: Callable[..., object]) -> None:
    evaluation = evaluate(add_bundle, submission, sandbox=fake_sandbox(  # type: ignore[arg-type]
        exit_code=1, stderr_tail="Traceback\nZeroDivisionError: division by zero"))
    assert evaluation.score == 0
    assert "ZeroDivisionError" in evaluation.checks[0].detail
    assert "results.jsonl was not written" in evaluation.checks[0].detail
    huge = fake_sandbox({"results.jsonl": b"x" * (4 * 1024 * 1024 + 16 * 1024 * 1024)},
                        exit_code=1)
    evaluation = evaluate(add_bundle, submission, sandbox=huge)  # type: ignore[arg-type]
    assert evaluation.score == 0 and "over the" in evaluation.checks[0].detail


@pytest.mark.docker
def test_public_checks_in_the_real_sandbox(sandbox_image: str) -> None:
    result = CliRunner().invoke(grade_command, [
        str(METRICS), str(METRICS / "solutions" / "reference"), "--public", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["split"] == "public" and shown["score"] == 100
    assert shown["checks"][1]["detail"].startswith("1/1 cases passed")
    graded = CliRunner().invoke(grade_command, [
        str(METRICS), str(METRICS / "solutions" / "reference"), "--json"])
    assert "split" not in json.loads(graded.output)


@pytest.mark.docker
def test_fifty_cases_cost_one_sandbox_run(sandbox_image: str) -> None:
    bundle = load_bundle(METRICS)
    runs: list[object] = []
    from heldout.sandbox.backend import get_sandbox

    inner = get_sandbox()

    class Counting:
        name = inner.name

        def run(self, spec, output_dir):  # type: ignore[no-untyped-def]
            runs.append(spec)
            return inner.run(spec, output_dir)

    evaluation = evaluate(bundle, METRICS / "solutions" / "reference",
                          sandbox=Counting())  # type: ignore[arg-type]
    assert evaluation.score == 100 and len(runs) == 1
    assert sum(int(c.detail.split("/")[1].split()[0]) for c in evaluation.checks[1:]) == 47
