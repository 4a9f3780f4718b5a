"""``deployment``: the candidate's HTTP model service, started in the sandbox and probed.

An optional build step (``python <build>``) runs first on the public data; what it leaves
in ``/output/model/`` is copied into a fresh per-run directory mounted read-only at
``/harness/model`` for the serving run. The service runs with no network; app objects are
served by gunicorn (WSGI) or uvicorn (ASGI) from the image, a ``command`` service listens
on ``$PORT`` itself. The trusted probe (``deployment_probe.py``, beside this) joins the
service's network namespace, gets the requests' inputs only, and reports responses as
data; the expected answers stay here, where every response is scored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import METRIC, PREDICTIONS, RUN, CheckType, metric_check
from heldout.graders.errors import BundleError, CandidateOutputError, GraderError
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.deployment.report import ProbeTable, percentile, probe_table
from heldout.graders.kinds.parts import KeptArtefact, ReportPart
from heldout.graders.metrics import METRICS, read_scale
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import describe_stop
from heldout.graders.tables import read_capped
from heldout.sandbox.spec import HARNESS, OUTPUT, TMP, JobSpec, Limits, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox

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


def _path(table: Table, key: str, default: str) -> str:
    value = table.string(key, default)
    if not value.startswith("/") or any(c.isspace() for c in value) or not value.isascii():
        raise table.error(key, f"must be a URL path starting with /, got {value!r}")
    return value


def _relative_file(table: Table, key: str, value: str) -> str:
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


def read_probe(artefact: KeptArtefact) -> ProbeTable:
    """The report part: the probe table, against the graded bundle's latency targets while
    that version still exists."""
    grading = artefact.grading()
    if isinstance(grading, DeploymentGrading):
        return probe_table(artefact.data(), (grading.latency_p50_ms, grading.latency_p95_ms))
    return probe_table(artefact.data())


class DeploymentKind:
    """The candidate ships an HTTP model service; a trusted probe starts and grades it."""

    name = "deployment"
    summary = ("ship an HTTP model service; probed for start-up, predictions, input "
               "validation, concurrency and latency")
    checks: tuple[CheckType, ...] = (RUN, STARTUP, PREDICTIONS, METRIC, VALIDATION, CONCURRENCY,
                                     LATENCY)
    artefacts: tuple[str, ...] = (PROBE_REPORT,)
    report_parts: tuple[ReportPart, ...] = (
        ReportPart(PROBE_REPORT, Path(__file__).resolve().parent / "report.html", read_probe),)
    roles: tuple[str, ...] = ("mlops-engineer",)

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        interface = table.choice("interface", INTERFACES, "wsgi")
        app = table.string("app", "app:app")
        command = table.string_list("command", ())
        if interface == "command" and not command:
            raise table.error("command", "a command service names the command to run")
        if interface != "command" and command:
            raise table.error("command", f"only for interface = \"command\" (this is {interface})")
        module, _, attribute = app.partition(":")
        if interface != "command" and not (module and attribute
                                           and all(p.isidentifier() for p in module.split("."))
                                           and attribute.isidentifier()):
            raise table.error("app", f"must be module:attribute, got {app!r}")
        build = table.string("build", "") or None
        if build is not None:
            _relative_file(table, "build", build)
            if not build.endswith(".py") or not submission.accepts(build):
                raise table.error("build", f"{build!r} must be a .py file the submission accepts")
        metric, baseline, target = read_scale(table)
        config = DeploymentGrading(
            interface=interface, app=app, command=command, metric=metric.name, baseline=baseline,
            target=target, prediction_field=table.string("prediction_field"),
            points=_points(table), build=build,
            workers=table.integer("workers", 2, minimum=1),
            startup_seconds=_positive(table, "startup_seconds", 30.0),
            probe_seconds=_positive(table, "probe_seconds", 90.0),
            request_timeout=_positive(table, "request_timeout", 10.0),
            health_path=_path(table, "health_path", "/health"),
            predict_path=_path(table, "predict_path", "/predict"),
            threshold=table.number("threshold", 0.5),
            latency_p50_ms=_positive(table, "latency_p50_ms", 100.0),
            latency_p95_ms=_positive(table, "latency_p95_ms", 300.0),
            burst=table.integer("burst", 32, minimum=0),
            requests=table.string("requests", "requests.jsonl"),
        )
        table.finish()
        if config.workers > 16:
            raise BundleError(f"{table.file}: [grading].workers: at most 16")
        if config.latency_p95_ms < config.latency_p50_ms:
            raise BundleError(f"{table.file}: [grading].latency_p95_ms: below latency_p50_ms")
        if interface != "command":
            source = module.replace(".", "/") + ".py"
            if source != submission.entrypoint:
                raise BundleError(f"{table.file}: [grading].app: module {module!r} is not the "
                                  f"entrypoint {submission.entrypoint!r}")
        for split in ("public", "hidden"):
            path = root / split / config.requests
            if not path.is_file() or path.is_symlink():
                raise BundleError(f"{split}/{config.requests}: missing (a deployment bundle "
                                  "needs requests per split)")
        return config

    def verify(self, bundle: Bundle) -> None:
        """Both request files parse; the expected values suit the metric."""
        config = grading_of(bundle, DeploymentGrading)
        metric = METRICS.get(config.metric)
        for directory in (bundle.public_dir, bundle.hidden_dir):
            requests = load_requests(directory / config.requests)
            truth = [r.expected for r in requests if r.expected is not None]
            metric.compute(truth, [truth[0]] * len(truth))
        needed = serve_limits(bundle, config).wall_seconds
        if needed > 900:
            raise GraderError(f"the service's wall limit would be {needed:g} s, over 900 s")

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """The build, the service and the probe, with the split's requests (the public ones'
        answers are public)."""
        config = grading_of(bundle, DeploymentGrading)
        data_dir = bundle.hidden_dir if split == "hidden" else bundle.public_dir
        requests = load_requests(data_dir / config.requests)
        labels = {"heldout.challenge": bundle.slug, "heldout.split": split}
        with tempfile.TemporaryDirectory(prefix="heldout-deployment-") as tmp:
            root = Path(tmp)
            serving, probe_dir, empty = root / "serving", root / "probe", root / "empty"
            for directory in (serving / MODEL_DIR, probe_dir, empty):
                directory.mkdir(parents=True)
            built: RunResult | None = None
            if config.build is not None and (workspace / config.build).is_file():
                built = sandbox.run(JobSpec(
                    command=("python", config.build), workspace=workspace, data=bundle.public_dir,
                    limits=bundle.limits, labels=labels | {"heldout.phase": "build"},
                ), root / "build-output")
                stop = describe_stop(built, bundle.limits)
                if stop is not None:
                    return _not_served(bundle, config, split, built,
                                       f"the build step (python {config.build}) {stop}")
                _copy_model(built, serving / MODEL_DIR)
            write_probe_job(probe_dir, config, requests)
            limits = serve_limits(bundle, config)
            service = JobSpec(
                command=service_command(config, bundle.submission.entrypoint),
                workspace=workspace, data=bundle.public_dir, harness=serving,
                limits=limits, env=service_env(),
                labels=labels | {"heldout.phase": "serve"},
            )
            probe = JobSpec(
                command=("python", f"{HARNESS}/{PROBE_SCRIPT}"), workspace=empty,
                harness=probe_dir, limits=Limits(wall_seconds=limits.wall_seconds,
                                                  memory_mb=512, pids=128, output_mb=16),
                env={"HOME": TMP, "TMPDIR": TMP},
                labels=labels | {"heldout.phase": "probe"},
            )
            ran = sandbox.run_service(service, probe, root / "service-output",
                                      root / "probe-output")
            if ran.probe is None:
                report: dict[str, Any] | None = None
                note = "the service was gone before the probe could reach it"
            else:
                report, note = read_report(ran.probe)
                if report is None and ran.probe.exit_code not in (0, None):
                    raise GraderError(f"the deployment probe failed: {ran.probe.stderr_tail[-500:]}")
        return score_service(bundle, config, split, requests, report, ran.service, note, built)


def serve_limits(bundle: Bundle, config: DeploymentGrading) -> Limits:
    """The serving run's limits: the bundle's, with a wall time that covers start-up, the
    probe's budget and what may run past it (the last request, the burst, the last health
    check), so the service is stopped by the probe's end, not by its own limit."""
    after_budget = 4 * config.request_timeout + MARGIN_SECONDS
    return dataclasses.replace(
        bundle.limits, wall_seconds=config.startup_seconds + config.probe_seconds + after_budget)


