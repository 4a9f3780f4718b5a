"""The ``deployment`` kind: bundle rules, the probe on the host, host-side scoring, the real sandbox."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from click.testing import CliRunner

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle_types import Bundle
from heldout.graders.cli import grade_command
from heldout.graders.errors import BundleError, GraderError
from heldout.graders.kinds.deployment import service_command
from heldout.graders.kinds.deployment.config import (
    CONCURRENCY,
    LATENCY,
    PROBE_REPORT,
    PROBE_SOURCE,
    STARTUP,
    VALIDATION,
    DeploymentGrading,
    ServiceRequest,
    load_requests,
)
from heldout.graders.kinds.deployment.report import percentile
from heldout.graders.kinds.deployment.scoring import prediction_of, refusal_problem, score_service
from heldout.sandbox.spec import JobSpec, OutputFile, RunResult

REPO = Path(__file__).resolve().parents[2]
SERVICE = REPO / "challenges" / "churn-service"
PROBE = PROBE_SOURCE
RECORD = {"age": 40, "tenure_months": 3, "contract": "month-to-month"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# --- the bundle ----------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "message"), [
    ("startup = 10\n", "startup = 11\n", "add up to 101"),
    ('interface = "wsgi"', 'interface = "command"', "names the command to run"),
    ('app = "app:app"', 'app = "server:app"', "is not the entrypoint"),
    ('app = "app:app"', 'app = "app"', "must be module:attribute"),
    ('build = "train.py"', 'build = "../train.py"', "relative path"),
    ('build = "train.py"', 'build = "train.sh"', "must be a .py file"),
    ("latency_p95_ms = 200", "latency_p95_ms = 20", "below latency_p50_ms"),
    ('health_path = "/health"', 'health_path = "health"', "starting with /"),
    ('metric = "roc_auc"', 'metric = "auc"', "unknown metric"),
    ("burst = 32", "bursts = 32", "unknown field"),
])
def test_bundle_rules(tmp_path: Path, old: str, new: str, message: str) -> None:
    root = tmp_path / "churn-service"
    shutil.copytree(SERVICE, root)
    toml = (root / "challenge.toml").read_text()
    assert old in toml
    (root / "challenge.toml").write_text(toml.replace(old, new, 1))
    with pytest.raises(BundleError, match=message):
        load_bundle(root)


def test_a_missing_requests_file_is_a_bundle_error(tmp_path: Path) -> None:
    root = tmp_path / "churn-service"
    shutil.copytree(SERVICE, root)
    (root / "hidden" / "requests.jsonl").unlink()
    with pytest.raises(BundleError, match=r"hidden/requests\.jsonl: missing"):
        load_bundle(root)


def test_the_bundle_loads_and_verifies() -> None:
    bundle = load_bundle(SERVICE)
    assert bundle.kind == "deployment"
    config = bundle.grading
    assert isinstance(config, DeploymentGrading)
    assert (config.interface, config.build, config.workers) == ("wsgi", "train.py", 2)
    from heldout.graders.kinds import KINDS
    KINDS.get("deployment").verify(bundle)


def test_the_generator_reproduces_the_committed_data() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_service_challenge.py"),
                           "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("line", "message"), [
    ('{"label": "a", "kind": "predict", "body": {}}', "numeric expected value"),
    ('{"label": "a", "kind": "predict", "raw": "{}", "expected": 1}', "has a JSON body"),
    ('{"label": "a", "kind": "invalid", "raw": "", "expected": 1}', "no expected value"),
    ('{"label": "a", "kind": "invalid", "raw": "", "body": {}}', "exactly one of"),
    ('{"label": "a", "kind": "invalid", "huge_bytes": -3}', "huge_bytes must be"),
    ('{"label": "a", "kind": "odd", "raw": ""}', "kind must be"),
    ('{"label": "a", "kind": "invalid", "raw": "", "answer": 1}', "unknown key"),
    ("not json", "not JSON"),
])
def test_broken_request_files_are_grader_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"label": "ok", "kind": "predict", "body": {"x": 1}, "expected": 0}\n'
                    + line + "\n")
    with pytest.raises(GraderError, match=message):
        load_requests(path)


def test_the_probe_gets_inputs_and_never_the_expected_answers() -> None:
    requests = load_requests(SERVICE / "hidden" / "requests.jsonl")
    predict = [r for r in requests if r.kind == "predict"]
    assert len(predict) == 400 and {r.expected for r in predict} == {0.0, 1.0}
    for request in requests:
        shown = request.probe_input()
        assert "expected" not in shown and set(shown) <= {"label", "kind", "raw", "huge_bytes"}
    assert json.loads(predict[0].probe_input()["raw"])["contract"] in (
        "month-to-month", "one-year", "two-year")


def test_app_objects_are_served_by_production_servers() -> None:
    config = _config(load_bundle(SERVICE))
    wsgi = service_command(config, "app.py")
    assert wsgi[:3] == ("python", "-m", "gunicorn") and wsgi[-1] == "app:app"
    assert "--workers" in wsgi and wsgi[wsgi.index("--workers") + 1] == "2"
    asgi = service_command(_replace(config, interface="asgi"), "app.py")
    assert asgi[:3] == ("python", "-m", "uvicorn") and "flask" not in " ".join(asgi).lower()
    command = service_command(_replace(config, interface="command", command=("python", "s.py")),
                              "app.py")
    assert command == ("python", "s.py")


def _replace(config: DeploymentGrading, **changes: Any) -> DeploymentGrading:
    import dataclasses
    return dataclasses.replace(config, **changes)


# --- scoring on the host -------------------------------------------------------------

def test_answers_and_refusals_read_as_data() -> None:
    ok = {"status": 200, "body": '{"churn_probability": 0.3}'}
    assert prediction_of(ok, "churn_probability") == 0.3
    for bad in ({"status": 500, "body": '{"churn_probability": 0.3}'},
                {"status": 200, "body": '{"churn_probability": NaN}'},
                {"status": 200, "body": '{"churn_probability": true}'},
                {"status": 200, "body": '{"churn_probability": "0.3"}'},
                {"status": 200, "body": "[0.3]"}, {"status": 200, "body": "\x00garbage"},
                {"status": "200", "body": '{"churn_probability": 0.3}'}, {}):
        assert prediction_of(bad, "churn_probability") is None, bad
    refused = {"status": 400, "content_type": "application/json", "body": '{"error": "x"}'}
    assert refusal_problem(refused) == ""
    assert refusal_problem(refused | {"status": 500}) == "status 500"
    assert "without a JSON object body" in refusal_problem(refused | {"content_type": "text/html"})
    assert "without a JSON object body" in refusal_problem(refused | {"body": "<h1>no</h1>"})
    assert refusal_problem({"status": None, "error": "no complete response within 5 s"}) == \
        "no complete response within 5 s"
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0


def _service_result(**changes: Any) -> RunResult:
    values: dict[str, Any] = {
        "exit_code": 137, "timed_out": False, "oom_killed": False, "wall_seconds": 4.0,
        "cpu_seconds": 1.0, "peak_memory_mb": 120.0, "output_bytes": 0, "stdout_tail": "",
        "stderr_tail": "", "stdout_truncated": False, "stderr_truncated": False, "outputs": (),
        "skipped_outputs": (), "limit": None, "signal": 9}
    values.update(changes)
    return RunResult(**values)


def _config(bundle: Bundle) -> DeploymentGrading:
    assert isinstance(bundle.grading, DeploymentGrading)
    return bundle.grading


def _public_report(answer: Callable[[dict[str, Any]], dict[str, Any]]
                   ) -> tuple[Bundle, tuple[ServiceRequest, ...], dict[str, Any]]:
    bundle = load_bundle(SERVICE)
    requests = load_requests(bundle.public_dir / "requests.jsonl")
    responses = [{"label": r.label, **answer({"kind": r.kind, "expected": r.expected})}
                 for r in requests]
    good = {"status": 200, "content_type": "application/json",
            "body": '{"churn_probability": 0.5}', "latency_ms": 3.0}
    report = {"healthy": True, "startup_seconds": 1.5, "responses": responses,
              "burst": [good] * 32, "alive_after": True}
    return bundle, requests, report


def _checks(evaluation: Any) -> dict[str, Any]:
    return {c.name: c for c in evaluation.checks}


def test_a_perfect_report_earns_every_point_and_keeps_the_probe_table() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        if request["kind"] == "invalid":
            return {"status": 400, "content_type": "application/json",
                    "body": '{"error": "bad"}', "latency_ms": 1.0}
        return {"status": 200, "content_type": "application/json", "latency_ms": 4.0,
                "body": json.dumps({"churn_probability": 0.9 if request["expected"] else 0.1})}

    bundle, requests, report = _public_report(answer)
    evaluation = score_service(bundle, _config(bundle), "public", requests, report, _service_result(), "")
    assert evaluation.score == 100 and evaluation.split == "public"
    checks = _checks(evaluation)
    assert [c.name for c in evaluation.checks] == ["run", "startup", "predictions", "roc_auc",
                                                   "validation", "concurrency", "latency"]
    assert checks["startup"].kind == STARTUP.kind == "probe"
    assert evaluation.metrics["roc_auc"] == 1.0 and evaluation.metrics["latency_p95_ms"] == 4.0
    table = json.loads(evaluation.artefacts[PROBE_REPORT])
    assert table["startup_seconds"] == 1.5
    assert table["targets"] == {"p50_ms": 50, "p95_ms": 200} and table["latency_p50_ms"] == 4.0
    rows = table["rows"]
    assert len(rows) == len(requests) + 32
    assert set(rows[0]) == {"request", "kind", "status", "latency_ms", "correct", "error", "why"}
    assert rows[0]["correct"] == "yes" and rows[0]["status"] == 200
    assert {r["kind"] for r in rows} == {"predict", "invalid", "burst"}


def test_each_probe_rows_verdict_says_why() -> None:
    """Issue 19: a 200 answer marked ✗ said nothing of why (the class at the threshold)."""
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        if request["kind"] == "invalid":
            return {"status": 500, "content_type": "text/html", "body": "oops", "latency_ms": 2.0}
        return {"status": 200, "content_type": "application/json", "latency_ms": 4.0,
                "body": '{"churn_probability": 0.9}'}  # everyone churns

    bundle, requests, report = _public_report(answer)
    evaluation = score_service(bundle, _config(bundle), "public", requests, report,
                               _service_result(), "")
    rows = json.loads(evaluation.artefacts[PROBE_REPORT])["rows"]
    predict = [r for r in rows if r["kind"] == "predict"]
    wrong = [r for r in predict if r["correct"] == "no"]
    assert wrong and all(r["status"] == 200 for r in wrong)
    assert all(r["why"].startswith("wrong class: 0.9 is positive at the threshold")
               and r["why"].endswith("the label is negative") for r in wrong)
    assert all(r["why"].startswith("right class") for r in predict if r["correct"] == "yes")
    invalid = [r for r in rows if r["kind"] == "invalid"]
    assert invalid and all(r["correct"] == "no" and "500" in r["why"] for r in invalid)


def test_crashes_garbage_and_slowness_cost_their_own_checks() -> None:
    def answer(request: dict[str, Any]) -> dict[str, Any]:
        if request["kind"] == "invalid":
            return {"status": 500, "content_type": "text/html", "body": "<h1>Internal</h1>",
                    "latency_ms": 2.0}
        if request["expected"]:
            return {"status": None, "error": "no complete response within 10 s",
                    "latency_ms": 10000.0}
        return {"status": 200, "content_type": "application/json", "latency_ms": 400.0,
                "body": '{"churn_probability": 0.1}'}

    bundle, requests, report = _public_report(answer)
    report["burst"] = [*report["burst"][:31], {"status": 503, "body": "", "latency_ms": 1.0}]
    evaluation = score_service(bundle, _config(bundle), "public", requests, report,
                               _service_result(), "")
    checks = _checks(evaluation)
    assert not checks["predictions"].passed and "unanswered ones count as the median" in \
        checks["predictions"].detail
    assert checks["roc_auc"].score == 0  # every churner unanswered: nothing to rank
    assert checks["validation"].score == 0 and "status 500" in checks["validation"].detail
    assert checks["concurrency"].score == 0 and "31/32" in checks["concurrency"].detail
    assert checks["concurrency"].kind == CONCURRENCY.kind
    assert checks["latency"].score == 0 and "p50 400.0 ms" in checks["latency"].detail
    assert checks["latency"].kind == LATENCY.kind
    rows = json.loads(evaluation.artefacts[PROBE_REPORT])["rows"]
    assert any(r["correct"] == "no" and "no complete response" in r["error"] for r in rows)


def test_a_service_that_never_became_healthy_is_graded_with_reasons() -> None:
    bundle = load_bundle(SERVICE)
    requests = load_requests(bundle.public_dir / "requests.jsonl")
    report: dict[str, Any] = {"healthy": False, "startup_seconds": None, "health_error": "connect: "
              "ConnectionRefusedError", "responses": [], "burst": [], "alive_after": False}
    evaluation = score_service(bundle, _config(bundle), "hidden", requests, report,
                               _service_result(exit_code=1, signal=None,
                                               stderr_tail="ModuleNotFoundError: no model"), "")
    checks = _checks(evaluation)
    assert evaluation.status == "graded" and evaluation.score == 0
    assert "not healthy" in checks["startup"].detail and "30 s" in checks["startup"].detail
    assert "ConnectionRefusedError" in checks["startup"].detail
    assert "exited with code 1: ModuleNotFoundError" in checks["run"].detail
    assert checks["validation"].detail.startswith("not checked")
    assert checks["validation"].max_score == 25 and checks["validation"].kind == VALIDATION.kind


def test_a_forged_report_is_read_as_data() -> None:
    bundle = load_bundle(SERVICE)
    requests = load_requests(bundle.public_dir / "requests.jsonl")
    report = {"healthy": True, "startup_seconds": 0.1, "alive_after": True,
              "responses": ["x", None, {"status": [200], "latency_ms": "fast"}],
              "burst": "all good"}
    evaluation = score_service(bundle, _config(bundle), "hidden", requests, report,
                               _service_result(), "")
    checks = _checks(evaluation)
    assert evaluation.status == "graded"
    assert checks["predictions"].score == 0 and checks["latency"].score == 0
    assert checks["concurrency"].score == 0


# --- what the sandbox gets -----------------------------------------------------------

class ServiceSandbox:
    """Records the jobs and writes a canned probe report; the build writes a model."""

    name = "service-fake"

    def __init__(self, keep: Path, report: dict[str, Any]) -> None:
        self.keep = keep
        self.report = report
        self.jobs: list[JobSpec] = []
        self.service: JobSpec | None = None
        self.probe: JobSpec | None = None

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        self.jobs.append(spec)
        model = output_dir / "model" / "weights.bin"
        model.parent.mkdir(parents=True)
        model.write_bytes(b"weights")
        return _service_result(exit_code=0, signal=None,
                               outputs=(OutputFile("model/weights.bin", 7, model),))

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> Any:
        from heldout.sandbox.spec import ServiceRun
        self.service, self.probe = service, probe
        for role, spec in (("service", service), ("probe", probe)):
            assert spec.harness is not None
            shutil.copytree(spec.harness, self.keep / role)
        probe_output.mkdir(parents=True, exist_ok=True)
        path = probe_output / PROBE_REPORT
        path.write_text(json.dumps(self.report))
        return ServiceRun(_service_result(),
                          _service_result(exit_code=0, signal=None,
                                          outputs=(OutputFile(PROBE_REPORT, 1, path),)))

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def test_the_mounts_build_model_and_probe_job(tmp_path: Path) -> None:
    bundle = load_bundle(SERVICE)
    submission = bundle.solution("reference").path
    sandbox = ServiceSandbox(tmp_path / "seen", {"healthy": False, "health_error": "x"})
    evaluation = evaluate(bundle, submission, sandbox=sandbox)
    assert evaluation.status == "graded", evaluation.error
    assert [job.command for job in sandbox.jobs] == [("python", "train.py")]
    assert sandbox.jobs[0].data == bundle.public_dir and sandbox.jobs[0].harness is None
    service, probe = sandbox.service, sandbox.probe
    assert service is not None and probe is not None
    assert service.env["HELDOUT_MODEL"] == "/harness/model" and service.env["PORT"] == "8000"
    assert (tmp_path / "seen" / "service" / "model" / "weights.bin").read_bytes() == b"weights"
    assert probe.workspace != submission and probe.data is None
    assert sorted(p.name for p in (tmp_path / "seen" / "probe").iterdir()) == [
        "deployment_probe.py", "job.json"]
    job = json.loads((tmp_path / "seen" / "probe" / "job.json").read_text())
    assert all("expected" not in r for r in job["requests"])
    assert len(job["requests"]) == len(load_requests(bundle.hidden_dir / "requests.jsonl"))
    hidden_text = (bundle.hidden_dir / "requests.jsonl").read_text()
    assert '"expected"' in hidden_text and '"expected"' not in \
        (tmp_path / "seen" / "probe" / "job.json").read_text()


def test_a_failed_build_is_graded_without_serving(tmp_path: Path) -> None:
    bundle = load_bundle(SERVICE)

    class Failing(ServiceSandbox):
        def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
            self.jobs.append(spec)
            return _service_result(exit_code=1, signal=None,
                                   stderr_tail="Traceback\nValueError: bad column\n")

    sandbox = Failing(tmp_path / "seen", {})
    evaluation = evaluate(bundle, bundle.solution("reference").path, sandbox=sandbox)
    assert evaluation.score == 0 and sandbox.service is None
    checks = _checks(evaluation)
    assert "build step (python train.py) exited with code 1: ValueError: bad column" in \
        checks["run"].detail
    assert checks["startup"].detail == "not checked: the build step failed"


def test_without_the_build_file_the_service_is_served_directly(tmp_path: Path) -> None:
    bundle = load_bundle(SERVICE)
    sandbox = ServiceSandbox(tmp_path / "seen", {"healthy": False})
    evaluate(bundle, bundle.solution("starter").path, sandbox=sandbox)
    assert sandbox.jobs == [] and sandbox.service is not None
    assert list((tmp_path / "seen" / "service" / "model").iterdir()) == []


# --- the probe, run on the host against local servers ---------------------------------

def _probe_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deployment_probe_under_test", PROBE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Threaded(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        threading.Thread(target=self._handle, args=(request, client_address), daemon=True).start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@contextlib.contextmanager
def served(app: WSGIApp) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def careful(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    def reply(status: str, payload: dict[str, Any]) -> list[bytes]:
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    if environ["PATH_INFO"] == "/health":
        return reply("200 OK", {"status": "ok"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > 64 * 1024:
        return reply("413 Content Too Large", {"error": "too large"})  # body never read
    try:
        record = json.loads(environ["wsgi.input"].read(length))
    except ValueError:
        return reply("400 Bad Request", {"error": "not JSON"})
    if not isinstance(record, dict) or not isinstance(record.get("tenure_months"), int):
        return reply("400 Bad Request", {"error": "tenure_months"})
    return reply("200 OK", {"churn_probability": 0.9 if record["tenure_months"] < 6 else 0.1})


def _run_probe(tmp_path: Path, port: int, requests: list[dict[str, Any]], **job: Any
               ) -> dict[str, Any]:
    settings = {"port": port, "health_path": "/health", "predict_path": "/predict",
                "startup_seconds": 5, "budget_seconds": 30, "request_timeout": 2, "burst": 8,
                "body_cap": 4096, "requests": requests} | job
    (tmp_path / "job.json").write_text(json.dumps(settings))
    env = os.environ | {"HELDOUT_PROBE_JOB": str(tmp_path / "job.json"),
                        "HELDOUT_OUTPUT": str(tmp_path)}
    done = subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads((tmp_path / "probe.json").read_text())
    return report


def test_the_probe_reports_answers_refusals_a_huge_body_and_a_burst(tmp_path: Path) -> None:
    requests: list[dict[str, Any]] = [
        {"label": "short tenure", "kind": "predict", "raw": json.dumps(RECORD)},
        {"label": "long tenure", "kind": "predict", "raw": json.dumps(RECORD | {"tenure_months": 40})},
        {"label": "text", "kind": "invalid", "raw": json.dumps(RECORD | {"tenure_months": "x"})},
        {"label": "empty", "kind": "invalid", "raw": ""},
        {"label": "huge", "kind": "invalid", "huge_bytes": 8 * 1024 * 1024},
    ]
    with served(careful) as port:
        report = _run_probe(tmp_path, port, requests)
    assert report["healthy"] and report["alive_after"]
    statuses = [r["status"] for r in report["responses"]]
    assert statuses == [200, 200, 400, 400, 413]
    assert json.loads(report["responses"][0]["body"]) == {"churn_probability": 0.9}
    assert report["responses"][4]["content_type"] == "application/json"
    assert [b["status"] for b in report["burst"]] == [200] * 8
    assert all(isinstance(r["latency_ms"], float) for r in report["responses"])


def test_the_probe_waits_for_health_and_gives_up_at_the_limit(tmp_path: Path) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there
    started = time.monotonic()
    report = _run_probe(tmp_path, port, [{"label": "a", "kind": "predict", "raw": "{}"}],
                        startup_seconds=1.5)
    assert time.monotonic() - started < 10
    assert not report["healthy"] and report["responses"] == []
    assert "ConnectionRefusedError" in report["health_error"]


def test_slow_and_garbage_answers_are_cut_off_and_reported(tmp_path: Path) -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        if environ["PATH_INFO"] == "/health":
            yield b"{}"
            return
        for _ in range(100):  # drips a byte a second, far past the deadline
            yield b" "
            time.sleep(1)

    with served(slow) as port:
        started = time.monotonic()
        report = _run_probe(tmp_path, port, [{"label": "a", "kind": "predict", "raw": "{}"}],
                            burst=0)
    assert time.monotonic() - started < 15
    assert report["responses"][0]["error"] == "no complete response within 2 s"

    garbage = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer_garbage() -> None:
        garbage.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = garbage.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):
                connection.recv(65536)
                connection.sendall(b"\x00\xffnot http at all\r\n\r\n")
            connection.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        report = _run_probe(tmp_path, garbage.getsockname()[1],
                            [{"label": "a", "kind": "predict", "raw": "{}"}], startup_seconds=1)
    finally:
        stop.set()
        thread.join()
        garbage.close()
    assert not report["healthy"] and "BadStatusLine" in report["health_error"]


def test_the_probes_time_budget_is_kept(tmp_path: Path) -> None:
    def sleepy(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] != "/health":
            time.sleep(0.6)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"churn_probability": 0.5}']

    requests = [{"label": f"r{i}", "kind": "predict", "raw": "{}"} for i in range(20)]
    with served(sleepy) as port:
        report = _run_probe(tmp_path, port, requests, budget_seconds=1.5, burst=4)
    sent = [r for r in report["responses"] if r["status"] == 200]
    assert 2 <= len(sent) <= 4
    assert report["responses"][-1]["error"] == "not sent: the probe's time budget ran out"
    assert report["burst"] == []  # over budget: no burst


def test_the_probe_module_builds_huge_bodies_of_the_asked_size() -> None:
    body = _probe_module()._huge(100_000)
    assert len(body) == 100_000 and json.loads(body)["padding"].startswith("a")


# --- the real sandbox ----------------------------------------------------------------

@pytest.mark.docker
@pytest.mark.parametrize("case", ["reference", "starter", "no-validation"])
def test_bundled_solutions_in_the_real_sandbox(case: str, sandbox_image: str) -> None:
    bundle = load_bundle(SERVICE)
    solution = bundle.solution(case)
    evaluation = evaluate(bundle, solution.path)
    assert evaluation.status == "graded", evaluation.error
    assert evaluation.score is not None and solution.accepts(evaluation.score), \
        [c.detail for c in evaluation.checks]
    checks = _checks(evaluation)
    assert checks["startup"].passed and checks["run"].passed, checks["run"].detail
    rows = json.loads(evaluation.artefacts[PROBE_REPORT])["rows"]
    assert len(rows) == 409 + 32
    if case == "no-validation":
        assert {r["status"] for r in rows if r["kind"] == "invalid"} == {500, 200}
        assert checks["roc_auc"].score == 35
    if case == "reference":
        assert all(r["correct"] == "yes" for r in rows if r["kind"] != "predict")
        assert evaluation.metrics["roc_auc"] > 0.85


@pytest.mark.docker
def test_public_checks_in_the_real_sandbox(sandbox_image: str) -> None:
    runner = CliRunner()
    shown = runner.invoke(grade_command, [
        str(SERVICE), str(SERVICE / "solutions" / "reference"), "--public", "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["split"] == "public" and report["score"] == 100
    assert [c["name"] for c in report["checks"]] == ["run", "startup", "predictions", "roc_auc",
                                                     "validation", "concurrency", "latency"]
    assert report["checks"][2]["detail"].startswith("40/40 prediction requests")


ASGI_APP = '''
import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/health":
        status, payload = 200, {"status": "ok"}
    else:
        try:
            record = json.loads(body)
            status, payload = 200, {"churn_probability": 0.8 if record["contract"] ==
                                    "month-to-month" else 0.2}
        except (ValueError, KeyError, TypeError):
            status, payload = 400, {"error": "invalid"}
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})
'''


@pytest.mark.docker
def test_an_asgi_app_is_served_by_uvicorn(tmp_path: Path, sandbox_image: str) -> None:
    root = tmp_path / "churn-service"
    shutil.copytree(SERVICE, root)
    toml = (root / "challenge.toml").read_text().replace('interface = "wsgi"', 'interface = "asgi"')
    (root / "challenge.toml").write_text(toml)
    bundle = load_bundle(root)
    submission = tmp_path / "asgi"
    submission.mkdir()
    (submission / "app.py").write_text(ASGI_APP)
    evaluation = evaluate(bundle, submission, split="public")
    assert evaluation.status == "graded", evaluation.error
    checks = _checks(evaluation)
    assert checks["startup"].passed and checks["run"].passed, checks["run"].detail
    assert checks["predictions"].detail.startswith("40/40")
    assert evaluation.metrics["roc_auc"] > 0.6  # the contract rule, from the service
    assert evaluation.run is not None and "Uvicorn running on http://127.0.0.1:8000" in \
        evaluation.run.stderr_tail


def test_a_service_stopped_by_its_own_limits_fails_the_run_check() -> None:
    bundle = load_bundle(SERVICE)
    requests = load_requests(bundle.public_dir / "requests.jsonl")
    report = {"healthy": True, "startup_seconds": 1.0, "responses": [], "burst": [],
              "alive_after": False}
    timed_out = score_service(bundle, _config(bundle), "hidden", requests, report,
                              _service_result(timed_out=True, limit="time"), "")
    # 30 s start-up + 90 s budget + 4 x 10 s request timeout + 15 s margin.
    assert _checks(timed_out)["run"].detail == "the service stopped after the 175 s time limit"
    oom = score_service(bundle, _config(bundle), "hidden", requests, report,
                        _service_result(oom_killed=True, peak_memory_mb=1536.0), "")
    assert "killed at the 1536 MB limit" in _checks(oom)["run"].detail
    stopped = score_service(bundle, _config(bundle), "hidden", requests, report,
                            _service_result(exit_code=0, signal=None), "")
    assert _checks(stopped)["run"].detail.startswith("the service stopped answering during")


def test_a_last_attempt_cut_short_by_the_deadline_keeps_what_was_seen_before() -> None:
    # The first /health answers 503; every later one hangs. All attempts fall inside a 1 s
    # start-up limit, so each is cut short by it: the reason must stay the 503.
    answered = threading.Event()
    release = threading.Event()

    def warming(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if answered.is_set():
            release.wait(10)
        answered.set()
        start_response("503 Service Unavailable", [("Content-Length", "2")])
        return [b"{}"]

    try:
        with served(warming) as port:
            ready, why = _probe_module().wait_healthy(port, "/health", 1.0, 4096)
    finally:
        release.set()
    assert ready is None
    assert why == "status 503"
