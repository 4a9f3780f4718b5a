"""Seeded generator of cleaning-pipeline's test cases: messy order exports and clean answers.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ cases.jsonl byte for byte.
Expected values follow the statement's rules, written out here in plain Python (the
Berlin clock included: its summer-time rule is computed here, not read from a time-zone
database), independently of the reference solution, which uses pandas and zoneinfo.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250505
TOLERANCE = {"abs": 1e-9, "rel": 1e-9}
POUND, OUNCE = 0.45359237, 0.028349523125
COUNTRIES = {
    "DE": ["DE", "DEU", "Germany", "Deutschland"],
    "FR": ["FR", "FRA", "France"],
    "NL": ["NL", "NLD", "Netherlands", "The Netherlands", "Holland", "Nederland"],
    "AT": ["AT", "AUT", "Austria", "Österreich", "Oesterreich"],
    "BE": ["BE", "BEL", "Belgium", "België", "Belgique"],
    "ES": ["ES", "ESP", "Spain", "España", "Espana"],
}
SPELLING = {name.casefold(): code for code, names in COUNTRIES.items() for name in names}

Case = dict[str, Any]


# --- the rules of the statement --------------------------------------------------------

def _blank(text: Any) -> bool:
    return text is None or (isinstance(text, float) and text != text) or str(text).strip() == ""


def parse_amount(text: Any) -> float | None:
    if _blank(text):
        return None
    s = str(text).replace("\u00a0", " ").strip()
    s = re.sub(r"(?i)eur|€", "", s).replace(" ", "")
    negative = s.startswith("-")
    s = s.lstrip("-")
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
    elif s.count(",") == 1 and re.fullmatch(r"\d+,\d{1,2}", s):
        decimal = ","
    elif s.count(".") == 1 and re.fullmatch(r"\d+\.\d{1,2}", s):
        decimal = "."
    else:
        decimal = None
    thousands = {",", "."} - {decimal}
    for mark in thousands:
        s = s.replace(mark, "")
    if decimal == ",":
        s = s.replace(",", ".")
    value = float(s)
    return -value if negative else value


def parse_weight(text: Any) -> float | None:
    if _blank(text):
        return None
    match = re.fullmatch(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*([A-Za-z]+)\s*", str(text))
    assert match, text
    number = float(match.group(1).replace(",", "."))
    unit = match.group(2).lower()
    factor = {"kg": 1.0, "g": 0.001, "lb": POUND, "lbs": POUND, "oz": OUNCE}[unit]
    return number * factor


def _last_sunday(year: int, month: int) -> datetime:
    day = datetime(year, month + 1, 1) - timedelta(days=1) if month < 12 else datetime(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def berlin_offset(local: datetime) -> timedelta:
    """+2 h from the last Sunday of March 02:00 to the last Sunday of October 03:00, else +1 h."""
    start = _last_sunday(local.year, 3).replace(hour=2)
    end = _last_sunday(local.year, 10).replace(hour=3)
    return timedelta(hours=2 if start <= local < end else 1)


def to_utc(text: str) -> str:
    s = text.strip()
    if s.isdigit():
        moment = datetime.fromtimestamp(int(s), UTC).replace(tzinfo=None)
    elif re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", s):
        local = datetime.strptime(s, "%d.%m.%Y %H:%M")
        moment = local - berlin_offset(local)
    else:
        parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            moment = parsed - berlin_offset(parsed)
        else:
            moment = parsed.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def country_code(text: Any) -> str | None:
    if _blank(text):
        return None
    return SPELLING.get(" ".join(str(text).split()).casefold())


def clean_orders(raw: list[dict[str, str]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, str]] = {}
    for row in raw:
        key = row["order_id"].strip().upper()
        if key not in latest or row["exported_at"] > latest[key]["exported_at"]:
            latest[key] = row
    out = []
    for key in sorted(latest):
        row = latest[key]
        out.append({"order_id": key, "email": row["email"].strip().lower(),
                    "ordered_at": to_utc(row["ordered_at"]),
                    "amount_eur": parse_amount(row["amount"]),
                    "weight_kg": parse_weight(row["weight"]),
                    "country": country_code(row["country"])})
    return out


# --- messy values ----------------------------------------------------------------------

def messy_amount(rng: np.random.Generator, value: float) -> str:
    whole, cents = divmod(round(value * 100), 100)
    plain = f"{whole}.{cents:02d}"
    german = f"{whole:,}".replace(",", ".") + f",{cents:02d}"
    english = f"{whole:,}.{cents:02d}"
    forms = [plain, german, english, f"€{english}", f"{german} €", f"EUR {german}",
             f"{plain} EUR", f"{whole},{cents:02d}", f"{whole}"]
    return str(forms[int(rng.integers(0, len(forms)))])


def messy_weight(rng: np.random.Generator, kg: float) -> str:
    roll = int(rng.integers(0, 5))
    if roll == 0:
        return f"{kg:.2f} kg"
    if roll == 1:
        return f"{round(kg * 1000)}g"
    if roll == 2:
        return f"{kg / POUND:.1f} lb"
    if roll == 3:
        return f"{round(kg / OUNCE)} oz"
    return f"{kg:.1f}".replace(".", ",") + " KG"


def messy_time(rng: np.random.Generator, moment: datetime) -> str:
    """One instant (UTC) written as the export's various sources write it."""
    # Instants are never near a switch, so UTC + 1 h tells summer from winter time.
    local = moment + berlin_offset(moment + timedelta(hours=1))
    roll = int(rng.integers(0, 5))
    if roll == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if roll == 1:
        offset = berlin_offset(local)
        sign = f"+{int(offset.total_seconds() // 3600):02d}:00"
        return local.strftime("%Y-%m-%d %H:%M:%S") + sign
    if roll == 2:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if roll == 3:
        return str(int(moment.replace(tzinfo=UTC).timestamp()))
    return local.replace(second=0).strftime("%d.%m.%Y %H:%M")


