"""Run a candidate's named SQL queries with DuckDB inside the sandbox; write the result tables.

Runs as ``python /harness/sql_harness.py ENTRYPOINT`` with this directory mounted
read-only at /harness: ``job.json`` (the query names to run and the caps), ``db/`` (the
schema and one CSV per table: the public or the hidden database, inputs only, never an
expected result). The parent loads the tables into a database file under /tmp, then runs
each named query in a child process of its own, which opens that file read-only with file
access and extensions turned off and the configuration locked before any candidate text
runs. One JSON line per query goes to ``$HELDOUT_OUTPUT/results.jsonl``; the host compares
them with the expected tables.

A child per query means a query that never ends, exhausts memory or crashes DuckDB fails
alone and is killed at its deadline, and a temporary table one query creates can't change
another's result. This file runs in the sandbox image: standard library and duckdb only.
"""

import datetime
import decimal
import json
import math
import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = "results.jsonl"
MAX_ERROR_CHARS = 300
EXIT_BAD_FILE = 3
# `-- name: retention` on a line of its own starts the query called `retention`.
HEADER = re.compile(r"^[ \t]*--[ \t]*name[ \t]*:[ \t]*(\S*)[ \t]*$", re.IGNORECASE | re.MULTILINE)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
COMMENT_OR_BLANK = re.compile(r"^\s*(--[^\n]*)?$")


class QueryFileError(ValueError):
    """query.sql does not follow the named-query syntax; the message says where."""


def split_queries(text: str) -> dict[str, str | None]:
    """Each named query's SQL; ``None`` marks a name defined more than once.

    Text before the first header may hold comments only: SQL there would belong to no
    query, and silently ignoring it would hide a mistake.
    """
    headers = list(HEADER.finditer(text))
    if not headers:
        raise QueryFileError("no `-- name: <query>` header: every query needs one")
    before = text[:headers[0].start()]
    if not all(COMMENT_OR_BLANK.match(line) for line in before.splitlines()):
        raise QueryFileError("SQL before the first `-- name:` header belongs to no query")
    queries: dict[str, str | None] = {}
    for i, header in enumerate(headers):
        name = header.group(1)
        if not NAME.fullmatch(name):
            raise QueryFileError(f"line {text.count(chr(10), 0, header.start()) + 1}: "
                                 f"{name!r} is not a query name (letters, digits, _)")
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = text[header.end():end].strip()
        queries[name] = None if name in queries else body
    return queries


def type_name(code: Any) -> str:
    return str(code)[:80]


