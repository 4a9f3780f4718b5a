"""One registry type for every plug-in axis: kinds, check types, metrics, downstream models.

Each entry is registered once under its short, user-visible name; an unknown name fails
with the list of known ones (:class:`~heldout.graders.errors.UnknownName`).
"""

from __future__ import annotations

import importlib
from typing import Generic, Protocol, TypeVar

from heldout.graders.errors import UnknownName

__all__ = ["Registry"]


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Entries by name: ``register``, ``get``, ``known``.

    ``filled_by`` names the module whose import registers the entries when they are not all
    registered where the registry lives (check types come with the kinds that own them):
    the first lookup imports it, so what exists never depends on what happened to be
    imported before.
    """

    def __init__(self, what: str, *, filled_by: str | None = None) -> None:
        self.what = what
        self._entries: dict[str, T] = {}
        self._filled_by = filled_by

    def register(self, entry: T) -> T:
        """Add ``entry`` under its name; a second registration of a name is a programming error."""
        if entry.name in self._entries:
            raise ValueError(f"a {self.what} named {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def get(self, name: str) -> T:
        self._fill()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(self.what, name, list(self._entries)) from None

    def known(self) -> list[str]:
        """Every registered name, sorted."""
        self._fill()
        return sorted(self._entries)

    def _fill(self) -> None:
        if self._filled_by is not None:
            module, self._filled_by = self._filled_by, None
            importlib.import_module(module)