def _moment(rng: np.random.Generator) -> datetime:
    """An instant in 2024, never within three hours of a summer-time switch."""
    while True:
        moment = datetime(2024, 1, 1) + timedelta(seconds=int(rng.integers(0, 366 * 86400)))
        switches = [_last_sunday(2024, 3).replace(hour=1), _last_sunday(2024, 10).replace(hour=1)]
        if all(abs(moment - s) > timedelta(hours=3) for s in switches):
            return moment


# --- the cases -------------------------------------------------------------------------

def case(function: str, args: list[Any], expected: Any, group: str, name: str, *,
         weight: float | None = None, tolerance: bool = False, unordered: bool = False) -> Case:
    out: Case = {"function": function, "args": args, "expected": expected}
    if tolerance:
        out["tolerance"] = TOLERANCE
    out["group"] = group
    if weight is not None:
        out["weight"] = weight
    if unordered:
        out["unordered"] = True
    out["name"] = name
    return out


def frame(rows: list[dict[str, Any]], columns: list[str], dtypes: list[str]) -> dict[str, Any]:
    return {"$dataframe": {"columns": columns, "dtypes": dtypes,
                           "data": [[r[c] for r in rows] for c in columns]}}


RAW_COLUMNS = ["order_id", "email", "ordered_at", "amount", "weight", "country", "exported_at"]
CLEAN_COLUMNS = ["order_id", "email", "ordered_at", "amount_eur", "weight_kg", "country"]
CLEAN_DTYPES = ["object", "object", "object", "float64", "float64", "object"]