def _positive(table: Table, key: str, default: float) -> float:
    value = table.number(key, default)
    if value <= 0:
        raise table.error(key, "must be positive")
    return value


def _points(table: Table) -> dict[str, float]:
    sub = table.table("points")
    points = {key: sub.number(key, 0.0) for key in POINT_KEYS}
    sub.finish()
    if any(v < 0 for v in points.values()):
        raise table.error("points", "points are not negative")
    if not math.isclose(sum(points.values()), MAX_SCORE):
        raise table.error("points", f"add up to {sum(points.values()):g}, not {MAX_SCORE:g}")
    return points


def service_command(config: DeploymentGrading, entrypoint: str) -> tuple[str, ...]:
    """How the service starts: a production server from the image, or the bundle's command."""
    bind = f"127.0.0.1:{PORT}"
    if config.interface == "wsgi":
        return ("python", "-m", "gunicorn", "--bind", bind, "--workers", str(config.workers),
                "--worker-tmp-dir", TMP, "--chdir", "/workspace", "--timeout",
                str(max(1, math.ceil(config.request_timeout))), "--graceful-timeout", "1",
                "--no-control-socket", config.app)
    if config.interface == "asgi":
        return ("python", "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(PORT),
                "--workers", str(config.workers), "--app-dir", "/workspace",
                "--no-access-log", config.app)
    return config.command


