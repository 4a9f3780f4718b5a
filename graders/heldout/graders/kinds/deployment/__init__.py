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

import json
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import METRIC, PREDICTIONS, RUN, CheckType
from heldout.graders.errors import BundleError, GraderError
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.deployment.config import (
    BODY_CAP,
    CONCURRENCY,
    INTERFACES,
    LATENCY,
    MODEL_DIR,
    PORT,
    PROBE_REPORT,
    PROBE_SCRIPT,
    PROBE_SOURCE,
    STARTUP,
    VALIDATION,
    DeploymentGrading,
    ServiceRequest,
    load_requests,
    path_field,
    points_table,
    positive_field,
    relative_file,
    serve_limits,
)
from heldout.graders.kinds.deployment.report import ProbeTable, probe_table
from heldout.graders.kinds.deployment.scoring import not_served, read_report, score_service
from heldout.graders.kinds.parts import KeptArtefact, ReportPart
from heldout.graders.metrics import METRICS, read_scale
from heldout.graders.result import Evaluation, Split
from heldout.graders.runcheck import describe_stop
from heldout.sandbox.spec import HARNESS, TMP, JobSpec, Limits, RunResult, ServiceRun

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox


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
            relative_file(table, "build", build)
            if not build.endswith(".py") or not submission.accepts(build):
                raise table.error("build", f"{build!r} must be a .py file the submission accepts")
        metric, baseline, target = read_scale(table)
        config = DeploymentGrading(
            interface=interface, app=app, command=command, metric=metric.name, baseline=baseline,
            target=target, prediction_field=table.string("prediction_field"),
            points=points_table(table), build=build,
            workers=table.integer("workers", 2, minimum=1),
            startup_seconds=positive_field(table, "startup_seconds", 30.0),
            probe_seconds=positive_field(table, "probe_seconds", 90.0),
            request_timeout=positive_field(table, "request_timeout", 10.0),
            health_path=path_field(table, "health_path", "/health"),
            predict_path=path_field(table, "predict_path", "/predict"),
            threshold=table.number("threshold", 0.5),
            latency_p50_ms=positive_field(table, "latency_p50_ms", 100.0),
            latency_p95_ms=positive_field(table, "latency_p95_ms", 300.0),
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
            served = serve(bundle, config, workspace, sandbox, Path(tmp), labels,
                           lambda directory: write_probe_job(directory, config, requests))
        if served.ran is None:
            assert served.built is not None  # not served: the build failed
            return not_served(bundle, config, split, served.built, served.note)
        return score_service(bundle, config, split, requests, served.report, served.ran.service,
                             served.note, served.built)


@dataclass(frozen=True)
class Served:
    """What became of a build, a service and its probe: ``ran`` is None when the build
    failed (``note`` says how); else ``report`` is the probe's, or None with ``note``."""

    built: RunResult | None
    ran: ServiceRun | None
    report: dict[str, Any] | None
    note: str


def serve(bundle: Bundle, config: DeploymentGrading, workspace: Path, sandbox: Sandbox,
          root: Path, labels: dict[str, str], probe_job: Callable[[Path], None]) -> Served:
    """Build (when the bundle has a build step), start the service, run the probe beside it.

    ``probe_job`` writes the probe's job into the directory it is given (the probe's
    harness mount): the graded requests, or the run console's one request.
    """
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
            return Served(built, None, None, f"the build step (python {config.build}) {stop}")
        _copy_model(built, serving / MODEL_DIR)
    probe_job(probe_dir)
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
    ran = sandbox.run_service(service, probe, root / "service-output", root / "probe-output")
    if ran.probe is None:
        return Served(built, ran, None, "the service was gone before the probe could reach it")
    report, note = read_report(ran.probe)
    if report is None and ran.probe.exit_code not in (0, None):
        raise GraderError(f"the deployment probe failed: {ran.probe.stderr_tail[-500:]}")
    return Served(built, ran, report, note)


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
                    requests: Sequence[ServiceRequest],
                    console: Mapping[str, Any] | None = None) -> None:
    """The probe's harness: its script and the requests' inputs (no expected answer).

    ``console`` (method, path, body): the run console's one request, sent instead of the
    graded ones and the burst.
    """
    shutil.copyfile(PROBE_SOURCE, directory / PROBE_SCRIPT)
    job: dict[str, Any] = {
        "port": PORT, "health_path": config.health_path, "predict_path": config.predict_path,
        "startup_seconds": config.startup_seconds, "budget_seconds": config.probe_seconds,
        "request_timeout": config.request_timeout,
        "burst": 0 if console is not None else config.burst,
        "body_cap": BODY_CAP, "requests": [r.probe_input() for r in requests]}
    if console is not None:
        job["console"] = dict(console)
    (directory / "job.json").write_text(json.dumps(job), encoding="utf-8")


KIND = DeploymentKind()
