"""Generate the retention-cohorts databases and their expected query results, deterministically.

    python scripts/make_sql_data.py            # rewrite challenges/retention-cohorts data
    python scripts/make_sql_data.py --check    # exit 1 if the committed files differ

Users and events come from Python's seeded ``random`` (public and hidden databases use
different seeds and sizes but one schema). The expected result of each named query is the
bundle's reference SQL run by DuckDB here, at build time, through the harness's own
locked connection and encoding, so the host compares like with like when grading and
never runs SQL itself. Needs the dev extra (duckdb).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import io
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "challenges" / "retention-cohorts"
HARNESS = ROOT / "graders" / "heldout" / "graders" / "kinds" / "sql" / "sql_harness.py"
QUERIES = ("cohort_sizes", "weekly_retention", "best_week_one")
TABLES = ("users", "events")
START = dt.datetime(2024, 1, 1)  # a Monday: cohort weeks start on Mondays
COUNTRIES = ("DE", "FR", "GB", "NL", "US", "BR", "IN")
PLANS = ("free", "free", "free", "pro", "team")
EVENT_TYPES = ("view", "view", "view", "search", "add_to_cart", "purchase")
SPLITS = {"public": {"seed": 20240101, "users": 420, "cohorts": 7},
          "hidden": {"seed": 20240817, "users": 640, "cohorts": 8}}
JOB_CAPS = {"max_rows": 10000, "max_columns": 50, "max_cell_chars": 1000,
            "max_bytes": 4 * 1024 * 1024, "memory_mb": 256}


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sql_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csv(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def make_tables(seed: int, n_users: int, n_cohorts: int) -> dict[str, str]:
    """Users signing up over ``n_cohorts`` weeks; activity that decays week after week.

    Some users never come back after signing up and some are active again after a gap,
    so week 0 activity differs from the cohort's size and weeks with no one active exist.
    """
    rng = random.Random(seed)
    users: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for user_id in range(1, n_users + 1):
        # A late Sunday signup with Monday activity is where week arithmetic goes wrong.
        signup = START + dt.timedelta(days=rng.randrange(7 * n_cohorts),
                                      seconds=rng.randrange(86400))
        users.append((user_id, signup.isoformat(sep=" "), rng.choice(COUNTRIES),
                      rng.choice(PLANS)))
        if rng.random() < 0.12:
            continue  # signed up, never did anything
        stickiness = rng.uniform(0.15, 0.85)
        day = signup
        while day < signup + dt.timedelta(days=7 * 9):
            if day == signup or rng.random() < stickiness ** (1 + (day - signup).days / 14):
                for _ in range(rng.randrange(1, 4)):
                    at = day + dt.timedelta(seconds=rng.randrange(3600 * 6))
                    events.append((at, user_id, rng.choice(EVENT_TYPES)))
            day += dt.timedelta(days=rng.choice((1, 1, 2, 3, 5)))
    events.sort(key=lambda e: (e[0], e[1]))
    numbered = [(i + 1, uid, at.isoformat(sep=" "), kind)
                for i, (at, uid, kind) in enumerate(events)]
    return {"users": _csv(("user_id", "signup_at", "country", "plan"), users),
            "events": _csv(("event_id", "user_id", "event_at", "event_type"), numbered)}


def expected_results(harness: ModuleType, schema: str, tables: dict[str, str],
                     reference: str) -> dict[str, dict[str, Any]]:
    """The reference queries' result tables, run the way the sandbox runs a candidate's."""
    queries = harness.split_queries(reference)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="heldout-sqlgen-") as tmp:
        db = Path(tmp) / "db"
        db.mkdir()
        (db / "schema.sql").write_text(schema, encoding="utf-8")
        for name, text in tables.items():
            (db / f"{name}.csv").write_text(text, encoding="utf-8")
        path = str(Path(tmp) / "database.duckdb")
        harness.build_database(path, str(db), list(TABLES))
        for name in QUERIES:
            con = harness.locked_connection(path, JOB_CAPS["memory_mb"])
            try:
                table = harness.fetch(con.execute(queries[name]), JOB_CAPS)
            finally:
                con.close()
            if table["status"] != "ok" or table["truncated"]:
                raise SystemExit(f"reference query {name}: {table}")
            results[name] = {"columns": table["columns"], "rows": table["rows"]}
    return results


def render() -> dict[Path, str]:
    """Every generated file of the bundle, by path, as text."""
    harness = _harness()
    schema = (BUNDLE / "public" / "schema.sql").read_text(encoding="utf-8")
    reference = (BUNDLE / "solutions" / "reference" / "query.sql").read_text(encoding="utf-8")
    files: dict[Path, str] = {}
    for split, params in SPLITS.items():
        tables = make_tables(params["seed"], params["users"], params["cohorts"])
        for name, text in tables.items():
            files[BUNDLE / split / f"{name}.csv"] = text
        for name, result in expected_results(harness, schema, tables, reference).items():
            files[BUNDLE / split / "expected" / f"{name}.json"] = json.dumps(result, indent=1) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [p for p, text in files.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"differs: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for split in SPLITS:
        shutil.rmtree(BUNDLE / split / "expected", ignore_errors=True)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