def service_env() -> dict[str, str]:
    return {"PORT": str(PORT), "HOME": TMP, "TMPDIR": TMP, "PYTHONUNBUFFERED": "1",
            "HELDOUT_MODEL": f"{HARNESS}/{MODEL_DIR}"}


def _copy_model(built: RunResult, target: Path) -> None:
    """The build's /output/model/ files (regular files, copied out by the sandbox already)."""
    prefix = MODEL_DIR + "/"
    for item in built.outputs:
        if item.name.startswith(prefix):
            destination = target / item.name[len(prefix):]
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.path, destination)


def write_probe_job(directory: Path, config: DeploymentGrading,
                    requests: Sequence[ServiceRequest]) -> None:
    """The probe's harness: its script and the requests' inputs (no expected answer)."""
    shutil.copyfile(PROBE_SOURCE, directory / PROBE_SCRIPT)
    job = {"port": PORT, "health_path": config.health_path, "predict_path": config.predict_path,
           "startup_seconds": config.startup_seconds, "budget_seconds": config.probe_seconds,
           "request_timeout": config.request_timeout, "burst": config.burst,
           "body_cap": BODY_CAP, "requests": [r.probe_input() for r in requests]}
    (directory / "job.json").write_text(json.dumps(job), encoding="utf-8")


def read_report(probe: RunResult) -> tuple[dict[str, Any] | None, str]:
    """The probe's report (trusted code, but read under a cap like any run's output)."""
    output = probe.output(PROBE_REPORT)
    if output is None:
        return None, f"the probe wrote no {OUTPUT}/{PROBE_REPORT}"
    try:
        raw = json.loads(read_capped(output.path, MAX_REPORT_BYTES, shown=PROBE_REPORT))
    except (CandidateOutputError, ValueError) as exc:
        return None, f"unreadable probe report: {exc}"
    if not isinstance(raw, dict):
        return None, "the probe report is not an object"
    return raw, ""