def encode(value: Any, max_chars: int) -> Any:
    """A DuckDB value as JSON: numbers and text as is, temporal values in ISO form."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": str(value)}
    if isinstance(value, decimal.Decimal):
        return encode(float(value), max_chars)
    if isinstance(value, str):
        return value if len(value) <= max_chars else {"$truncated": value[:max_chars]}
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return {"$interval": value.total_seconds()}
    if isinstance(value, list | tuple):
        return [encode(item, max_chars) for item in value[:100]]
    if isinstance(value, dict):
        return {str(k)[:max_chars]: encode(v, max_chars) for k, v in list(value.items())[:100]}
    if isinstance(value, bytes):
        return {"$bytes": value[:max_chars].hex()}
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    return text if len(text) <= max_chars else {"$truncated": text[:max_chars]}


def locked_connection(path: str, memory_mb: int) -> Any:
    """The database read-only, no files, no extensions, and no way to change that back."""
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "enable_external_access": False, "autoinstall_known_extensions": False,
        "autoload_known_extensions": False, "allow_community_extensions": False,
        "threads": 1, "memory_limit": f"{memory_mb}MB"}
    con = duckdb.connect(path, read_only=True, config=config)
    con.execute("SET lock_configuration = true")
    return con


def fetch(cursor: Any, job: dict[str, Any]) -> dict[str, Any]:
    """The result table, capped in rows, columns, cell length and total bytes."""
    if cursor.description is None:
        return {"status": "no_result", "error": "the last statement returns no table"}
    max_columns = job["max_columns"]
    description = cursor.description
    if len(description) > max_columns:
        return {"status": "too_wide",
                "error": f"{len(description)} columns, over the limit of {max_columns}"}
    columns = [{"name": str(d[0])[:200], "type": type_name(d[1])} for d in description]
    rows: list[Any] = []
    size = 0
    truncated = False
    count_up_to = job.get("count_rows", 0)
    counted = 0
    while True:
        batch = cursor.fetchmany(1000)
        if not batch:
            break
        for index, row in enumerate(batch):
            if len(rows) >= job["max_rows"] or size > job["max_bytes"]:
                truncated = True
                counted = len(rows) + len(batch) - index
                break
            encoded = [encode(v, job["max_cell_chars"]) for v in row]
            size += len(json.dumps(encoded, allow_nan=False))
            rows.append(encoded)
        if truncated:
            break
    payload = {"status": "ok", "columns": columns, "rows": rows, "truncated": truncated}
    if count_up_to:
        # Rows past those kept are counted, not kept (up to a cap): the total the query gave.
        while truncated and counted < count_up_to:
            batch = cursor.fetchmany(10000)
            if not batch:
                break
            counted += len(batch)
        payload["row_count"] = min(counted, count_up_to) if truncated else len(rows)
        payload["row_count_capped"] = truncated and counted >= count_up_to
    return payload


def run_one(database: str, job: dict[str, Any]) -> int:
    """The child: run the SQL on stdin, print one JSON object, exit."""
    sql = sys.stdin.read()
    # Whatever DuckDB itself prints (profiling output, say) goes to stderr, so the
    # candidate's SQL can't add to or garble the one line the parent reads.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    report = os.fdopen(result_fd, "w", encoding="utf-8")
    try:
        con = locked_connection(database, job["memory_mb"])
    except Exception as exc:  # the harness's own fault: the parent reports it as such
        report.write(json.dumps({"status": "harness_error", "error": _short(exc)}))
        report.close()
        return 1
    try:
        payload = fetch(con.execute(sql), job)
    except Exception as exc:  # the candidate's SQL failed: a verdict, not a crash
        payload = {"status": "error", "error": _short(exc)}
    report.write(json.dumps(payload, allow_nan=False))
    report.close()
    return 0


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


def build_database(path: str, db: str, tables: list[str]) -> None:
    """Load the schema and the CSV tables: trusted bundle data, before any candidate SQL."""
    import duckdb

    with open(os.path.join(db, "schema.sql"), encoding="utf-8") as handle:
        schema = handle.read()
    con = duckdb.connect(path, config={"threads": 1, "autoinstall_known_extensions": False,
                                       "autoload_known_extensions": False})
    con.execute(schema)
    for table in tables:
        con.execute(f'COPY "{table}" FROM ? (HEADER true)', [os.path.join(db, f"{table}.csv")])
    con.execute("CHECKPOINT")
    con.close()
    os.chmod(path, 0o444)


def run_query(database: str, name: str, sql: str, job: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    timeout = job["query_timeout"]
    try:
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--one", database],
            input=sql.encode(), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"name": name, "status": "timeout", "error": f"timed out after {timeout:g} s",
                "seconds": round(time.monotonic() - started, 3)}
    seconds = round(time.monotonic() - started, 3)
    try:
        outcome = json.loads(child.stdout)
        if not isinstance(outcome, dict) or "status" not in outcome:
            raise ValueError("no status")
    except ValueError:
        code = child.returncode
        why = (f"killed by signal {-code}" if code < 0 else f"exited with code {code}")
        tail = " ".join(child.stderr.decode(errors="replace").split())[-200:]
        outcome = {"status": "crashed",
                   "error": f"the query's process {why}" + (f": {tail}" if tail else "")}
    return {"name": name, "seconds": seconds, **outcome}


def main(argv: list[str]) -> int:
    with open(os.path.join(HERE, "job.json"), encoding="utf-8") as handle:
        job = json.load(handle)
    if len(argv) == 3 and argv[1] == "--one":
        return run_one(argv[2], job)
    output = os.environ.get("HELDOUT_OUTPUT", "/output")
    results = open(os.path.join(output, RESULTS), "a", encoding="utf-8")  # noqa: SIM115
    try:
        with open(os.path.join(os.getcwd(), argv[1]), encoding="utf-8") as handle:
            queries = split_queries(handle.read(job["max_file_chars"] + 1)[:job["max_file_chars"]])
    except (OSError, UnicodeDecodeError, QueryFileError) as exc:
        print(f"{argv[1]}: {exc}", file=sys.stderr)
        return EXIT_BAD_FILE
    tmp = os.environ.get("TMPDIR", "/tmp")  # noqa: S108 - the sandbox's capped tmpfs
    scratch = os.path.join(tmp, "heldout-sql")
    os.makedirs(scratch, exist_ok=True)
    database = os.path.join(scratch, "database.duckdb")
    build_database(database, os.path.join(HERE, "db"), job["tables"])
    for name in job["queries"]:
        sql = queries.get(name, "")
        if name not in queries:
            line: dict[str, Any] = {"name": name, "status": "missing",
                                    "error": f"no `-- name: {name}` query in {argv[1]}"}
        elif sql is None:
            line = {"name": name, "status": "duplicate",
                    "error": f"`-- name: {name}` appears more than once"}
        elif not sql.strip() or all(COMMENT_OR_BLANK.match(x) for x in sql.splitlines()):
            line = {"name": name, "status": "empty", "error": "the query has no SQL"}
        else:
            line = run_query(database, name, sql, job)
        results.write(json.dumps(line, allow_nan=False) + "\n")
        results.flush()
    results.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
