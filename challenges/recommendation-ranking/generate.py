"""Seeded generator of recommendation-ranking's test cases: interaction logs and answers.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ files byte for byte (with
the same NumPy version). Expected values follow the statement's rules, written out here
in plain Python, independently of the reference solution (which uses pandas).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250526
TOLERANCE = {"abs": 1e-9, "rel": 1e-9}

Row = tuple[str, str, int]  # user_id, item_id, timestamp
Case = dict[str, Any]


# --- the rules of the statement --------------------------------------------------------

def holdout_mask(rows: list[Row], n: int = 1) -> list[bool]:
    by_user: dict[str, list[int]] = {}
    for position, (user, _item, _at) in enumerate(rows):
        by_user.setdefault(user, []).append(position)
    mask = [False] * len(rows)
    for positions in by_user.values():
        if len(positions) <= n:
            continue  # too short a history: everything stays for training
        ordered = sorted(positions, key=lambda p: (rows[p][2], p))
        for p in ordered[-n:]:
            mask[p] = True
    return mask


def recommend_popular(rows: list[Row], users: list[str], k: int = 10) -> dict[str, list[str]]:
    fans: dict[str, set[str]] = {}
    seen: dict[str, set[str]] = {}
    for user, item, _at in rows:
        fans.setdefault(item, set()).add(user)
        seen.setdefault(user, set()).add(item)
    ranking = sorted(fans, key=lambda item: (-len(fans[item]), item))
    return {user: [i for i in ranking if i not in seen.get(user, set())][:k] for user in users}


def _per_user(recommended: dict[str, list[str]], relevant: dict[str, list[str]], k: int,
              score: Any) -> float:
    values = [score(recommended.get(user, [])[:k], set(items))
              for user, items in relevant.items() if items]
    return sum(values) / len(values) if values else 0.0


def recall_at_k(recommended: dict[str, list[str]], relevant: dict[str, list[str]],
                k: int) -> float:
    return _per_user(recommended, relevant, k,
                     lambda top, wanted: len(set(top) & wanted) / len(wanted))


def ndcg_at_k(recommended: dict[str, list[str]], relevant: dict[str, list[str]],
              k: int) -> float:
    def score(top: list[str], wanted: set[str]) -> float:
        dcg = sum(1 / math.log2(i + 1) for i, item in enumerate(top, start=1) if item in wanted)
        ideal = sum(1 / math.log2(i + 1) for i in range(1, min(k, len(wanted)) + 1))
        return dcg / ideal
    return _per_user(recommended, relevant, k, score)


def evaluate(rows: list[Row], k: int = 10) -> dict[str, Any]:
    mask = holdout_mask(rows, 1)
    train = [r for r, held in zip(rows, mask, strict=True) if not held]
    relevant: dict[str, list[str]] = {}
    for (user, item, _at), held in zip(rows, mask, strict=True):
        if held:
            relevant.setdefault(user, []).append(item)
    recommended = recommend_popular(train, sorted(relevant), k)
    return {"recall": recall_at_k(recommended, relevant, k),
            "ndcg": ndcg_at_k(recommended, relevant, k), "users": len(relevant)}


# --- interaction logs ------------------------------------------------------------------

def log(rng: np.random.Generator, users: int, items: int) -> list[Row]:
    popularity = 1 / np.arange(1, items + 1) ** 0.9
    popularity /= popularity.sum()
    item_ids = [f"i{n:03d}" for n in rng.permutation(items) + 1]
    rows: list[Row] = []
    for u in range(1, users + 1):
        count = int(rng.integers(1, 25))
        start = int(rng.integers(1_700_000_000, 1_705_000_000))
        picks = rng.choice(items, size=count, p=popularity)
        times = start + np.sort(rng.integers(0, 3_000_000, count))
        if count > 2 and rng.random() < 0.3:
            times[-1] = times[-2]  # two interactions in the same second
        for pick, at in zip(picks, times, strict=True):
            rows.append((f"u{u:03d}", item_ids[pick], int(at)))
    order = rng.permutation(len(rows))  # logs arrive in no particular order
    return [rows[i] for i in order]


def frame(rows: list[Row]) -> dict[str, Any]:
    return {"$dataframe": {"columns": ["user_id", "item_id", "timestamp"],
                           "dtypes": ["object", "object", "int64"],
                           "data": [[r[0] for r in rows], [r[1] for r in rows],
                                    [r[2] for r in rows]]}}


def csv_bytes(rows: list[Row]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user_id", "item_id", "timestamp"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# --- the cases -------------------------------------------------------------------------

def case(function: str, args: list[Any], expected: Any, group: str, name: str, *,
         kwargs: dict[str, Any] | None = None, weight: float | None = None) -> Case:
    out: Case = {"function": function, "args": args}
    if kwargs:
        out["kwargs"] = kwargs
    out["expected"] = expected
    out["tolerance"] = TOLERANCE
    out["group"] = group
    if weight is not None:
        out["weight"] = weight
    out["name"] = name
    return out


def metric_inputs(rng: np.random.Generator, users: int, k: int) -> tuple[dict[str, list[str]],
                                                                        dict[str, list[str]]]:
    catalogue = [f"i{n:03d}" for n in range(1, 41)]
    recommended: dict[str, list[str]] = {}
    relevant: dict[str, list[str]] = {}
    for u in range(1, users + 1):
        user = f"u{u:03d}"
        recommended[user] = [str(v) for v in rng.choice(catalogue, size=k + 5, replace=False)]
        wanted = int(rng.integers(0, 5))
        relevant[user] = [str(v) for v in rng.choice(catalogue[:15], size=wanted, replace=False)]
    return recommended, relevant


def hidden_cases(rng: np.random.Generator, files: dict[str, bytes]) -> list[Case]:
    out: list[Case] = []
    hand_rec = {"u1": ["a", "b", "c"], "u2": ["d", "e", "f"], "u3": ["g", "h"]}
    hand_rel = {"u1": ["c", "x"], "u2": ["d"], "u3": [], "u4": ["a"]}
    for name, rec, rel, k in [
        ("by hand: a user with nothing held out, one with no list", hand_rec, hand_rel, 3),
        ("by hand, cut at 1", hand_rec, hand_rel, 1),
    ]:
        out.append(case("recall_at_k", [rec, rel, k], recall_at_k(rec, rel, k), "recall", name))
        out.append(case("ndcg_at_k", [rec, rel, k], ndcg_at_k(rec, rel, k), "ndcg", name))
    for users, k in [(20, 5), (50, 10), (80, 3), (40, 20)]:
        rec, rel = metric_inputs(rng, users, k)
        name = f"{users} users at {k}"
        out.append(case("recall_at_k", [rec, rel, k], recall_at_k(rec, rel, k), "recall", name))
        out.append(case("ndcg_at_k", [rec, rel, k], ndcg_at_k(rec, rel, k), "ndcg", name))

    tiny = [("a", "x", 3), ("a", "y", 1), ("b", "x", 5), ("a", "z", 2), ("b", "y", 5)]
    out.append(case("holdout_mask", [frame(tiny)], holdout_mask(tiny), "split",
                    "by hand: rows out of order, a tie goes to the later row"))
    single = [("a", "x", 1), ("b", "x", 2), ("b", "y", 3), ("c", "z", 4)]
    out.append(case("holdout_mask", [frame(single)], holdout_mask(single), "split",
                    "a single interaction stays in training"))
    out.append(case("holdout_mask", [frame(single)], holdout_mask(single, 2), "split",
                    "two held out: a user with exactly two keeps both", kwargs={"n": 2}))
    for users, name in [(30, "30 users"), (120, "120 users")]:
        rows = log(rng, users, 60)
        out.append(case("holdout_mask", [frame(rows)], holdout_mask(rows), "split", name))
    rows = log(rng, 60, 50)
    out.append(case("holdout_mask", [frame(rows)], holdout_mask(rows, 3), "split",
                    "three held out", kwargs={"n": 3}))

    pop = [("a", "x", 1), ("a", "x", 2), ("a", "y", 3), ("b", "y", 4), ("c", "z", 5),
           ("c", "w", 6)]
    out.append(case("recommend_popular", [frame(pop), ["a", "b", "d"], 2],
                    recommend_popular(pop, ["a", "b", "d"], 2), "popular",
                    "by hand: repeats once, seen items out, ties by id"))
    for users, items, k in [(40, 30, 5), (100, 80, 10), (150, 60, 20)]:
        rows = log(rng, users, items)
        asked = sorted({r[0] for r in rows})[::3]
        out.append(case("recommend_popular", [frame(rows), asked, k],
                        recommend_popular(rows, asked, k), "popular",
                        f"{users} users, {items} items, top {k}"))

    for i, (users, items, k) in enumerate([(60, 40, 10), (150, 100, 10), (200, 80, 5),
                                           (300, 150, 20)], start=1):
        rows = log(rng, users, items)
        name = f"log{i}.csv"
        files[name] = csv_bytes(rows)
        out.append(case("evaluate", [{"$file": name}], evaluate(rows, k), "evaluation",
                        f"{users} users, {items} items, at {k}",
                        kwargs={"k": k} if k != 10 else None, weight=3))
    return out


def public_cases(rng: np.random.Generator, files: dict[str, bytes]) -> list[Case]:
    rec, rel = metric_inputs(rng, 10, 5)
    rows = log(rng, 50, 40)
    files["log1.csv"] = csv_bytes(rows)
    return [
        case("recall_at_k", [rec, rel, 5], recall_at_k(rec, rel, 5), "recall", "10 users at 5"),
        case("ndcg_at_k", [rec, rel, 5], ndcg_at_k(rec, rel, 5), "ndcg", "10 users at 5"),
        case("holdout_mask", [{"$file": "log1.csv"}], holdout_mask(rows), "split", "50 users"),
        case("recommend_popular", [{"$file": "log1.csv"}, ["u001", "u002"], 5],
             recommend_popular(rows, ["u001", "u002"], 5), "popular", "two users, top 5"),
        case("evaluate", [{"$file": "log1.csv"}], evaluate(rows), "evaluation", "50 users"),
    ]


def cases_bytes(items: list[Case]) -> bytes:
    return "".join(json.dumps(c, allow_nan=False) + "\n" for c in items).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    hidden_files: dict[str, bytes] = {}
    hidden = hidden_cases(rng, hidden_files)
    public_files: dict[str, bytes] = {}
    public = public_cases(rng, public_files)
    out = {"public/cases.jsonl": cases_bytes(public), "hidden/cases.jsonl": cases_bytes(hidden)}
    out |= {f"hidden/{name}": data for name, data in hidden_files.items()}
    out |= {f"public/{name}": data for name, data in public_files.items()}
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
