"""The public and private slices of a model_training bundle's labelled test rows.

Public checks score the candidate's predictions on the public slice; the final score uses
the private slice alone. The two are disjoint, so nothing a candidate reads from public
runs (however many, however crafted) says anything about the labels the final score uses.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from heldout.graders.tables import Labels

# A bundle that says nothing gets these (challenges/README.md documents the overrides).
DEFAULT_PUBLIC_FRACTION = 0.3
DEFAULT_PUBLIC_DECIMALS = 2
DEFAULT_PUBLIC_RUNS = 20


@dataclass(frozen=True)
class Slice:
    """Labels of some test rows: their positions in the labels file, ids and values."""

    positions: tuple[int, ...]
    ids: tuple[str, ...]
    values: tuple[float, ...]

    def pick(self, predictions: Sequence[float]) -> tuple[float, ...]:
        """The predictions (aligned with the whole labels file) of this slice's rows."""
        return tuple(predictions[i] for i in self.positions)

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class Slices:
    public: Slice
    private: Slice


def _rank_key(seed: str, row_id: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{row_id}".encode()).digest()


def split_labels(labels: Labels, *, fraction: float, seed: str) -> Slices:
    """Split the labelled rows: the ``round(fraction * n)`` ids that hash first under
    ``seed`` are public, the rest private.

    Deterministic (the same bundle always splits the same way, whatever the row
    order) and needing nothing of the bundle beyond its labels, so every existing bundle
    gets a split. At least one row stays private; ``fraction`` 0 leaves the public slice
    empty (public checks then check the file's format only).
    """
    count = len(labels.ids)
    wanted = min(count - 1, math.floor(fraction * count + 0.5)) if fraction > 0 else 0
    order = sorted(range(count), key=lambda i: _rank_key(seed, labels.ids[i]))
    public = frozenset(order[:max(0, wanted)])

    def part(chosen: list[int]) -> Slice:
        return Slice(tuple(chosen), tuple(labels.ids[i] for i in chosen),
                     tuple(labels.values[i] for i in chosen))

    return Slices(public=part([i for i in range(count) if i in public]),
                  private=part([i for i in range(count) if i not in public]))


def shown_value(value: float, decimals: int) -> float:
    """A public metric as the candidate sees it: rounded, so a single changed prediction
    rarely moves it (and the public slice's own labels leak slowly)."""
    return round(value, decimals)