def _not_served(bundle: Bundle, config: DeploymentGrading, split: Split, built: RunResult,
                why: str) -> Evaluation:
    checks = [RUN.failed(why), *_unchecked(config, "the build step failed")]
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded", score=0.0,
                      checks=tuple(checks), run=RunStats.from_result(built),
                      split=split)


def _unchecked(config: DeploymentGrading, why: str) -> list[Check]:
    points = config.points
    return [STARTUP.not_checked(why, max_score=points["startup"]),
            PREDICTIONS.not_checked(why, max_score=points["predictions"]),
            METRIC.not_checked(why, max_score=points["metric"], label=config.metric),
            VALIDATION.not_checked(why, max_score=points["validation"]),
            CONCURRENCY.not_checked(why, max_score=points["concurrency"]),
            LATENCY.not_checked(why, max_score=points["latency"])]


def _json_object(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, str):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def prediction_of(seen: Mapping[str, Any], field: str) -> float | None:
    """The finite number under ``field`` of a 2xx JSON answer, else None."""
    status = seen.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    answer = _json_object(seen.get("body"))
    value = None if answer is None else answer.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def refusal_problem(seen: Mapping[str, Any]) -> str:
    """Why a response to an invalid payload is not a proper refusal ('' when it is)."""
    status = seen.get("status")
    if not isinstance(status, int):
        return str(seen.get("error") or "no response")[:120]
    if not 400 <= status < 500:
        return f"status {status}"
    if "json" not in str(seen.get("content_type", "")).lower() or _json_object(seen.get("body")) is None:
        return f"status {status} without a JSON object body"
    return ""


def _responses(report: Mapping[str, Any], count: int) -> list[Mapping[str, Any]]:
    raw = report.get("responses")
    items: list[Mapping[str, Any]] = []
    if isinstance(raw, list):
        items = [r if isinstance(r, dict) else {} for r in raw]
    return (items + [{} for _ in range(count)])[:count]


def _latency(seen: Mapping[str, Any]) -> float | None:
    value = seen.get("latency_ms")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def score_service(bundle: Bundle, config: DeploymentGrading, split: Split,
                  requests: Sequence[ServiceRequest], report: Mapping[str, Any] | None,
                  service: RunResult, note: str, built: RunResult | None = None) -> Evaluation:
    """Every check from the probe's report and the service's run, scored on the host."""
    points = config.points
    rows: list[dict[str, Any]] = []
    checks: list[Check] = []
    healthy = report is not None and report.get("healthy") is True
    alive = report is not None and report.get("alive_after") is True
    checks.append(_run(service, serve_limits(bundle, config), healthy, alive, note, built))
    metrics: dict[str, float] = {}
    if report is None or not healthy:
        startup_seconds = None
        why = note or str((report or {}).get("health_error") or "no answer")[:200]
        checks.append(STARTUP.failed(f"not healthy ({config.health_path} never answered 200) "
                                     f"within {config.startup_seconds:g} s: {why}",
                                     max_score=points["startup"]))
        checks += _unchecked(config, "the service never became healthy")[1:]
    else:
        startup_seconds = report.get("startup_seconds")
        checks.append(STARTUP.passed(f"healthy after {float(startup_seconds or 0):.1f} s "
                                     f"(limit {config.startup_seconds:g} s)",
                                     score=points["startup"], max_score=points["startup"]))
        responses = _responses(report, len(requests))
        checks += _prediction_checks(config, requests, responses, rows, metrics)
        checks.append(_validation_check(config, requests, responses, rows))
        checks.append(_concurrency_check(config, report, rows))
        checks.append(_latency_check(config, requests, responses, metrics))
    score = min(round(sum(check.score for check in checks), 2), MAX_SCORE)
    table = {"startup_seconds": startup_seconds, "rows": rows,
             "latency_p50_ms": metrics.get("latency_p50_ms"),
             "latency_p95_ms": metrics.get("latency_p95_ms"),
             "targets": {"p50_ms": config.latency_p50_ms, "p95_ms": config.latency_p95_ms}}
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                      score=score, checks=tuple(checks), metrics=metrics,
                      run=RunStats.from_result(service),
                      split=split,
                      artefacts={PROBE_REPORT: json.dumps(table, indent=1).encode("utf-8")})


