"""Seeded generator of sessionisation-sql's databases and expected query results.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ files byte for byte. Each
side gets its own events table (public smaller) and the expected result of each named
query, computed here in plain Python from the statement's rules, independently of the
reference SQL (which the bundle's solutions run in DuckDB). Gaps of exactly 30 minutes,
of 30 minutes and one second, events in the same second and sessions across midnight are
planted on purpose.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250421
START = datetime(2024, 6, 3)  # a Monday
DAYS = 14
GAP = timedelta(minutes=30)
PAGES = ["home", "search", "product", "cart", "checkout", "help"]
LANDING_P = [0.35, 0.25, 0.25, 0.05, 0.02, 0.08]
EVENT_TYPES = ["page_view", "click", "add_to_cart", "purchase"]
SIZES = {"public": 120, "hidden": 300}
# Sessions start by the hour of day: busy evenings, so some run past midnight.
HOUR_WEIGHTS = np.array([1, .5, .3, .2, .2, .3, .8, 1.5, 2, 2.2, 2.3, 2.5, 3, 2.6, 2.4, 2.4,
                         2.6, 3, 3.4, 3.8, 4, 4, 3.6, 2.4])

Event = tuple[int, int, datetime, str, str]  # event_id, user_id, event_at, type, page


# --- the rules of the statement --------------------------------------------------------

def sessions(events: list[Event]) -> list[list[Event]]:
    """Each user's events in (time, id) order, cut where the gap exceeds 30 minutes."""
    out: list[list[Event]] = []
    ordered = sorted(events, key=lambda e: (e[1], e[2], e[0]))
    for event in ordered:
        last = out[-1][-1] if out else None
        if last is None or last[1] != event[1] or event[2] - last[2] > GAP:
            out.append([event])
        else:
            out[-1].append(event)
    return out


def expected_tables(events: list[Event]) -> dict[str, dict[str, Any]]:
    cut = sessions(events)
    numbered: list[tuple[int, int, list[Event]]] = []
    counter: Counter[int] = Counter()
    for session in cut:
        user = session[0][1]
        counter[user] += 1
        numbered.append((user, counter[user], session))

    session_rows = [[user, number, s[0][2].isoformat(), s[-1][2].isoformat(), len(s),
                     int((s[-1][2] - s[0][2]).total_seconds())] for user, number, s in numbered]
    by_day: dict[str, list[tuple[int, list[Event]]]] = {}
    for user, _number, s in numbered:
        by_day.setdefault(s[0][2].date().isoformat(), []).append((user, s))
    daily_rows = [[day, len(items), len({u for u, _ in items}),
                   sum(len(s) for _, s in items) / len(items)]
                  for day, items in sorted(by_day.items())]
    landing: dict[str, list[list[Event]]] = {}
    for _user, _number, s in numbered:
        landing.setdefault(s[0][4], []).append(s)
    landing_rows = [[page, len(items), sum(len(s) == 1 for s in items) / len(items)]
                    for page, items in landing.items()]
    landing_rows.sort(key=lambda r: (-r[1], r[0]))
    return {
        "sessions": {"columns": _columns([("user_id", "INTEGER"), ("session_number", "BIGINT"),
                                          ("started_at", "TIMESTAMP"), ("ended_at", "TIMESTAMP"),
                                          ("events", "BIGINT"), ("duration_seconds", "BIGINT")]),
                     "rows": session_rows},
        "daily_sessions": {"columns": _columns([("day", "DATE"), ("sessions", "BIGINT"),
                                                ("users", "BIGINT"),
                                                ("avg_events", "DOUBLE")]),
                           "rows": daily_rows},
        "landing_pages": {"columns": _columns([("landing_page", "VARCHAR"),
                                               ("sessions", "BIGINT"),
                                               ("bounce_rate", "DOUBLE")]),
                          "rows": landing_rows},
    }


def _columns(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "type": kind} for name, kind in pairs]


# --- the events ------------------------------------------------------------------------

def make_events(rng: np.random.Generator, users: int) -> list[Event]:
    raw: list[tuple[int, datetime, str, str]] = []
    for user in range(1, users + 1):
        for _ in range(1 + int(rng.poisson(3))):
            hour = int(rng.choice(24, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()))
            start = START + timedelta(days=int(rng.integers(0, DAYS)), hours=hour,
                                      seconds=int(rng.integers(0, 3600)))
            page = str(rng.choice(PAGES, p=LANDING_P))
            at = start
            for i in range(int(rng.geometric(0.22))):
                if i:
                    roll = rng.random()
                    if roll < 0.04:
                        at += GAP  # exactly 30 minutes: still the same session
                    elif roll < 0.07:
                        at += GAP + timedelta(seconds=1)  # one second more: a new one
                    elif roll < 0.10:
                        pass  # the same second as the previous event
                    elif roll < 0.22:
                        at += timedelta(seconds=int(rng.integers(600, 1800)))
                    else:
                        at += timedelta(seconds=int(rng.integers(3, 600)))
                    page = str(rng.choice(PAGES))
                kind = "page_view" if i == 0 else str(rng.choice(EVENT_TYPES, p=[0.6, 0.3, 0.08,
                                                                                0.02]))
                raw.append((user, at, kind, page))
    # Event ids follow arrival order, with some late arrivals (ids out of time order).
    order = sorted(range(len(raw)), key=lambda i: (raw[i][1], float(rng.random() < 0.03),
                                                   raw[i][0]))
    events = [(event_id, raw[i][0], raw[i][1], raw[i][2], raw[i][3])
              for event_id, i in enumerate(order, start=1)]
    return events


SCHEMA = """\
-- One row per tracked event on the shop's website; the hidden database has the same schema.
CREATE TABLE events (
    event_id   BIGINT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    event_at   TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL,
    page       VARCHAR NOT NULL
);
"""


def events_csv(events: list[Event]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["event_id", "user_id", "event_at", "event_type", "page"])
    for event_id, user, at, kind, page in sorted(events):
        writer.writerow([event_id, user, at.isoformat(sep=" "), kind, page])
    return out.getvalue().encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, bytes] = {"public/schema.sql": SCHEMA.encode("utf-8")}
    for area in ("hidden", "public"):
        events = make_events(rng, SIZES[area])
        out[f"{area}/events.csv"] = events_csv(events)
        for name, table in expected_tables(events).items():
            out[f"{area}/expected/{name}.json"] = (json.dumps(table, indent=1) + "\n").encode()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--public", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    args = parser.parse_args(argv)
    targets = {"public": args.public, "hidden": args.hidden}
    for relative, data in files(args.seed).items():
        area, name = relative.split("/", 1)
        path = targets[area] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
