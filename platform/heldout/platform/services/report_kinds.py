"""What a report shows beyond checks for some kinds: notebook, probe table, query shapes, activity.

Everything here reads artefacts kept from a run that candidate code shared: each is parsed
with caps and treated as untrusted (escaped by the templates, notebooks sanitised).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import zip_longest
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select

from heldout.graders.errors import GraderError
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Challenge, EvaluationRecord, PublicRun, Submission
from heldout.platform.services.catalogue import get_bundles
from heldout.platform.services.notebook_render import RenderedNotebook, render_cached

NOTEBOOK_ARTEFACT = "executed.ipynb"
PROBE_ARTEFACT = "probe.json"
QUERIES_ARTEFACT = "queries.json"
MAX_JSON_ARTEFACT_BYTES = 2 * 1024 * 1024
MAX_PROBE_ROWS = 2000
MAX_QUERIES = 100
MAX_LABEL_CHARS = 200
MAX_COLUMNS_SHOWN = 60


@dataclass(frozen=True)
class ArtefactNote:
    """An artefact the report can't show, and why (not kept, missing, unreadable)."""

    name: str
    note: str


@dataclass(frozen=True)
class ProbeRow:
    label: str
    status: str
    latency_ms: float | None
    correct: bool | None
    kind: str = ""
    error: str = ""
    why: str = ""  # the grader's reason for the verdict (a wrong class at the threshold, …)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass(frozen=True)
class ProbeTable:
    """The deployment probe's requests as the report shows them, with p50/p95 latency.

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
        if self.recorded_p50_ms is not None:
            return self.recorded_p50_ms
        return percentile(self.latencies, 0.50)

    @property
    def p95_ms(self) -> float | None:
        if self.recorded_p95_ms is not None:
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


@dataclass(frozen=True)
class ColumnPair:
    expected_name: str | None
    expected_type: str | None
    name: str | None
    type: str | None

    @property
    def same(self) -> bool:
        return (self.name or "").lower() == (self.expected_name or "").lower() \
            and self.type == self.expected_type


@dataclass(frozen=True)
class QueryShape:
    """One named query's result shape beside the expected shape (never a row's values)."""

    name: str
    status: str
    rows: int | None
    expected_rows: int
    truncated: bool
    ordered: bool
    matched: bool
    columns: tuple[ColumnPair, ...]


@dataclass(frozen=True)
class KindViews:
    """The kind-specific parts of one evaluation's report section."""

    notebook: RenderedNotebook | None = None
    probes: ProbeTable | None = None
    queries: tuple[QueryShape, ...] | None = None
    notes: tuple[ArtefactNote, ...] = ()

    @property
    def empty(self) -> bool:
        return self.notebook is None and self.probes is None and self.queries is None \
            and not self.notes


@dataclass(frozen=True)
class PublicActivity:
    """The candidate's public-check runs on one challenge: activity, never submissions."""

    count: int
    times: tuple[datetime, ...]
    statuses: tuple[str, ...]


class _Unreadable(ValueError):
    pass