def _run(service: RunResult, limits: Limits, healthy: bool, alive: bool, note: str,
         built: RunResult | None) -> Check:
    before = f"build {built.wall_seconds:.1f} s; " if built is not None else ""
    if service.timed_out or service.oom_killed or service.limit is not None:
        stop = describe_stop(service, limits)
        return RUN.failed(f"{before}the service {stop}")
    if healthy and alive:
        return RUN.passed(f"{before}the service ran until the probe was done "
                          f"(peak memory {service.peak_memory_mb:.0f} MB)")
    if healthy:
        return RUN.failed(f"{before}the service stopped answering during the probe "
                          f"(exit code {service.exit_code})")
    if service.exit_code not in (None, 137) or note:
        tail = service.stderr_tail.strip().splitlines()[-1:] or [""]
        return RUN.failed(f"{before}the service exited with code {service.exit_code}"
                          + (f": {tail[0][:200]}" if tail[0] else ""))
    return RUN.failed(f"{before}the service was stopped: it never answered its health URL")


def _prediction_checks(config: DeploymentGrading, requests: Sequence[ServiceRequest],
                       responses: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]],
                       metrics: dict[str, float]) -> list[Check]:
    metric = METRICS.get(config.metric)
    truth: list[float] = []
    values: list[float | None] = []
    for request, seen in zip(requests, responses, strict=True):
        if request.kind != "predict" or request.expected is None:
            continue
        value = prediction_of(seen, config.prediction_field)
        truth.append(request.expected)
        values.append(value)
        correct = None if value is None else (value >= config.threshold) == (request.expected >= 0.5)
        rows.append(_row(request.label, "predict", seen, correct,
                         _prediction_why(value, request.expected, config)))
    answered = [v for v in values if v is not None]
    missing = len(values) - len(answered)
    where = f"{config.predict_path} answered 2xx JSON with a finite {config.prediction_field!r}"
    if not answered:
        return [PREDICTIONS.failed(f"0/{len(values)} prediction requests: none {where}",
                                   max_score=config.points["predictions"]),
                METRIC.failed("not computed: no valid predictions",
                              max_score=config.points["metric"], label=metric.name)]
    share = len(answered) / len(values)
    earned = round(config.points["predictions"] * share, 2)
    detail = f"{len(answered)}/{len(values)} prediction requests {where}"
    first = next((i for i, v in enumerate(values) if v is None), None)
    if first is not None:
        detail += "; unanswered ones count as the median answer"
    fill = sorted(answered)[len(answered) // 2]
    scored = [fill if v is None else v for v in values]
    predictions = PREDICTIONS.verdict(missing == 0, detail, score=earned,
                                      max_score=config.points["predictions"])
    problem = metric.prediction_problem(truth, scored)
    if problem:
        return [predictions, METRIC.failed(f"not computed: {problem}",
                                           max_score=config.points["metric"], label=metric.name)]
    value = metric.compute(truth, scored)
    metrics[metric.name] = round(value, 6)
    return [predictions, metric_check(metric, value, baseline=config.baseline,
                                      target=config.target, max_score=config.points["metric"])]


def _validation_check(config: DeploymentGrading, requests: Sequence[ServiceRequest],
                      responses: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]]) -> Check:
    failures: list[str] = []
    total = 0
    for request, seen in zip(requests, responses, strict=True):
        if request.kind != "invalid":
            continue
        total += 1
        problem = refusal_problem(seen)
        rows.append(_row(request.label, "invalid", seen, not problem, problem or ""))
        if problem:
            failures.append(f"{request.label}: {problem}")
    most = config.points["validation"]
    if total == 0:
        return VALIDATION.passed("no invalid payloads in this split", score=most, max_score=most)
    earned = round(most * (total - len(failures)) / total, 2)
    detail = f"{total - len(failures)}/{total} invalid payloads refused with a 4xx JSON error"
    if failures:
        detail += "; " + "; ".join(failures[:SHOWN_FAILURES])
        if len(failures) > SHOWN_FAILURES:
            detail += f"; and {len(failures) - SHOWN_FAILURES} more"
    return VALIDATION.verdict(not failures, detail, score=earned, max_score=most)


