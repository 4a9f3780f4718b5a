"""Names people type (candidates, assessments, accounts, teams): one line of plain text."""

from __future__ import annotations

import unicodedata

from heldout.platform.errors import InvalidInput


def checked_name(value: str, *, what: str, field: str, max_chars: int | None) -> str:
    """``value`` as one line (of at most ``max_chars``), else ``InvalidInput``.

    Names end up in mail headers, CSV downloads and page titles, where they must stay one
    line: runs of white space (line breaks and tabs included, as from a cell of a sheet)
    become one space, and any other control character is refused where the name is typed.
    """
    name = " ".join(value.split())
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidInput(f"{what} can't contain control characters", field=field,
                           hint="Type it again as plain text.")
    if not name:
        raise InvalidInput(f"{what} is required", field=field)
    if max_chars is not None and len(name) > max_chars:
        raise InvalidInput(f"{what} is longer than {max_chars} characters", field=field)
    return name
