"""The deployment kind's report part: the probe's requests with p50/p95 latency."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from heldout.graders.kinds.parts import Unreadable, clipped, json_artefact, non_negative

MAX_PROBE_ROWS = 2000


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of at least one value."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class ProbeRow:
    label: str
    status: str
    latency_ms: float | None
    correct: bool | None
    kind: str = ""
    error: str = ""
    why: str = ""  # the grader's reason for the verdict (a wrong class at the threshold, …)


@dataclass(frozen=True)
class ProbeTable:
    """The probe's requests as the report shows them, with p50/p95 latency.

    The p50/p95 are the grader's (over successful predictions) when the artefact carries
    them, else computed here over every request with a latency.
    """

    rows: tuple[ProbeRow, ...]
    p50_target_ms: float | None = None
    p95_target_ms: float | None = None
    truncated: int = 0
    recorded_p50_ms: float | None = None
    recorded_p95_ms: float | None = None

    @property
    def latencies(self) -> list[float]:
        return [r.latency_ms for r in self.rows if r.latency_ms is not None]

    @property
    def p50_ms(self) -> float | None:
        if self.recorded_p50_ms is not None or not self.latencies:
            return self.recorded_p50_ms
        return percentile(self.latencies, 0.50)

    @property
    def p95_ms(self) -> float | None:
        if self.recorded_p95_ms is not None or not self.latencies:
            return self.recorded_p95_ms
        return percentile(self.latencies, 0.95)

    @property
    def p50_met(self) -> bool | None:
        return _met(self.p50_ms, self.p50_target_ms)

    @property
    def p95_met(self) -> bool | None:
        return _met(self.p95_ms, self.p95_target_ms)

    @property
    def correct_count(self) -> int:
        return sum(1 for r in self.rows if r.correct)

    @property
    def judged_count(self) -> int:
        return sum(1 for r in self.rows if r.correct is not None)


def _met(value: float | None, target: float | None) -> bool | None:
    return None if value is None or target is None else value <= target


def _verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("yes", "no"):
        return bool(value == "yes")
    return None


def probe_table(data: bytes, targets: tuple[float | None, float | None] = (None, None)
                ) -> ProbeTable:
    """The probe artefact: a list of ``{label, status, latency_ms, correct}``, or an object
    with that list under ``rows`` (``request`` naming each, ``correct`` "yes"/"no"), the
    grader's ``latency_p50_ms``/``latency_p95_ms`` and optional ``targets``. ``targets``
    (p50, p95 in ms, from the bundle) stand where the artefact names none."""
    raw = json_artefact(data)
    recorded: Any = {}
    if isinstance(raw, dict):
        recorded = raw
        raw = raw.get("rows", raw.get("probes"))
    if not isinstance(raw, list):
        raise Unreadable("not a list of probe requests")
    given = recorded.get("targets") if isinstance(recorded.get("targets"), dict) else {}
    rows = []
    for item in raw[:MAX_PROBE_ROWS]:
        if not isinstance(item, dict):
            continue
        status = item.get("status")
        rows.append(ProbeRow(
            label=clipped(item.get("label", item.get("request", ""))),
            status="—" if status is None else clipped(status, 40),
            latency_ms=non_negative(item.get("latency_ms")),
            correct=_verdict(item.get("correct")),
            kind=clipped(item.get("kind") or "", 40), error=clipped(item.get("error") or ""),
            why=clipped(item.get("why") or "")))
    p50_target = non_negative(given.get("p50_ms"))
    p95_target = non_negative(given.get("p95_ms"))
    return ProbeTable(tuple(rows), targets[0] if p50_target is None else p50_target,
                      targets[1] if p95_target is None else p95_target,
                      truncated=max(len(raw) - MAX_PROBE_ROWS, 0),
                      recorded_p50_ms=non_negative(recorded.get("latency_p50_ms")),
                      recorded_p95_ms=non_negative(recorded.get("latency_p95_ms")))

