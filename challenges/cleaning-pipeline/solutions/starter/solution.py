"""Implement the functions below (see statement.md); country_code is done as an example.

Python with pandas, numpy and the standard library (re, datetime, zoneinfo).
"""

import pandas as pd

COUNTRIES = {
    "DE": ["DE", "DEU", "Germany", "Deutschland"],
    "FR": ["FR", "FRA", "France"],
    "NL": ["NL", "NLD", "Netherlands", "The Netherlands", "Holland", "Nederland"],
    "AT": ["AT", "AUT", "Austria", "Österreich", "Oesterreich"],
    "BE": ["BE", "BEL", "Belgium", "België", "Belgique"],
    "ES": ["ES", "ESP", "Spain", "España", "Espana"],
}
SPELLINGS = {name.casefold(): code for code, names in COUNTRIES.items() for name in names}


def parse_amount(text):
    """The amount in EUR as a float; None when blank."""
    raise NotImplementedError


def parse_weight(text):
    """The weight in kilograms as a float; None when blank."""
    raise NotImplementedError


def to_utc(text):
    """The instant as "YYYY-MM-DDTHH:MM:SSZ" in UTC."""
    raise NotImplementedError


def country_code(text):
    """The ISO alpha-2 code of a known spelling, any case and spacing; None otherwise."""
    if text is None or not str(text).strip():
        return None
    return SPELLINGS.get(" ".join(str(text).split()).casefold())


def clean_orders(raw: pd.DataFrame) -> pd.DataFrame:
    """One clean row per order (see the statement): a pandas DataFrame."""
    raise NotImplementedError
