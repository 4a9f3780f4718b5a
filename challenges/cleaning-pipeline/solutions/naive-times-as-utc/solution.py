"""Flawed on purpose: timestamps without an offset are taken as UTC.

The servers log in UTC, so the naive ones must be too? They come from the shop's tills in
Berlin: one or two hours off, depending on the season. Everything else is the reference.
"""

import re
from datetime import datetime, timezone

import pandas as pd

TO_KG = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "lbs": 0.45359237, "oz": 0.028349523125}
COUNTRIES = {
    "DE": ["DE", "DEU", "Germany", "Deutschland"],
    "FR": ["FR", "FRA", "France"],
    "NL": ["NL", "NLD", "Netherlands", "The Netherlands", "Holland", "Nederland"],
    "AT": ["AT", "AUT", "Austria", "Österreich", "Oesterreich"],
    "BE": ["BE", "BEL", "Belgium", "België", "Belgique"],
    "ES": ["ES", "ESP", "Spain", "España", "Espana"],
}
SPELLINGS = {name.casefold(): code for code, names in COUNTRIES.items() for name in names}


def _blank(value):
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def parse_amount(text):
    """EUR amount from any of the export's spellings; None when blank."""
    if _blank(text):
        return None
    s = re.sub(r"(?i)eur|€|\s", "", str(text))
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("-")
    if "," in s and "." in s:
        decimal = max((",", "."), key=s.rfind)  # the later mark
    else:
        mark = "," if "," in s else "."
        # One mark followed by one or two digits is a decimal mark, else thousands.
        decimal = mark if re.fullmatch(rf"\d+{re.escape(mark)}\d{{1,2}}", s) else None
    for mark in {",", "."} - {decimal}:
        s = s.replace(mark, "")
    return sign * float(s.replace(",", "."))


def parse_weight(text):
    """Kilograms from "1.2 kg", "800g", "2 lb", "16 oz", "1,5 KG"; None when blank."""
    if _blank(text):
        return None
    number, unit = re.fullmatch(r"\s*([\d.,]+)\s*([a-zA-Z]+)\s*", str(text)).groups()
    return float(number.replace(",", ".")) * TO_KG[unit.lower()]


def to_utc(text):
    """An instant as "YYYY-MM-DDTHH:MM:SSZ"; times without an offset are taken as UTC."""
    s = str(text).strip()
    if s.isdigit():
        moment = datetime.fromtimestamp(int(s), timezone.utc)
    else:
        if re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", s):
            parsed = datetime.strptime(s, "%d.%m.%Y %H:%M")
        else:
            parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        moment = parsed.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def country_code(text):
    """ISO 3166 alpha-2 code of a known spelling; None otherwise."""
    if _blank(text):
        return None
    return SPELLINGS.get(" ".join(str(text).split()).casefold())


def clean_orders(raw):
    """One clean row per order: its latest export, every field normalised."""
    orders = raw.assign(order_id=raw["order_id"].str.strip().str.upper())
    latest = (orders.sort_values("exported_at")
              .drop_duplicates("order_id", keep="last")
              .sort_values("order_id"))
    return pd.DataFrame({
        "order_id": latest["order_id"],
        "email": latest["email"].str.strip().str.lower(),
        "ordered_at": latest["ordered_at"].map(to_utc),
        "amount_eur": latest["amount"].map(parse_amount).astype(float),
        "weight_kg": latest["weight"].map(parse_weight).astype(float),
        "country": latest["country"].map(country_code),
    }).reset_index(drop=True)
