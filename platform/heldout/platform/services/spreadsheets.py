"""Cells of the CSV files staff open in a spreadsheet: never read as a formula.

Candidate names and e-mails are typed by whoever received the invite, and a recruiter's
list by anyone: a cell such as ``=HYPERLINK(...)`` must stay text. A cell starting like a
formula (``= + - @``, a tab or a carriage return, or a fullwidth or small look-alike of
those signs, which some spreadsheets read as the sign itself) gets a leading apostrophe.
"""

from __future__ import annotations

import unicodedata

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    """``value`` safe to open in a spreadsheet (a formula-like start becomes text)."""
    # NFKC folds the look-alikes (U+FF1D, U+FE66 for '='; U+FF0B, U+FE62 for '+'; U+FF0D,
    # U+FE63 for '-'; U+FF20, U+FE6B for '@') to the signs themselves.
    first = unicodedata.normalize("NFKC", value[:1])
    return "'" + value if first.startswith(FORMULA_STARTS) else value