def raw_orders(rng: np.random.Generator, count: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    names = ["anna", "tom", "li", "sara", "jan", "emma", "noah", "mia", "luca", "ines"]
    for i in range(count):
        number = int(rng.integers(10000, 99999))
        # Exported again later with fields corrected (always the first order: every export
        # has a duplicate).
        again_too = i == 0 or rng.random() < 0.4
        order_id = f"ord-{number}" if rng.random() < 0.5 else f"ORD-{number}"
        moment = _moment(rng)
        name = names[int(rng.integers(0, len(names)))]
        email = f"{name}.{number % 97}@example.com"
        code = list(COUNTRIES)[int(rng.integers(0, len(COUNTRIES)))]
        spellings = COUNTRIES[code]
        country = spellings[int(rng.integers(0, len(spellings)))]
        row = {
            "order_id": (" " if rng.random() < 0.2 else "") + order_id,
            "email": (email.upper() if rng.random() < 0.2 else email) + (" " if rng.random() < 0.2 else ""),
            "ordered_at": messy_time(rng, moment),
            "amount": messy_amount(rng, float(rng.lognormal(3.5, 1.0))),
            "weight": messy_weight(rng, float(rng.uniform(0.1, 12.0))),
            "country": country.lower() if rng.random() < 0.2 else country,
            "exported_at": (moment + timedelta(hours=int(rng.integers(1, 48))))
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        rows.append(row)
        if again_too:
            again = dict(row)
            again["order_id"] = row["order_id"].strip().lower() + "  "
            again["amount"] = messy_amount(rng, float(rng.lognormal(3.5, 1.0)))
            again["exported_at"] = (datetime.strptime(row["exported_at"], "%Y-%m-%dT%H:%M:%SZ")
                                    + timedelta(days=int(rng.integers(1, 5))))\
                .strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append(again)
    # The file concatenates exports out of order: at least one stale row comes first.
    while True:
        shuffled = [rows[i] for i in rng.permutation(len(rows))]
        first_seen: dict[str, str] = {}
        for row in shuffled:
            first_seen.setdefault(row["order_id"].strip().upper(), row["exported_at"])
        latest = {r["order_id"].strip().upper(): r["exported_at"] for r in
                  sorted(shuffled, key=lambda r: r["exported_at"])}
        if any(first_seen[key] != latest[key] for key in latest):
            return shuffled


def hidden_cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    for text, name in [("12.50", "plain"), ("12,50", "decimal comma"),
                       ("1.234,56 €", "German thousands and euro sign"),
                       ("EUR 1,234.56", "English thousands and a prefix"),
                       ("1.234.567", "thousands only"), ("1,234", "a comma before 3 digits"),
                       ("-7,5", "a refund"), ("  ", "blank")]:
        out.append(case("parse_amount", [text], parse_amount(text), "amounts", name,
                        tolerance=True))
    for text, name in [("1.2 kg", "kilograms"), ("800g", "grams, no space"),
                       ("2 lb", "pounds"), ("16 oz", "ounces"), ("1,5 KG", "comma, capitals"),
                       (None, "missing")]:
        out.append(case("parse_weight", [text], parse_weight(text), "weights", name,
                        tolerance=True))
    for text, name in [("2024-03-05T13:22:01Z", "already UTC"),
                       ("2024-03-05 14:22:01+01:00", "an offset"),
                       ("2024-03-05 14:22:01", "Berlin winter time"),
                       ("2024-07-05 14:22:01", "Berlin summer time"),
                       ("05.07.2024 00:30", "German format, summer, just after midnight"),
                       ("1709644921", "epoch seconds"),
                       ("2024-12-31 23:59:59", "new year's eve in Berlin"),
                       ("2024-10-28 09:00:00", "the day after summer time ends")]:
        out.append(case("to_utc", [text], to_utc(text), "timestamps", name))
    for text, name in [("germany", "lower case"), (" The  Netherlands ", "extra spaces"),
                       ("ÖSTERREICH", "capitals and an umlaut"), ("BEL", "three letters"),
                       ("España", "a local name"), ("Atlantis", "unknown")]:
        out.append(case("country_code", [text], country_code(text), "countries", name))
    for count in [6, 12, 20, 30, 40, 60]:
        raw = raw_orders(rng, count)
        expected = clean_orders(raw)
        out.append(case("clean_orders",
                        [frame(raw, RAW_COLUMNS, ["object"] * len(RAW_COLUMNS))],
                        frame(expected, CLEAN_COLUMNS, CLEAN_DTYPES), "pipeline",
                        f"an export of {len(raw)} rows", weight=3, tolerance=True,
                        unordered=True))
    return out


def public_cases(rng: np.random.Generator) -> list[Case]:
    raw = raw_orders(rng, 8)
    return [
        case("parse_amount", ["1.234,56 EUR"], 1234.56, "amounts", "German format",
             tolerance=True),
        case("parse_weight", ["750 g"], 0.75, "weights", "grams", tolerance=True),
        case("to_utc", ["2024-06-01 12:00:00"], to_utc("2024-06-01 12:00:00"), "timestamps",
             "Berlin summer time"),
        case("country_code", ["Deutschland"], "DE", "countries", "a local name"),
        case("clean_orders", [frame(raw, RAW_COLUMNS, ["object"] * len(RAW_COLUMNS))],
             frame(clean_orders(raw), CLEAN_COLUMNS, CLEAN_DTYPES), "pipeline",
             f"an export of {len(raw)} rows", tolerance=True, unordered=True),
    ]


def cases_bytes(items: list[Case]) -> bytes:
    return "".join(json.dumps(c, allow_nan=False, ensure_ascii=False) + "\n"
                   for c in items).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    hidden = hidden_cases(rng)
    public = public_cases(rng)
    return {"public/cases.jsonl": cases_bytes(public), "hidden/cases.jsonl": cases_bytes(hidden)}


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
