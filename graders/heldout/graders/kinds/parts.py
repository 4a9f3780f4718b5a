"""Report parts: what a kind shows beyond its checks, and the safe reading of artefacts.

Every artefact was written by a run that candidate code shared: a part parses it with
caps, and the report escapes what it shows (an executed notebook is sanitised).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.graders.bundle_types import GradingConfig

__all__ = ["KeptArtefact", "ReportPart", "Unreadable", "clipped", "json_artefact",
           "non_negative"]

MAX_JSON_ARTEFACT_BYTES = 2 * 1024 * 1024
MAX_LABEL_CHARS = 200


@dataclass(frozen=True)
class KeptArtefact:
    """One kept artefact as a report part reads it back.

    ``data`` returns its bytes. ``grading`` returns the ``[grading]`` of the bundle version
    that was graded, or None when that version is gone. ``cache_dir`` is where a part may
    keep what it derived from the artefact, keyed by ``sha256``.
    """

    name: str
    sha256: str
    data: Callable[[], bytes]
    grading: Callable[[], GradingConfig | None]
    cache_dir: Path


@dataclass(frozen=True)
class ReportPart:
    """What a kind's report section shows beyond the checks, read from one kept artefact.

    ``read`` turns the artefact into what ``template`` (a Jinja file in the kind's package)
    shows as ``part``; it raises ``ValueError`` when the artefact can't be shown, and the
    report says why instead.
    """

    artefact: str
    template: Path
    read: Callable[[KeptArtefact], object]


class Unreadable(ValueError):
    """An artefact a part can't show; the message says why."""


def json_artefact(data: bytes) -> Any:
    """The artefact as JSON, under a size cap."""
    if len(data) > MAX_JSON_ARTEFACT_BYTES:
        raise Unreadable(f"over {MAX_JSON_ARTEFACT_BYTES // 2**20} MB")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"not JSON ({exc})") from exc


def clipped(value: Any, limit: int = MAX_LABEL_CHARS) -> str:
    """Any JSON value as text of at most ``limit`` characters (and an ellipsis)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def non_negative(value: Any) -> float | None:
    """A finite, non-negative number, or None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None
