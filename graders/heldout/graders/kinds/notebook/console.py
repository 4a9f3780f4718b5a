"""The notebook kind's run console: the notebook executed on the public data, cell outputs shown."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.kinds.base import grading_of
from heldout.graders.kinds.notebook import build_harness, read_submission
from heldout.graders.kinds.notebook.checks import executed_notebook
from heldout.graders.kinds.notebook.config import (
    EXECUTED_ARTEFACT,
    HARNESS_SCRIPT,
    NotebookGrading,
)
from heldout.sandbox.spec import HARNESS, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox

MAX_CELLS_SHOWN = 200
MAX_CELL_TEXT = 4000


def run_notebook(bundle: Bundle, workspace: Path, sandbox: Sandbox, root: Path,
                 labels: Mapping[str, str]) -> tuple[RunResult | None, dict[str, Any]]:
    """Executed top to bottom by the grading harness, on the public data; nothing is checked."""
    config = grading_of(bundle, NotebookGrading)
    entrypoint = bundle.submission.entrypoint
    shown: dict[str, Any] = {
        "mode": "run", "command": f"the notebook harness on {entrypoint}",
        "what": f"your notebook {entrypoint}, executed top to bottom in a fresh kernel with "
                "the public data in /data; each cell's text output is shown, nothing is scored"}
    submitted = read_submission(workspace / entrypoint)
    if submitted.problem is not None:
        shown["error"] = submitted.problem
        return None, shown
    harness, output = root / "harness", root / "output"
    output.mkdir()
    build_harness(harness, entrypoint, submitted.format, config)
    result = sandbox.run(JobSpec(command=("python", f"{HARNESS}/{HARNESS_SCRIPT}"),
                                 workspace=workspace, data=bundle.public_dir, harness=harness,
                                 limits=bundle.limits, labels=dict(labels)), output)
    executed = executed_notebook(result, config).get(EXECUTED_ARTEFACT)
    shown["cells"] = [] if executed is None else cell_outputs(executed)
    return result, shown


def cell_outputs(data: bytes) -> list[dict[str, Any]]:
    """Each code cell's first source line and its text outputs (streams, plain results, errors).

    The notebook came out of the sandbox: only text is taken, capped, never its HTML.
    """
    try:
        notebook = json.loads(data)
    except ValueError:
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    shown: list[dict[str, Any]] = []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        texts = [_text(output) for output in cell.get("outputs") or [] if isinstance(output, dict)]
        text = "".join(t for t in texts if t)
        shown.append({"cell": number, "first_line": source.strip().split("\n", 1)[0][:120],
                      "text": text[:MAX_CELL_TEXT], "cut": len(text) > MAX_CELL_TEXT,
                      "error": any(isinstance(o, dict) and o.get("output_type") == "error"
                                   for o in cell.get("outputs") or [])})
        if len(shown) >= MAX_CELLS_SHOWN:
            break
    return shown


def _joined(value: Any) -> str:
    return "".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


def _text(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _joined(output.get("text"))
    if kind in ("execute_result", "display_data"):
        data = output.get("data")
        plain = data.get("text/plain") if isinstance(data, dict) else None
        return _joined(plain) + "\n" if plain else ""
    if kind == "error":
        return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}\n"
    return ""
