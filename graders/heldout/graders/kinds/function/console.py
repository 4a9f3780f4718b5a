"""The function kind's run console: one call of a function of the candidate's module."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.kinds.base import grading_of
from heldout.graders.kinds.function import (
    HARNESS_SCRIPT,
    HARNESS_SOURCE,
    MAX_LINE_BYTES,
    FunctionGrading,
    read_outcomes,
)
from heldout.sandbox.spec import HARNESS, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.graders.console_input import ConsoleRequest
    from heldout.sandbox.backend import Sandbox

CALL_ID = 0
# What the page shows of a returned value, as indented JSON.
MAX_SHOWN_CHARS = 64 * 1024


def run_call(bundle: Bundle, workspace: Path, request: ConsoleRequest, sandbox: Sandbox,
             root: Path, labels: Mapping[str, str]) -> tuple[RunResult, dict[str, Any]]:
    """The call, made by the grading harness exactly as a public case's call is made."""
    config = grading_of(bundle, FunctionGrading)
    harness, output = root / "harness", root / "output"
    (harness / "inputs").mkdir(parents=True)
    output.mkdir()
    shutil.copyfile(HARNESS_SOURCE, harness / HARNESS_SCRIPT)
    call = {"id": CALL_ID, "function": request.function, "args": list(request.args),
            "kwargs": dict(request.kwargs), "timeout": config.case_timeout}
    (harness / "cases.json").write_text(
        json.dumps({"max_result_bytes": config.max_result_bytes, "cases": [call]},
                   allow_nan=False), encoding="utf-8")
    result = sandbox.run(JobSpec(
        command=("python", f"{HARNESS}/{HARNESS_SCRIPT}", bundle.submission.entrypoint),
        workspace=workspace, data=bundle.public_dir, harness=harness, limits=bundle.limits,
        labels=dict(labels)), output)
    outcomes, note = read_outcomes(result, {CALL_ID},
                                    max_bytes=config.max_result_bytes + MAX_LINE_BYTES)
    outcome = outcomes.get(CALL_ID)
    shown: dict[str, Any] = {"mode": "call", "function": request.function,
                             "arguments": request.typed, "declared": list(config.functions),
                             "timeout": config.case_timeout}
    if outcome is None:
        shown["error"] = note or "the call gave no result (see the error output)"
    elif outcome.status != "ok":
        shown["error"] = outcome.error or outcome.status
        shown["status"] = outcome.status
    else:
        text = json.dumps(outcome.value, indent=2, allow_nan=False, default=str)
        shown["value"] = text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "\n…"
        shown["value_cut"] = len(text) > MAX_SHOWN_CHARS
        shown["seconds"] = outcome.seconds
    return result, shown