def _concurrency_check(config: DeploymentGrading, report: Mapping[str, Any],
                       rows: list[dict[str, Any]]) -> Check:
    most = config.points["concurrency"]
    if config.burst == 0:
        return CONCURRENCY.passed("no burst declared", score=most, max_score=most)
    raw = report.get("burst")
    burst = [b if isinstance(b, dict) else {} for b in raw] if isinstance(raw, list) else []
    if not burst:
        return CONCURRENCY.failed("not sent: the probe's time budget ran out", max_score=most)
    good = 0
    problems: list[str] = []
    for index, seen in enumerate(burst, start=1):
        ok = prediction_of(seen, config.prediction_field) is not None
        good += ok
        rows.append(_row(f"burst {index}", "burst", seen, ok,
                         "" if ok else f"no finite {config.prediction_field!r} in the answer"))
        if not ok:
            problems.append(str(seen.get("error") or f"status {seen.get('status')}")[:80])
    detail = f"{good}/{len(burst)} concurrent requests answered with a prediction"
    if problems:
        detail += f" (e.g. {problems[0]})"
    all_good = good == len(burst) == config.burst
    return CONCURRENCY.verdict(all_good, detail, score=most if all_good else 0.0, max_score=most)


def _latency_check(config: DeploymentGrading, requests: Sequence[ServiceRequest],
                   responses: Sequence[Mapping[str, Any]], metrics: dict[str, float]) -> Check:
    most = config.points["latency"]
    times = [latency for request, seen in zip(requests, responses, strict=True)
             if request.kind == "predict" and prediction_of(seen, config.prediction_field) is not None
             and (latency := _latency(seen)) is not None]
    if not times:
        return LATENCY.failed("not measured: no prediction request succeeded", max_score=most)
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    metrics["latency_p50_ms"], metrics["latency_p95_ms"] = round(p50, 2), round(p95, 2)
    half = most / 2
    earned = (half if p50 <= config.latency_p50_ms else 0.0) + (half if p95 <= config.latency_p95_ms else 0.0)
    detail = (f"p50 {p50:.1f} ms (target {config.latency_p50_ms:g}), p95 {p95:.1f} ms "
              f"(target {config.latency_p95_ms:g}) over {len(times)} successful predictions")
    return LATENCY.verdict(earned == most, detail, score=round(earned, 2), max_score=most)


def _prediction_why(value: float | None, expected: float, config: DeploymentGrading) -> str:
    """Why a prediction request's row reads ✗ (or ✓): the class at the threshold."""
    if value is None:
        return f"no finite {config.prediction_field!r} in the answer"
    said = "positive" if value >= config.threshold else "negative"
    wanted = "positive" if expected >= 0.5 else "negative"
    verdict = "right" if said == wanted else "wrong"
    return (f"{verdict} class: {value:.3g} is {said} at the threshold {config.threshold:g}; "
            f"the label is {wanted}")


def _row(label: str, kind: str, seen: Mapping[str, Any], correct: bool | None,
         why: str = "") -> dict[str, Any]:
    status = seen.get("status")
    return {"request": label, "kind": kind,
            "status": status if isinstance(status, int) else None,
            "latency_ms": _latency(seen),
            "correct": "yes" if correct else "no",
            "error": str(seen.get("error") or "")[:200], "why": why[:200]}


KIND = DeploymentKind()
