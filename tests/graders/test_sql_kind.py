"""The ``sql`` kind: query files, result tables compared on the host, and the real sandbox."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from heldout.graders import evaluate, load_bundle
from heldout.graders.cli import grade_command
from heldout.graders.errors import BundleError
from heldout.graders.kinds.sql import (
    HARNESS_SOURCE,
    QUERY,
    ResultTable,
    SqlQuery,
    compare_tables,
    family,
    load_expected,
)
from heldout.sandbox.spec import JobSpec, RunResult

REPO = Path(__file__).resolve().parents[2]
RETENTION = REPO / "challenges" / "retention-cohorts"
HARNESS = HARNESS_SOURCE
QUERIES = ("cohort_sizes", "weekly_retention", "best_week_one")


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sql_harness_under_test", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table(columns: list[tuple[str, str]], rows: list[list[Any]], truncated: bool = False
          ) -> ResultTable:
    return ResultTable(tuple(c for c, _ in columns), tuple(t for _, t in columns),
                       tuple(tuple(r) for r in rows), truncated)


# --- the query file ------------------------------------------------------------------

def test_named_queries_split_at_their_headers() -> None:
    split = _harness().split_queries(
        "-- the file's own comment\n\n-- name: first\nSELECT 1;\n"
        "--   NAME :  second\nCREATE TEMP VIEW v AS SELECT 2 AS x;\nSELECT x FROM v;\n"
        "-- name: first\nSELECT 3;\n")
    assert split == {"first": None, "second":
                     "CREATE TEMP VIEW v AS SELECT 2 AS x;\nSELECT x FROM v;"}


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT 1;\n", "no `-- name: <query>` header"),
    ("SELECT 0;\n-- name: a\nSELECT 1;\n", "belongs to no query"),
    ("-- name: 1abc\nSELECT 1;\n", "is not a query name"),
    ("-- name:\nSELECT 1;\n", "is not a query name"),
])
def test_query_files_that_break_the_syntax(text: str, message: str) -> None:
    harness = _harness()
    with pytest.raises(harness.QueryFileError, match=message):
        harness.split_queries(text)


# --- comparison ----------------------------------------------------------------------

@pytest.mark.parametrize(("type_name", "expected"), [
    ("BIGINT", "number"), ("DECIMAL(18,3)", "number"), ("DOUBLE", "number"),
    ("HUGEINT", "number"), ("VARCHAR", "text"), ("DATE", "date"),
    ("TIMESTAMP WITH TIME ZONE", "timestamp"), ("TIMESTAMP_NS", "timestamp"),
    ("INTEGER[]", "list"), ("BOOLEAN", "boolean"), ("STRUCT(a INTEGER)", "struct"),
])
def test_type_families(type_name: str, expected: str) -> None:
    assert family(type_name) == expected


EXPECTED = table([("cohort_week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")],
                 [["2024-01-01", 3, 0.5], ["2024-01-08", 2, 0.25], ["2024-01-15", 1, 0.25]])


@pytest.mark.parametrize(("actual", "ordered", "reason"), [
    (table([("COHORT_WEEK", "DATE"), ("Users", "DOUBLE"), ("share", "DECIMAL(9,4)")],
           [["2024-01-15", 1.0, 0.25], ["2024-01-01", 3, 0.5 + 1e-9], ["2024-01-08", 2, 0.25]]),
     False, None),
    (table([("cohort_week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")],
           [["2024-01-15", 1, 0.25], ["2024-01-01", 3, 0.5], ["2024-01-08", 2, 0.25]]),
     True, "3 of 3 rows differ; row 1: got [\"2024-01-15\""),
    (table([("cohort_week", "DATE"), ("users", "VARCHAR"), ("share", "DOUBLE")],
           [["2024-01-01", "3", 0.5], ["2024-01-08", "2", 0.25], ["2024-01-15", "1", 0.25]]),
     False, "column users is VARCHAR (text), expected number"),
    (table([("week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")], []),
     False, 'columns ["week", "users", "share"], expected ["cohort_week"'),
    (table([("cohort_week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")],
           [["2024-01-01", 3, 0.5], ["2024-01-08", 2, 0.25]]),
     False, "2 rows, expected 3"),
    (table([("cohort_week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")],
           [["2024-01-01", 3, 0.5], ["2024-01-08", 2, 0.25], ["2024-01-15", 1, 0.2501]]),
     False, "1 of 3 rows differ"),
    (table([("cohort_week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")],
           [["2024-01-01", 3, 0.5]] * 3, truncated=True),
     False, "more than 10000 rows"),
    (table([("cohort_week", "DATE"), ("users", "BIGINT"), ("share", "DOUBLE")],
           [["2024-01-01", 3, 0.5], ["2024-01-01", 3, 0.5], ["2024-01-15", 1, 0.25]]),
     False, "1 of 3 rows differ"),
])
def test_result_tables_against_the_expected_one(actual: ResultTable, ordered: bool,
                                                reason: str | None) -> None:
    why = compare_tables(actual, EXPECTED, SqlQuery("q", ordered=ordered), 10000)
    if reason is None:
        assert why is None
    else:
        assert why is not None and reason in why


def test_nan_matches_nan_and_nothing_else() -> None:
    expected = table([("x", "DOUBLE")], [[{"$float": "nan"}]])
    same = table([("x", "DOUBLE")], [[{"$float": "nan"}]])
    other = table([("x", "DOUBLE")], [[0.0]])
    assert compare_tables(same, expected, SqlQuery("q"), 10) is None
    assert compare_tables(other, expected, SqlQuery("q"), 10) is not None


# --- the bundle ----------------------------------------------------------------------

def test_bundle_rules(tmp_path: Path) -> None:
    root = tmp_path / "retention-cohorts"
    shutil.copytree(RETENTION, root)
    toml = (root / "challenge.toml").read_text()
    (root / "challenge.toml").write_text(toml.replace('entrypoint = "query.sql"',
                                                      'entrypoint = "query.py"'))
    with pytest.raises(BundleError, match=r"must be a \.sql file"):
        load_bundle(root)
    (root / "challenge.toml").write_text(toml)
    (root / "hidden" / "expected" / "best_week_one.json").unlink()
    with pytest.raises(BundleError, match=r"hidden/expected/best_week_one\.json: missing"):
        load_bundle(root)
    (root / "challenge.toml").write_text(toml.replace("ordered = true\ntolerance = 1e-6\n\n"
                                                      "[solutions.reference]",
                                                      "ordred = true\n\n[solutions.reference]"))
    with pytest.raises(BundleError, match="unknown field"):
        load_bundle(root)


def test_the_generator_reproduces_the_committed_data() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_sql_data.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _results(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n"
                    for line in lines)


def _ok(name: str, expected: ResultTable) -> dict[str, Any]:
    return {"name": name, "status": "ok",
            "columns": [{"name": c, "type": t} for c, t in zip(expected.columns, expected.types,
                                                               strict=True)],
            "rows": [list(r) for r in expected.rows], "truncated": False}


class Snapshotting:
    """Wraps a sandbox and copies the harness mount of each job before it is deleted."""

    name = "snapshotting"

    def __init__(self, inner: Any, keep: Path) -> None:
        self.inner = inner
        self.keep = keep
        self.specs: list[JobSpec] = []

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        self.specs.append(spec)
        assert spec.harness is not None
        shutil.copytree(spec.harness, self.keep / str(len(self.specs)))
        result: RunResult = self.inner.run(spec, output_dir)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_untrusted_result_lines_and_what_the_sandbox_gets(
        tmp_path: Path, fake_sandbox: Callable[..., Any]) -> None:
    bundle = load_bundle(RETENTION)
    hidden = {q: load_expected(bundle.hidden_dir, q) for q in QUERIES}
    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / "query.sql").write_text("-- name: cohort_sizes\nSELECT 1;\n")
    lines = _results(
        _ok("cohort_sizes", hidden["cohort_sizes"]),
        _ok("weekly_retention", hidden["weekly_retention"]),
        _ok("weekly_retention", hidden["weekly_retention"]),  # forged twice: fails
        b"{not json", {"name": "nope", "status": "ok"}, {"name": "best_week_one",
                                                         "status": "ok", "columns": 3},
    )
    sandbox = Snapshotting(fake_sandbox({"results.jsonl": lines}), tmp_path / "seen")
    evaluation = evaluate(bundle, submission, sandbox=sandbox)
    checks = {c.name: c for c in evaluation.checks}
    assert evaluation.status == "graded" and evaluation.score == 25
    assert checks["query: cohort_sizes"].passed and checks["query: cohort_sizes"].score == 25
    assert "reported more than once" in checks["query: weekly_retention"].detail
    assert "malformed" in checks["query: best_week_one"].detail
    assert all(c.kind == QUERY.kind for n, c in checks.items() if n.startswith("query"))

    seen = tmp_path / "seen" / "1"
    names = sorted(p.relative_to(seen).as_posix() for p in seen.rglob("*") if p.is_file())
    assert names == ["db/events.csv", "db/schema.sql", "db/users.csv", "job.json",
                     "sql_harness.py"]
    for name in ("users", "events"):
        assert (seen / "db" / f"{name}.csv").read_bytes() == \
            (bundle.hidden_dir / f"{name}.csv").read_bytes()
    expected_text = {json.dumps(r) for t in hidden.values() for r in t.rows}
    harness_text = "".join(p.read_text() for p in seen.rglob("*") if p.is_file())
    assert not any(row in harness_text for row in expected_text if len(row) > 20)
    spec = sandbox.specs[0]
    assert spec.data is None and spec.harness is not None

    public = Snapshotting(fake_sandbox({}), tmp_path / "seen-public")
    result = evaluate(bundle, submission, sandbox=public, split="public")
    assert (tmp_path / "seen-public" / "1" / "db" / "users.csv").read_bytes() == \
        (bundle.public_dir / "users.csv").read_bytes()
    assert result.split == "public" and result.score == 0
    assert any("results.jsonl was not written" in c.detail for c in result.checks)


# --- the real sandbox ----------------------------------------------------------------

@pytest.mark.docker
@pytest.mark.parametrize("case", ["reference", "starter", "counts-events", "days-since-signup"])
def test_bundled_solutions_in_the_real_sandbox(case: str, sandbox_image: str) -> None:
    bundle = load_bundle(RETENTION)
    solution = bundle.solution(case)
    evaluation = evaluate(bundle, solution.path)
    assert evaluation.status == "graded", evaluation.error
    assert evaluation.score is not None and solution.accepts(evaluation.score), \
        [c.detail for c in evaluation.checks]


@pytest.mark.docker
def test_public_checks_in_the_real_sandbox(sandbox_image: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(grade_command, [
        str(RETENTION), str(RETENTION / "solutions" / "reference"), "--public", "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["split"] == "public" and report["score"] == 100
    assert [c["name"] for c in report["checks"]] == ["run", *(f"query: {q}" for q in QUERIES)]
    flawed = runner.invoke(grade_command, [
        str(RETENTION), str(RETENTION / "solutions" / "counts-events"), "--public", "--json"])
    assert json.loads(flawed.output)["score"] == 25
