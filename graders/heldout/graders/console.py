"""The run console: the candidate's code run once on the public data or an input they typed.

A console run is a public run of another mode: the same staging, the same guarded sandbox
(nothing from ``hidden/`` or ``solutions/`` can be mounted) and the same limits as the public
checks, but instead of checks it answers one question, per kind:

- ``function``: one call of a function of the entrypoint, with the arguments typed;
- ``sql``: one query against the public tables, the first rows back as a grid;
- ``deployment``: one request to the candidate's service, started as for grading;
- ``model_training``, ``feature_engineering``, ``notebook``: the entrypoint run on the public
  data, its output shown.

What the candidate typed is parsed on the host as data only (``console_input``); what the
sandbox sends back is untrusted and read under caps like any run's output.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.console_input import ConsoleRequest, mode_of
from heldout.graders.errors import GraderError
from heldout.graders.kinds.deployment.console import run_request
from heldout.graders.kinds.function.console import run_call
from heldout.graders.kinds.notebook.console import run_notebook
from heldout.graders.kinds.sql.console import run_query
from heldout.graders.result import Evaluation, RunStats
from heldout.sandbox.spec import TMP, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox

# The key of Evaluation.artefacts holding what the console shows beside the output.
CONSOLE_ARTEFACT = "console.json"


def run_console(bundle: Bundle, workspace: Path, sandbox: Sandbox,
                request: ConsoleRequest) -> Evaluation:
    """Run the request on the public data; what it showed is ``artefacts[CONSOLE_ARTEFACT]``.

    The evaluation has no checks and no score that means anything (0): it is finished or
    not (``internal_error``, as for public checks). ``SandboxError`` and ``GraderError``
    propagate, as from a kind's ``grade``.
    """
    mode = mode_of(bundle.kind)
    if request.mode != mode:
        raise GraderError(f"a {request.mode} console request for a {bundle.kind} challenge")
    labels = {"heldout.challenge": bundle.slug, "heldout.split": "public",
              "heldout.phase": "console"}
    result: RunResult | None
    with tempfile.TemporaryDirectory(prefix="heldout-console-") as tmp:
        root = Path(tmp)
        if mode == "sql":
            result, shown = run_query(bundle, request.query, sandbox, root, labels)
        elif mode == "call":
            result, shown = run_call(bundle, workspace, request, sandbox, root, labels)
        elif mode == "request":
            result, shown = run_request(bundle, workspace, request, sandbox, root, labels)
        elif bundle.kind == "notebook":
            result, shown = run_notebook(bundle, workspace, sandbox, root, labels)
        else:
            result, shown = run_script(bundle, workspace, sandbox, root, labels)
    return finished(bundle, result, shown)


def finished(bundle: Bundle, result: RunResult | None, shown: Mapping[str, Any]) -> Evaluation:
    data = json.dumps(dict(shown), allow_nan=False, default=str).encode("utf-8")
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded", score=0,
                      run=None if result is None else RunStats.from_result(result),
                      split="public", artefacts={CONSOLE_ARTEFACT: data})


def run_script(bundle: Bundle, workspace: Path, sandbox: Sandbox, root: Path,
               labels: Mapping[str, str]) -> tuple[RunResult, dict[str, Any]]:
    """``python ENTRYPOINT`` on the public data, as the grader starts a training script."""
    entrypoint = bundle.submission.entrypoint
    if not entrypoint.endswith(".py"):
        raise GraderError(f"the console can't run {entrypoint}")
    command = ("python", entrypoint)
    output = root / "output"
    output.mkdir()
    result = sandbox.run(JobSpec(command=command, workspace=workspace, data=bundle.public_dir,
                                 limits=bundle.limits, env={"HOME": TMP, "TMPDIR": TMP},
                                 labels=dict(labels)), output)
    return result, {"mode": "run", "command": " ".join(command),
                    "what": f"python {entrypoint} in /workspace, with the public data in /data "
                            "and /output writable; nothing is scored",
                    "outputs": sorted(item.name for item in result.outputs)[:50]}


def read_console(evaluation_artefacts: Mapping[str, bytes]) -> dict[str, Any] | None:
    """What a console run showed, from its evaluation's artefacts (None if not a console run)."""
    data = evaluation_artefacts.get(CONSOLE_ARTEFACT)
    if data is None:
        return None
    shown = json.loads(data)
    return shown if isinstance(shown, dict) else None
