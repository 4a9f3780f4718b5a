"""The deployment kind's settings: its check types, the `[grading]` table and the requests file."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import CheckType
from heldout.graders.errors import CandidateOutputError, GraderError
from heldout.graders.kinds.base import GradingConfig
from heldout.graders.result import MAX_SCORE
from heldout.graders.tables import read_capped
from heldout.sandbox.spec import Limits

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.graders.fields import Table

PROBE_SCRIPT = "deployment_probe.py"
PROBE_SOURCE = Path(__file__).resolve().parent / PROBE_SCRIPT
PROBE_REPORT = "probe.json"
MODEL_DIR = "model"
PORT = 8000
INTERFACES = ("wsgi", "asgi", "command")
BODY_CAP = 4096
MAX_REPORT_BYTES = 8 * 1024 * 1024
MAX_REQUESTS_BYTES = 32 * 1024 * 1024
MAX_HUGE_BYTES = 16 * 1024 * 1024
MARGIN_SECONDS = 15.0
POINT_KEYS = ("startup", "predictions", "metric", "validation", "concurrency", "latency")
SHOWN_FAILURES = 3

STARTUP = CheckType(
    "startup", "probe",
    "the service answered its health URL within the bundle's start-up limit",
    "your service answered its health URL within the start-up limit")
VALIDATION = CheckType(
    "validation", "probe",
    "invalid payloads (missing field, wrong type, empty or huge body) got a 4xx with a JSON "
    "error, not a 5xx, a hang or a crash")
CONCURRENCY = CheckType(
    "concurrency", "probe",
    "a burst of concurrent prediction requests all succeeded")
LATENCY = CheckType(
    "latency", "probe",
    "median and 95th-percentile latency of the prediction requests, measured by the probe, "
    "within the bundle's targets",
    "median and 95th-percentile latency of the prediction requests, measured by the probe, "
    "within the challenge's targets")


@dataclass(frozen=True)
class ServiceRequest:
    """One request of a requests file: inputs for the probe, ``expected`` for the host."""

    label: str
    kind: str  # "predict" or "invalid"
    raw: str | None = None
    huge_bytes: int | None = None
    expected: float | None = None

    def probe_input(self) -> dict[str, Any]:
        """What the probe gets: never the expected answer."""
        shown: dict[str, Any] = {"label": self.label, "kind": self.kind}
        if self.huge_bytes is not None:
            shown["huge_bytes"] = self.huge_bytes
        else:
            shown["raw"] = self.raw
        return shown


@dataclass(frozen=True)
class DeploymentGrading(GradingConfig):
    """The validated ``[grading]`` table of a deployment bundle."""

    interface: str
    app: str
    command: tuple[str, ...]
    metric: str
    baseline: float
    target: float
    prediction_field: str
    points: Mapping[str, float]
    build: str | None = None
    workers: int = 2
    startup_seconds: float = 30.0
    probe_seconds: float = 90.0
    request_timeout: float = 10.0
    health_path: str = "/health"
    predict_path: str = "/predict"
    threshold: float = 0.5
    latency_p50_ms: float = 100.0
    latency_p95_ms: float = 300.0
    burst: int = 32
    requests: str = "requests.jsonl"

    def optional_files(self) -> tuple[str, ...]:
        return (self.build,) if self.build is not None else ()


def path_field(table: Table, key: str, default: str) -> str:
    value = table.string(key, default)
    if not value.startswith("/") or any(c.isspace() for c in value) or not value.isascii():
        raise table.error(key, f"must be a URL path starting with /, got {value!r}")
    return value


def relative_file(table: Table, key: str, value: str) -> str:
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or pure.as_posix() != value:
        raise table.error(key, f"must be a relative path inside the workspace, got {value!r}")
    return value


def load_requests(path: Path) -> tuple[ServiceRequest, ...]:
    """A requests file (trusted bundle data); a broken one is a bundle fault (``GraderError``)."""
    try:
        text = read_capped(path, MAX_REQUESTS_BYTES, shown=str(path)).decode("utf-8")
    except (CandidateOutputError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path}: unreadable requests file: {exc}") from exc
    found: list[ServiceRequest] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise GraderError(f"{where}: not JSON: {exc}") from exc
        found.append(_request(raw, where))
    if not any(r.kind == "predict" for r in found):
        raise GraderError(f"{path}: no predict request")
    return tuple(found)


def _request(raw: Any, where: str) -> ServiceRequest:
    if not isinstance(raw, dict) or not isinstance(raw.get("label"), str):
        raise GraderError(f"{where}: a request is an object with a label")
    kind = raw.get("kind")
    if kind not in ("predict", "invalid"):
        raise GraderError(f"{where}: kind must be predict or invalid, got {kind!r}")
    unknown = set(raw) - {"label", "kind", "body", "raw", "huge_bytes", "expected"}
    if unknown:
        raise GraderError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    given = [key for key in ("body", "raw", "huge_bytes") if key in raw]
    if len(given) != 1:
        raise GraderError(f"{where}: give exactly one of body, raw, huge_bytes")
    expected = raw.get("expected")
    if kind == "predict":
        if given != ["body"]:
            raise GraderError(f"{where}: a predict request has a JSON body")
        if isinstance(expected, bool) or not isinstance(expected, int | float):
            raise GraderError(f"{where}: a predict request has a numeric expected value")
    elif expected is not None:
        raise GraderError(f"{where}: an invalid request has no expected value")
    huge = raw.get("huge_bytes")
    if huge is not None and (not isinstance(huge, int) or not 0 < huge <= MAX_HUGE_BYTES):
        raise GraderError(f"{where}: huge_bytes must be 1..{MAX_HUGE_BYTES}")
    text = json.dumps(raw["body"]) if "body" in raw else raw.get("raw")
    if text is not None and not isinstance(text, str):
        raise GraderError(f"{where}: raw must be a string")
    return ServiceRequest(raw["label"][:200], kind, text, huge,
                          None if expected is None else float(expected))


def serve_limits(bundle: Bundle, config: DeploymentGrading) -> Limits:
    """The serving run's limits: the bundle's, with a wall time that covers start-up, the
    probe's budget and what may run past it (the last request, the burst, the last health
    check), so the service is stopped by the probe's end, not by its own limit."""
    after_budget = 4 * config.request_timeout + MARGIN_SECONDS
    return dataclasses.replace(
        bundle.limits, wall_seconds=config.startup_seconds + config.probe_seconds + after_budget)


def positive_field(table: Table, key: str, default: float) -> float:
    value = table.number(key, default)
    if value <= 0:
        raise table.error(key, "must be positive")
    return value


def points_table(table: Table) -> dict[str, float]:
    sub = table.table("points")
    points = {key: sub.number(key, 0.0) for key in POINT_KEYS}
    sub.finish()
    if any(v < 0 for v in points.values()):
        raise table.error("points", "points are not negative")
    if not math.isclose(sum(points.values()), MAX_SCORE):
        raise table.error("points", f"add up to {sum(points.values()):g}, not {MAX_SCORE:g}")
    return points
