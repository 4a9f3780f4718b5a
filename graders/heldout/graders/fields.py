"""Typed, strict reading of TOML tables with errors that name the file and the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from heldout.graders.errors import BundleError


class Table:
    """One TOML table being validated.

    Accessors take an optional ``default``; without one the field is required. Every
    accessor records its key, so :meth:`finish` can reject typos with the list of the
    fields the table accepts.
    """

    def __init__(self, raw: Mapping[str, Any], *, file: str, section: str | None = None) -> None:
        self.raw = raw
        self.file = file
        self.section = section
        self._known: list[str] = []

    def field(self, key: str) -> str:
        """How a key is shown in messages: ``title`` or ``[grading].metric``."""
        return f"[{self.section}].{key}" if self.section else key

    def error(self, key: str, message: str) -> BundleError:
        return BundleError(f"{self.file}: {self.field(key)}: {message}")

    def _get(self, key: str, required: bool) -> Any:
        if key not in self._known:
            self._known.append(key)
        if key not in self.raw and required:
            raise self.error(key, "missing (required)")
        return self.raw.get(key)

    def string(self, key: str, default: str | None = None, *, empty_ok: bool = False) -> str:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_type_name(value)}")
        if not empty_ok and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.string(key, default)
        if value not in choices:
            raise self.error(key, f"unknown value {value!r}; known: {', '.join(choices)}")
        return value

    def integer(self, key: str, default: int | None = None, *, minimum: int | None = None) -> int:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"must be an integer, got {_type_name(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: float | None = None) -> float:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(key, f"must be a number, got {_type_name(value)}")
        if not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_type_name(value)}")
        return value

    def string_list(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self._get(key, default is None)
        if value is None and default is not None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(key, "must be a list of non-empty strings")
        return tuple(value)

    def table(self, key: str, *, required: bool = True) -> Table:
        section = f"{self.section}.{key}" if self.section else key
        value = self._get(key, False)
        if value is None:
            if required:
                raise BundleError(f"{self.file}: [{section}]: missing (required)")
            value = {}
        if not isinstance(value, dict):
            raise BundleError(f"{self.file}: [{section}]: must be a table, "
                              f"got {_type_name(value)}")
        return Table(value, file=self.file, section=section)

    def subtables(self) -> dict[str, Table]:
        """Every key of this table as a table of its own (e.g. ``[solutions.<case>]``)."""
        return {key: self.table(key) for key in self.raw}

    def finish(self) -> None:
        """Reject fields nobody asked for: they are typos or belong elsewhere."""
        unknown = [key for key in self.raw if key not in self._known]
        if unknown:
            known = ", ".join(self._known) or "(none)"
            raise self.error(unknown[0], f"unknown field; known: {known}")


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