def _text(value: Any, limit: int = MAX_LABEL_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _json(data: bytes) -> Any:
    if len(data) > MAX_JSON_ARTEFACT_BYTES:
        raise _Unreadable(f"over {MAX_JSON_ARTEFACT_BYTES // 2**20} MB")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _Unreadable(f"not JSON ({exc})") from exc


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
    raw = _json(data)
    recorded: Any = {}
    if isinstance(raw, dict):
        recorded = raw
        raw = raw.get("rows", raw.get("probes"))
    if not isinstance(raw, list):
        raise _Unreadable("not a list of probe requests")
    given = recorded.get("targets") if isinstance(recorded.get("targets"), dict) else {}
    rows = []
    for item in raw[:MAX_PROBE_ROWS]:
        if not isinstance(item, dict):
            continue
        status = item.get("status")
        rows.append(ProbeRow(
            label=_text(item.get("label", item.get("request", ""))),
            status="—" if status is None else _text(status, 40),
            latency_ms=_number(item.get("latency_ms")),
            correct=_verdict(item.get("correct")),
            kind=_text(item.get("kind") or "", 40), error=_text(item.get("error") or ""),
            why=_text(item.get("why") or "")))
    p50_target = _number(given.get("p50_ms"))
    p95_target = _number(given.get("p95_ms"))
    return ProbeTable(tuple(rows), targets[0] if p50_target is None else p50_target,
                      targets[1] if p95_target is None else p95_target,
                      truncated=max(len(raw) - MAX_PROBE_ROWS, 0),
                      recorded_p50_ms=_number(recorded.get("latency_p50_ms")),
                      recorded_p95_ms=_number(recorded.get("latency_p95_ms")))


def _names(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [_text(v) for v in value[:MAX_COLUMNS_SHOWN]]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def query_shapes(data: bytes) -> tuple[QueryShape, ...]:
    """The sql kind's ``queries.json``: per query, the result's and the expected shape."""
    raw = _json(data)
    if not isinstance(raw, list):
        raise _Unreadable("not a list of queries")
    shapes = []
    for item in raw[:MAX_QUERIES]:
        if not isinstance(item, dict):
            continue
        names, types = _names(item.get("columns")) or [], _names(item.get("types")) or []
        want_names = _names(item.get("expected_columns")) or []
        want_types = _names(item.get("expected_types")) or []
        columns = tuple(
            ColumnPair(wn, wt, n, t)
            for (wn, wt), (n, t) in zip_longest(zip_longest(want_names, want_types),
                                                zip_longest(names, types),
                                                fillvalue=(None, None)))
        shapes.append(QueryShape(
            name=_text(item.get("name", "")), status=_text(item.get("status", ""), 40),
            rows=_count(item.get("rows")), expected_rows=_count(item.get("expected_rows")) or 0,
            truncated=item.get("truncated") is True, ordered=item.get("ordered") is True,
            matched=item.get("matched") is True, columns=columns))
    return tuple(shapes)


def kind_views(evaluation: EvaluationRecord, blobs: BlobStore, render_dir: Path,
               latency_targets: tuple[float | None, float | None] = (None, None)) -> KindViews:
    """Read the evaluation's kept artefacts into what its report section shows.

    ``latency_targets``: the bundle's p50/p95 targets in ms, for the probe table.
    """
    notebook: RenderedNotebook | None = None
    probes: ProbeTable | None = None
    queries: tuple[QueryShape, ...] | None = None
    notes: list[ArtefactNote] = []
    for entry in evaluation.artefacts or []:
        if not isinstance(entry, dict):
            continue
        name, digest = str(entry.get("name", "")), entry.get("sha256")
        if name not in (NOTEBOOK_ARTEFACT, PROBE_ARTEFACT, QUERIES_ARTEFACT):
            continue
        if not isinstance(digest, str):
            notes.append(ArtefactNote(name, str(entry.get("note") or "not kept")))
            continue
        try:
            if name == NOTEBOOK_ARTEFACT:
                notebook = render_cached(digest, partial(blobs.get, digest), render_dir)
            elif name == PROBE_ARTEFACT:
                probes = probe_table(blobs.get(digest), latency_targets)
            else:
                queries = query_shapes(blobs.get(digest))
        except (BlobMissing, ValueError) as exc:
            notes.append(ArtefactNote(name, f"can't be shown: {exc}"))
    return KindViews(notebook, probes, queries, tuple(notes))


def public_activity(attempt: Attempt) -> dict[int, PublicActivity]:
    """The attempt's public-check runs, by challenge id (times oldest first)."""
    runs = db.session.scalars(select(PublicRun).where(PublicRun.attempt_id == attempt.id)
                              .order_by(PublicRun.created_at, PublicRun.id))
    by_challenge: dict[int, list[PublicRun]] = {}
    for run in runs:
        by_challenge.setdefault(run.challenge_id, []).append(run)
    return {challenge_id: PublicActivity(len(rows), tuple(r.created_at for r in rows),
                                         tuple(r.status for r in rows))
            for challenge_id, rows in by_challenge.items()}


def latency_targets(grading: object) -> tuple[float | None, float | None]:
    """A deployment bundle's p50/p95 targets (ms) from its grading config; none otherwise."""
    p50, p95 = getattr(grading, "latency_p50_ms", None), getattr(grading, "latency_p95_ms", None)
    return (_number(p50), _number(p95))


class CountedResult(Protocol):
    """What a report knows of one challenge: its counted submission, if any."""

    @property
    def challenge(self) -> Challenge: ...

    @property
    def counted(self) -> Submission | None: ...


def report_kind_views(results: Iterable[CountedResult], blobs: BlobStore) -> dict[int, KindViews]:
    """Kind views of each counted submission's evaluation, by submission id.

    Rendered notebooks are cached beside the blob store, by blob hash (``rendered/``).
    """
    views: dict[int, KindViews] = {}
    for result in results:
        submission = result.counted
        if submission is None or submission.evaluation is None:
            continue
        evaluation = submission.evaluation
        targets: tuple[float | None, float | None] = (None, None)
        if result.challenge.kind == "deployment":
            try:
                bundle = get_bundles().at_version(result.challenge.slug,
                                                  evaluation.challenge_version)
                targets = latency_targets(bundle.grading)
            except (BundleVersionMissing, GraderError):
                pass  # the table still shows; only the targets are missing
        views[submission.id] = kind_views(evaluation, blobs, blobs.root.parent / "rendered",
                                          targets)
    return views
