"""The deployment kind's run console: one request the candidate typed, sent to their service."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.kinds.base import grading_of
from heldout.graders.kinds.deployment import serve, write_probe_job
from heldout.graders.kinds.deployment.config import BODY_CAP, DeploymentGrading
from heldout.sandbox.spec import RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.graders.console_input import ConsoleRequest
    from heldout.sandbox.backend import Sandbox


def run_request(bundle: Bundle, workspace: Path, request: ConsoleRequest, sandbox: Sandbox,
                root: Path, labels: Mapping[str, str]) -> tuple[RunResult | None, dict[str, Any]]:
    """The service built and started as for grading; the probe sends the one request."""
    config = grading_of(bundle, DeploymentGrading)

    def probe_job(directory: Path) -> None:
        write_probe_job(directory, config, (), console={
            "method": request.method, "path": request.path, "body": request.body})

    shown: dict[str, Any] = {"mode": "request", "method": request.method, "path": request.path,
                             "body": request.body, "predict_path": config.predict_path,
                             "health_path": config.health_path}
    served = serve(bundle, config, workspace, sandbox, root, dict(labels), probe_job)
    if served.ran is None:
        shown["error"] = served.note
        return served.built, shown
    report = served.report
    if report is None:
        shown["error"] = served.note or "the probe wrote no report"
    elif not report.get("healthy"):
        shown["error"] = (f"your service did not answer {config.health_path} with 200 within "
                          f"{config.startup_seconds:g} s (last seen: "
                          f"{str(report.get('health_error') or 'no answer')[:200]})")
    else:
        seen = report.get("console")
        if not isinstance(seen, dict):
            shown["error"] = "the request was not sent"
        else:
            status = seen.get("status")
            shown["response"] = {
                "status": status if isinstance(status, int) else None,
                "content_type": str(seen.get("content_type", ""))[:200],
                "body": str(seen.get("body", ""))[:BODY_CAP],
                "truncated": seen.get("truncated") is True,
                "error": str(seen.get("error", ""))[:300],
                "latency_ms": seen.get("latency_ms") if isinstance(seen.get("latency_ms"),
                                                                   int | float) else None}
    return served.ran.service, shown
