"""Seeded generator of funnel-sql's databases and expected query results.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ files byte for byte. Each
side gets its own users and events (public smaller) and the expected result of each named
query, computed here in plain Python from the statement's rules, independently of the
reference SQL. Planted on purpose: events the tracker sent twice, users exported twice,
steps out of order (a cart filled before the first product view), steps exactly seven
days after the first view and one second later, and a channel where nobody buys.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250428
START = datetime(2024, 9, 2)
DAYS = 21
WINDOW = timedelta(days=7)
STEPS = ["view_product", "add_to_cart", "begin_checkout", "purchase"]
CHANNELS = ["search", "social", "email", "direct", "podcast"]
CHANNEL_P = [0.4, 0.27, 0.18, 0.13, 0.02]
# Chance to go on to the next step, by channel (podcast visitors never buy).
PROGRESS = {"search": [0.45, 0.6, 0.7], "social": [0.3, 0.45, 0.55],
            "email": [0.55, 0.65, 0.8], "direct": [0.5, 0.6, 0.75],
            "podcast": [0.4, 0.5, 0.0]}
SIZES = {"public": 300, "hidden": 900}

Event = tuple[int, int, datetime, str]  # event_id, user_id, event_at, step


# --- the rules of the statement --------------------------------------------------------

def reached(events: list[Event]) -> dict[int, list[datetime]]:
    """Per user, the times of the steps reached in order, within 7 days of the first view."""
    by_user: dict[int, list[Event]] = {}
    for event in events:
        by_user.setdefault(event[1], []).append(event)
    out: dict[int, list[datetime]] = {}
    for user, items in by_user.items():
        items.sort(key=lambda e: (e[2], e[0]))
        views = [e[2] for e in items if e[3] == STEPS[0]]
        if not views:
            continue
        times = [views[0]]
        for step in STEPS[1:]:
            later = [e[2] for e in items if e[3] == step and times[-1] <= e[2] <= times[0] + WINDOW]
            if not later:
                break
            times.append(later[0])
        out[user] = times
    return out


def expected_tables(users: list[tuple[int, datetime, str]],
                    events: list[Event]) -> dict[str, dict[str, Any]]:
    steps_of = reached(events)
    channel_of = {user: channel for user, _signup, channel in users}
    counts = [sum(len(t) > i for t in steps_of.values()) for i in range(len(STEPS))]
    funnel_rows = [[i + 1, step, counts[i], 1.0 if i == 0 else counts[i] / counts[i - 1],
                    counts[i] / counts[0]] for i, step in enumerate(STEPS)]
    channels = sorted(set(channel_of.values()))
    by_channel = [[channel, i + 1, sum(1 for user, t in steps_of.items()
                                       if channel_of[user] == channel and len(t) > i)]
                  for channel in channels for i in range(len(STEPS))]
    purchase_rows = []
    for channel in channels:
        hours = [(t[3] - t[0]).total_seconds() / 3600 for user, t in steps_of.items()
                 if channel_of[user] == channel and len(t) == len(STEPS)]
        if hours:
            purchase_rows.append([channel, len(hours), statistics.median(hours)])
    return {
        "funnel": {"columns": _columns([("step_number", "INTEGER"), ("step", "VARCHAR"),
                                        ("users", "BIGINT"),
                                        ("conversion_from_previous", "DOUBLE"),
                                        ("conversion_from_start", "DOUBLE")]),
                   "rows": funnel_rows},
        "funnel_by_channel": {"columns": _columns([("channel", "VARCHAR"),
                                                   ("step_number", "INTEGER"),
                                                   ("users", "BIGINT")]),
                              "rows": by_channel},
        "time_to_purchase": {"columns": _columns([("channel", "VARCHAR"),
                                                  ("purchasers", "BIGINT"),
                                                  ("median_hours", "DOUBLE")]),
                             "rows": purchase_rows},
    }


def _columns(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "type": kind} for name, kind in pairs]


# --- users and events ------------------------------------------------------------------

def _gap(rng: np.random.Generator) -> timedelta:
    """Time to the next step: minutes mostly, days sometimes, the 7-day edge now and then."""
    roll = rng.random()
    if roll < 0.55:
        return timedelta(seconds=int(rng.integers(20, 3600)))
    if roll < 0.85:
        return timedelta(seconds=int(rng.integers(3600, 3 * 86400)))
    return timedelta(seconds=int(rng.integers(3 * 86400, 9 * 86400)))


def make_data(rng: np.random.Generator, size: int
              ) -> tuple[list[tuple[int, datetime, str]], list[tuple[int, datetime, str]],
                         list[tuple[int, datetime, str]]]:
    """(users, users as exported with duplicates, raw events without ids)."""
    users = []
    raw: list[tuple[int, datetime, str]] = []
    channels = list(rng.choice(CHANNELS, size=size, p=CHANNEL_P))
    channels[:3] = ["podcast"] * 3  # the small channel is never empty
    for user_id in range(1, size + 1):
        channel = str(channels[user_id - 1])
        signup = START + timedelta(seconds=int(rng.integers(0, DAYS * 86400)))
        users.append((user_id, signup, channel))
        if rng.random() < 0.1:
            continue  # signed up, never looked at a product
        at = signup + timedelta(seconds=int(rng.integers(30, 2 * 86400)))
        first_view = at
        raw.append((user_id, at, STEPS[0]))
        if rng.random() < 0.08:  # a cart filled from a wish list before any view
            raw.append((user_id, at - timedelta(minutes=int(rng.integers(5, 300))), STEPS[1]))
        for i, step in enumerate(STEPS[1:]):
            if rng.random() >= PROGRESS[channel][i]:
                break
            edge = rng.random()
            if edge < 0.04:
                at = first_view + WINDOW  # exactly seven days: inside the window
            elif edge < 0.08:
                at = first_view + WINDOW + timedelta(seconds=1)  # one second late
            else:
                at = at + _gap(rng)
            raw.append((user_id, at, step))
        for _ in range(int(rng.poisson(1.0))):  # more browsing
            raw.append((user_id, first_view + timedelta(seconds=int(rng.integers(-3600, 6 * 86400))),
                        str(rng.choice(STEPS[:2]))))
        if channel != "podcast" and rng.random() < 0.05:
            # A purchase with no checkout before it (a retried payment).
            raw.append((user_id, first_view + timedelta(seconds=int(rng.integers(60, 86400))),
                        STEPS[3]))
    # The tracker fires some events twice: the same event again, a new id.
    doubled = [e for e in raw if rng.random() < 0.06]
    exported = users + [u for u in users if rng.random() < 0.03]
    order = rng.permutation(len(exported))
    return users, [exported[i] for i in order], raw + doubled


def with_ids(raw: list[tuple[int, datetime, str]]) -> list[Event]:
    """Ids in time order (a doubled event gets the id after its twin)."""
    order = sorted(range(len(raw)), key=lambda i: (raw[i][1], raw[i][0], raw[i][2]))
    return [(event_id, raw[i][0], raw[i][1], raw[i][2]) for event_id, i in
            enumerate(order, start=1)]


SCHEMA = """\
-- The shop's users and their funnel events; the hidden database has the same schema.
-- users has no primary key: the export duplicated some rows.
CREATE TABLE users (
    user_id    INTEGER NOT NULL,
    signup_at  TIMESTAMP NOT NULL,
    channel    VARCHAR NOT NULL
);

CREATE TABLE events (
    event_id   BIGINT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    event_at   TIMESTAMP NOT NULL,
    step       VARCHAR NOT NULL
);
"""


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, bytes] = {"public/schema.sql": SCHEMA.encode("utf-8")}
    for area in ("hidden", "public"):
        users, exported, raw = make_data(rng, SIZES[area])
        events = with_ids(raw)
        out[f"{area}/users.csv"] = _csv(["user_id", "signup_at", "channel"],
                                        [[u, s.isoformat(sep=" "), c] for u, s, c in exported])
        out[f"{area}/events.csv"] = _csv(["event_id", "user_id", "event_at", "step"],
                                         [[i, u, t.isoformat(sep=" "), s]
                                          for i, u, t, s in events])
        for name, table in expected_tables(users, events).items():
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
