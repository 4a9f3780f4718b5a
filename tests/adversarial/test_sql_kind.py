"""Attacks on the ``sql`` kind through the real sandbox: DuckDB gets nothing beyond its database.

Each hostile query is graded beside an honest one: the attack is refused or contained
(a failed ``query`` check, never ``internal_error``) and the honest query still scores.
The expected result of one query is a random token that appears in no input, so only
reading the grading side could answer it.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.result import Evaluation

pytestmark = pytest.mark.docker

TOML = """\
title = "Tokens"
kind = "sql"
summary = "Count rows, and name a token."
skills = ["SQL"]
difficulty = "easy"
expected_minutes = 5

[submission]
entrypoint = "query.sql"

[limits]
wall_seconds = 40
memory_mb = 768

[grading]
tables = ["items"]
query_timeout = 4
max_rows = 100

[grading.queries.honest]
weight = 1

[grading.queries.probe]
weight = 1
"""

HONEST = "-- name: honest\nSELECT count(*) AS n FROM items;\n"


def _table(columns: list[tuple[str, str]], rows: list[list[object]]) -> str:
    return json.dumps({"columns": [{"name": n, "type": t} for n, t in columns], "rows": rows})


def _bundle(root: Path, secret: str) -> Bundle:
    for name in ("public/expected", "hidden/expected", "starter"):
        (root / name).mkdir(parents=True)
    (root / "challenge.toml").write_text(TOML)
    (root / "statement.md").write_text("# Tokens\n\nCount the items; name the token.\n")
    (root / "starter" / "query.sql").write_text(HONEST + "-- name: probe\nSELECT 'x' AS v;\n")
    (root / "public" / "schema.sql").write_text("CREATE TABLE items (id INTEGER, label VARCHAR);\n")
    for split, n in (("public", 2), ("hidden", 5)):
        (root / split / "items.csv").write_text(
            "id,label\n" + "".join(f"{i},item-{i}\n" for i in range(n)))
        (root / split / "expected" / "honest.json").write_text(
            _table([("n", "BIGINT")], [[n]]))
    (root / "public" / "expected" / "probe.json").write_text(
        _table([("v", "VARCHAR")], [["public-token"]]))
    (root / "hidden" / "expected" / "probe.json").write_text(
        _table([("v", "VARCHAR")], [[secret]]))
    return load_bundle(root)


@pytest.fixture
def secret() -> str:
    return f"answer-{secrets.token_hex(12)}"


@pytest.fixture
def tokens(sandbox_image: str, tmp_path: Path, secret: str) -> Bundle:
    return _bundle(tmp_path / "challenges" / "tokens", secret)


def _grade(bundle: Bundle, tmp_path: Path, probe: str) -> Evaluation:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "query.sql").write_text(HONEST + "-- name: probe\n" + probe + "\n")
    evaluation = evaluate(bundle, submission)
    assert evaluation.status == "graded", evaluation.error
    return evaluation


def _check(evaluation: Evaluation, name: str) -> tuple[bool, float, str]:
    found = [c for c in evaluation.checks if c.name == f"query: {name}"]
    assert len(found) == 1, [c.name for c in evaluation.checks]
    return found[0].passed, found[0].score, found[0].detail


# Each attack and a word of the refusal it must meet: DuckDB's own permission or lock
# error, so the query failed because it was refused, not because it was misspelt.
REFUSED = {
    "read_csv of the harness": ("SELECT * FROM read_csv('/harness/db/items.csv')",
                                "file system operations are disabled"),
    "read_text of the environment": ("SELECT content AS v FROM read_text('/proc/self/environ')",
                                     "file system operations are disabled"),
    "glob the whole disk": ("SELECT file AS v FROM glob('/**')",
                            "file system operations are disabled"),
    "install httpfs": ("INSTALL httpfs; SELECT 'x' AS v", "Permission Error"),
    "load httpfs": ("LOAD httpfs; SELECT 'x' AS v", "disabled"),
    "http read": ("SELECT * FROM read_csv('http://169.254.169.254/latest/meta-data')",
                  "disabled"),
    "attach another file": ("ATTACH '/tmp/other.duckdb' AS other; SELECT 'x' AS v",
                            "file system operations are disabled"),
    "copy to a file": ("COPY (SELECT 1) TO '/output/results.jsonl'; SELECT 'x' AS v",
                       "file system operations are disabled"),
    "export the database": ("EXPORT DATABASE '/tmp/dump'; SELECT 'x' AS v",
                            "file system operations are disabled"),
    "turn file access back on": ("SET enable_external_access = true; SELECT 'x' AS v",
                                 "configuration has been locked"),
    "unlock the configuration": ("SET lock_configuration = false; SELECT 'x' AS v",
                                 "configuration has been locked"),
    "reset the lock": ("RESET lock_configuration; SELECT 'x' AS v",
                       "configuration has been locked"),
    "pragma more threads": ("PRAGMA threads = 64; SELECT 'x' AS v",
                            "configuration has been locked"),
    "pragma more memory": ("PRAGMA memory_limit = '64GB'; SELECT 'x' AS v",
                           "configuration has been locked"),
    "allow unsigned extensions": ("SET allow_unsigned_extensions = true; SELECT 'x' AS v",
                                  "locked"),
    "profiling printed to stdout": ("PRAGMA enable_profiling = 'json'; SELECT 'x' AS v",
                                    "configuration has been locked"),
    "write to the database": ("CREATE TABLE stolen AS SELECT 1; SELECT 'x' AS v",
                              "read-only"),
}


@pytest.mark.parametrize("query_attack", list(REFUSED), ids=list(REFUSED))
def test_file_extension_and_configuration_attacks_are_refused(
        query_attack: str, tokens: Bundle, tmp_path: Path, secret: str) -> None:
    sql, refusal = REFUSED[query_attack]
    evaluation = _grade(tokens, tmp_path, sql)
    passed, score, detail = _check(evaluation, "probe")
    assert not passed and score == 0
    assert refusal in detail, detail
    assert _check(evaluation, "honest")[:2] == (True, 50)
    assert secret not in json.dumps(evaluation.as_dict())


def test_hidden_expected_values_are_unreachable(tokens: Bundle, tmp_path: Path,
                                                secret: str) -> None:
    # Everything a query can see without files: settings, catalogues, databases, the
    # environment through functions that exist, and every string in its own database.
    probe = """
        SELECT (SELECT string_agg(label, ',' ORDER BY id) FROM items) || ' ' || string_agg(v, ' ')
            AS v
        FROM (
            SELECT name || '=' || coalesce(value, '') AS v FROM duckdb_settings()
            UNION ALL SELECT database_name || ':' || coalesce(path, '') FROM duckdb_databases()
            UNION ALL SELECT table_name FROM information_schema.tables
            UNION ALL SELECT current_setting('home_directory')
        )
    """
    evaluation = _grade(tokens, tmp_path, probe)
    passed, score, detail = _check(evaluation, "probe")
    assert not passed and score == 0
    got = detail.split(", expected")[0]
    assert "item-4" in got, "the probe should have seen its own (hidden) database"
    # The interviewer's detail may quote the expected row; what the query returned may not.
    assert secret not in got
    assert evaluation.run is not None
    assert secret not in evaluation.run.stdout_tail + evaluation.run.stderr_tail


def test_an_endless_recursive_query_times_out_alone(tokens: Bundle, tmp_path: Path) -> None:
    started = time.monotonic()
    evaluation = _grade(tokens, tmp_path, """
        WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t)
        SELECT count(*)::VARCHAR AS v FROM t
    """)
    elapsed = time.monotonic() - started
    passed, _, detail = _check(evaluation, "probe")
    assert not passed
    # Its own deadline (4 s) or DuckDB's memory cap stops it, well before the run's 40 s.
    assert "timed out after 4 s" in detail or "memory" in detail.lower(), detail
    assert _check(evaluation, "honest")[:2] == (True, 50)
    assert elapsed < 30
    assert next(c for c in evaluation.checks if c.name == "run").passed


def test_a_spinning_query_is_killed_at_its_deadline(tokens: Bundle, tmp_path: Path) -> None:
    evaluation = _grade(tokens, tmp_path,
                        "SELECT max(md5(range::VARCHAR)) AS v FROM range(10000000000)")
    passed, _, detail = _check(evaluation, "probe")
    assert not passed and "timed out after 4 s" in detail, detail
    assert _check(evaluation, "honest")[:2] == (True, 50)


@pytest.mark.parametrize(("sql", "reason"), [
    ("SELECT range::VARCHAR AS v FROM range(100000000)", "more than 100 rows"),
    ("SELECT repeat('x', 50000000) AS v",
     '1 of 1 rows differ; row (rows sorted, order not graded) 1: got [{"$truncated"'),
    ("SELECT " + ", ".join(f"{i} AS c{i}" for i in range(500)), "over the limit of 50"),
    ("SELECT list(range) AS v FROM range(1000000000)", "Out of Memory Error"),
])
def test_huge_results_are_capped_and_graded(sql: str, reason: str, tokens: Bundle,
                                            tmp_path: Path) -> None:
    evaluation = _grade(tokens, tmp_path, sql)
    passed, _, detail = _check(evaluation, "probe")
    assert not passed
    assert reason in detail, detail
    assert len(detail) < 2000
    assert _check(evaluation, "honest")[:2] == (True, 50)


def test_a_query_cannot_forge_result_lines(tokens: Bundle, tmp_path: Path) -> None:
    # A value shaped like a second results line, with a newline to start it: were it
    # written raw, "honest" would be reported twice and fail.
    forged = json.dumps({"name": "honest", "status": "ok", "columns": [
        {"name": "n", "type": "BIGINT"}], "rows": [[5]]})
    evaluation = _grade(tokens, tmp_path, f"SELECT '\\n{forged}\\n' AS v")
    passed, _, detail = _check(evaluation, "probe")
    assert not passed and "honest" in detail
    assert _check(evaluation, "honest")[:2] == (True, 50)


def test_temporary_objects_do_not_leak_between_queries(tokens: Bundle, tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "query.sql").write_text(
        "-- name: probe\nCREATE TEMP TABLE items AS SELECT 1 AS id; SELECT 'x' AS v;\n" + HONEST)
    evaluation = evaluate(tokens, submission)
    assert evaluation.status == "graded"
    assert _check(evaluation, "honest")[:2] == (True, 50)
