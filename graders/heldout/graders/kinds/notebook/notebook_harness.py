"""Execute a candidate's notebook headless from a fresh kernel inside the sandbox.

Runs as ``python /harness/notebook_harness.py`` with this directory mounted read-only at
/harness. ``job.json`` says where the submission is, its format, the time limits, the
bundle's locked cells (nbgrader metadata, by ``grade_id``: public test cells from the
starter, never an answer) and the names a trusted cell appended after the candidate's
cells exports. Everything the host needs comes back through /output:

- ``notebook_run.json``: one entry per cell of the notebook as executed (status, the
  cell's first line, the error's last line), which locked cells were restored or
  re-inserted; rewritten after every cell, so a run cut short still says how far it got;
- ``executed.ipynb``: the notebook with its fresh outputs (each cell's capped);
- ``exports.json``: what the appended cell found under the exported names.

The notebook is prepared (outputs discarded, locked cells restored) before any candidate
code runs. Once the kernel has run, candidate code shared this container, so the host
treats all three files as untrusted. This file runs in the sandbox image: the standard
library, nbformat, nbclient and jupytext only.
"""

import copy
import json
import os
import sys
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = "/workspace"
REPORT = "notebook_run.json"
EXECUTED = "executed.ipynb"
EXPORTS = "exports.json"
MAX_TEXT = 200
EXPORT_MARK = "heldout_export"
EXIT_UNREADABLE = 3

# The root filesystem is read-only: Jupyter and IPython keep their runtime files (kernel
# connection files among them), history and caches under the writable /tmp instead.
TMP = "/tmp"  # noqa: S108 - the container's own size-capped tmpfs
_SCRATCH = {
    "HOME": os.path.join(TMP, "home"),
    "JUPYTER_RUNTIME_DIR": os.path.join(TMP, "jupyter", "runtime"),
    "JUPYTER_DATA_DIR": os.path.join(TMP, "jupyter", "data"),
    "JUPYTER_CONFIG_DIR": os.path.join(TMP, "jupyter", "config"),
    "IPYTHONDIR": os.path.join(TMP, "ipython"),
    "MPLCONFIGDIR": os.path.join(TMP, "matplotlib"),
}


def _output_dir() -> str:
    return os.environ.get("HELDOUT_OUTPUT", "/output")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def first_line(source: str) -> str:
    """The first non-blank line of a cell: how a report names the cell."""
    for line in source.splitlines():
        if line.strip():
            return _short(line.strip())
    return ""


def _write_json(name: str, value: Any) -> None:
    """Write atomically, so the host never reads half a report."""
    path = os.path.join(_output_dir(), name)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(value, handle, allow_nan=False)
    os.replace(partial, path)


def read_submission(path: str, fmt: str) -> Any:
    """The submitted notebook as an nbformat v4 node; ``ValueError`` if unusable."""
    import nbformat

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if fmt == "script":
        import jupytext

        notebook = jupytext.reads(text, fmt="py:percent")
        notebook = nbformat.reads(nbformat.writes(notebook, version=4), as_version=4)
    else:
        notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    return notebook


def nbgrader(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def discard_outputs(notebook: Any) -> None:
    """Nothing the candidate's file claims to have printed survives: it is run afresh."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)


def restore_locked(notebook: Any, locked: list[dict[str, Any]],
                   order: list[str]) -> tuple[list[str], list[str]]:
    """Put every locked starter cell back as the bundle wrote it; (restored, re-inserted).

    A locked cell is matched by ``grade_id``; if its source, type or metadata changed it is
    replaced with the starter's. One missing (deleted, or its metadata stripped) is
    inserted before the first later nbgrader cell of the starter that is still there, else
    at the end, so a test cell still runs after the candidate's answer above it. Copies of
    a grade_id after the first lose their nbgrader metadata: they earn nothing.
    """
    import nbformat

    wanted = {entry["grade_id"]: entry["cell"] for entry in locked}
    seen: set[str] = set()
    restored: list[str] = []
    for position, cell in enumerate(notebook.cells):
        grade_id = nbgrader(cell).get("grade_id")
        if not isinstance(grade_id, str):
            continue
        if grade_id in seen:
            cell.metadata.pop("nbgrader", None)
            continue
        seen.add(grade_id)
        if grade_id in wanted:
            original = nbformat.from_dict(copy.deepcopy(wanted[grade_id]))
            # Editors add their own metadata (collapsed, scrolled): only what changes how the
            # cell runs or is graded counts as an edit. The starter's cell replaces it anyway.
            if (cell.cell_type != original.cell_type or cell.source != original.source
                    or nbgrader(cell) != nbgrader(original)
                    or cell.metadata.get("tags") != original.metadata.get("tags")):
                restored.append(grade_id)
            if "id" in cell:
                original["id"] = cell["id"]
            notebook.cells[position] = original
    reinserted: list[str] = []
    for grade_id in order:
        if grade_id not in wanted or grade_id in seen:
            continue
        later = order[order.index(grade_id) + 1:]
        at = len(notebook.cells)
        for index, cell in enumerate(notebook.cells):
            if nbgrader(cell).get("grade_id") in later:
                at = index
                break
        cell = nbformat.from_dict(copy.deepcopy(wanted[grade_id]))
        if cell.get("id") in {c.get("id") for c in notebook.cells}:
            cell["id"] = uuid.uuid4().hex[:12]
        notebook.cells.insert(at, cell)
        seen.add(grade_id)
        reinserted.append(grade_id)
    return restored, reinserted


def export_source(names: list[str]) -> str:
    """The trusted cell appended after the candidate's: the named values, as JSON."""
    return (
        "def __heldout_export(names, path):\n"
        "    import json, math\n"
        "    def plain(value, depth=0):\n"
        "        if depth > 20:\n"
        "            raise TypeError('nested too deeply')\n"
        "        if value is None or isinstance(value, (bool, str)):\n"
        "            return value\n"
        "        if isinstance(value, int):\n"
        "            return value\n"
        "        if isinstance(value, float):\n"
        "            return value if math.isfinite(value) else {'$float': str(value)}\n"
        "        item = getattr(value, 'item', None)\n"
        "        if callable(item) and getattr(value, 'shape', None) == ():\n"
        "            return plain(item(), depth + 1)\n"
        "        tolist = getattr(value, 'tolist', None)\n"
        "        if callable(tolist) and not isinstance(value, dict):\n"
        "            return plain(tolist(), depth + 1)\n"
        "        if isinstance(value, (list, tuple)):\n"
        "            return [plain(v, depth + 1) for v in value]\n"
        "        if isinstance(value, dict):\n"
        "            return {str(k): plain(v, depth + 1) for k, v in value.items()}\n"
        "        raise TypeError(type(value).__name__)\n"
        "    found = {}\n"
        "    space = globals()\n"
        "    for name in names:\n"
        "        if name not in space:\n"
        "            found[name] = {'status': 'missing'}\n"
        "            continue\n"
        "        try:\n"
        "            found[name] = {'status': 'ok', 'value': plain(space[name])}\n"
        "        except Exception as exc:\n"
        "            found[name] = {'status': 'unsupported', 'error': str(exc)[:200]}\n"
        "    with open(path, 'w', encoding='utf-8') as handle:\n"
        "        json.dump(found, handle, allow_nan=False)\n"
        f"__heldout_export({names!r}, {os.path.join(_output_dir(), EXPORTS)!r})\n"
        "del __heldout_export\n"
    )


def _cap_outputs(cell: Any, max_bytes: int) -> bool:
    """Keep a cell's outputs within ``max_bytes`` of JSON; True if some were dropped."""
    kept: list[Any] = []
    used = 0
    for output in cell.get("outputs", []):
        size = len(json.dumps(output, default=str))
        if used + size > max_bytes:
            import nbformat

            kept.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"[output over {max_bytes // 1024} KB dropped by the grader]\n"))
            cell.outputs = kept
            return True
        kept.append(output)
        used += size
    return False


class Run:
    """The execution of one prepared notebook, cell by cell, reported as it goes."""

    def __init__(self, notebook: Any, job: dict[str, Any], restored: list[str],
                 reinserted: list[str]) -> None:
        self.notebook = notebook
        self.job = job
        self.started = time.monotonic()
        self.report: dict[str, Any] = {
            "done": False, "problem": None, "restored": restored, "reinserted": reinserted,
            "export": None, "cells": [self._entry(i, c) for i, c in enumerate(notebook.cells)],
        }

    @staticmethod
    def _entry(index: int, cell: Any) -> dict[str, Any]:
        grade_id = nbgrader(cell).get("grade_id")
        executes = cell.cell_type == "code" and cell.source.strip()
        return {"index": index, "type": cell.cell_type,
                "grade_id": grade_id if isinstance(grade_id, str) else None,
                "export": bool(cell.metadata.get(EXPORT_MARK)),
                "first_line": first_line(cell.source),
                "status": "not_run" if executes else "skipped", "error": "", "seconds": 0.0}

    def save(self) -> None:
        self.report["seconds"] = round(time.monotonic() - self.started, 3)
        _write_json(REPORT, self.report)

    def execute(self) -> None:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        cell_timeout = float(self.job["cell_timeout"])
        deadline = self.started + float(self.job["total_timeout"])
        client = NotebookClient(
            self.notebook, kernel_name="python3", timeout=int(cell_timeout),
            startup_timeout=int(self.job.get("startup_timeout", 60)),
            allow_errors=False, force_raise_errors=True, interrupt_on_timeout=False,
            shutdown_kernel="immediate", record_timing=False, store_widget_state=False,
            resources={"metadata": {"path": WORKSPACE}})
        max_cell_bytes = int(self.job.get("max_cell_output_bytes", 256 * 1024))
        self.save()
        # Kernel and client talk over Unix sockets in /tmp: no port opens, even on loopback.
        client.km = client.create_kernel_manager()
        client.km.transport = "ipc"
        client.km.ip = os.path.join(TMP, "jupyter", "kernel")
        with client.setup_kernel():
            for index, cell in enumerate(self.notebook.cells):
                entry = self.report["cells"][index]
                if entry["status"] != "not_run":
                    continue
                left = deadline - time.monotonic()
                if left <= 1:
                    self._stop(index, f"not run: the notebook's {self.job['total_timeout']:g} s "
                               "time limit ran out before this cell")
                    break
                # A cell may take its own limit or what is left of the notebook's, whichever ends first.
                client.timeout = max(1, int(min(cell_timeout, left)))
                began = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                    entry["status"] = "ok"
                except CellTimeoutError:
                    entry["status"] = "timeout"
                    entry["error"] = (f"still running after {client.timeout} s "
                                      + ("(the per-cell limit)" if client.timeout >= cell_timeout
                                         else "(the notebook's total limit)"))
                except DeadKernelError:
                    entry["status"] = "dead"
                    entry["error"] = "the kernel died (crashed, killed or out of memory)"
                except CellExecutionError as exc:
                    entry["status"] = "error"
                    entry["error"] = _short(f"{exc.ename}: {exc.evalue}" if str(exc.evalue).strip()
                                            else str(exc.ename))
                entry["seconds"] = round(time.monotonic() - began, 3)
                _cap_outputs(cell, max_cell_bytes)
                self._mark_export(index, entry)
                self.save()
                if entry["status"] in ("timeout", "dead"):
                    self._stop(index + 1, "not run: an earlier cell "
                               + ("timed out" if entry["status"] == "timeout" else "killed the kernel"))
                    break
        self.report["done"] = True

    def _mark_export(self, index: int, entry: dict[str, Any]) -> None:
        if self.notebook.cells[index].metadata.get(EXPORT_MARK):
            self.report["export"] = {"status": entry["status"], "error": entry["error"]}

    def _stop(self, start: int, message: str) -> None:
        for entry in self.report["cells"][start:]:
            if entry["status"] == "not_run":
                entry["error"] = message


def prepare(job: dict[str, Any]) -> tuple[Any, list[str], list[str]]:
    """The notebook to run: read, outputs discarded, locked cells restored, export appended."""
    import nbformat

    notebook = read_submission(os.path.join(WORKSPACE, job["entrypoint"]), job["format"])
    discard_outputs(notebook)
    # The starter's cells carry ids (nbformat 4.5): the notebook they go into must too.
    notebook.nbformat_minor = max(int(notebook.get("nbformat_minor", 0)), 5)
    for cell in notebook.cells:
        if not cell.get("id"):
            cell["id"] = uuid.uuid4().hex[:12]
    restored, reinserted = restore_locked(notebook, job.get("locked", []), job.get("order", []))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    exports = job.get("exports", [])
    if exports:
        cell = nbformat.v4.new_code_cell(export_source(exports))
        cell.metadata[EXPORT_MARK] = True
        notebook.cells.append(cell)
    return notebook, restored, reinserted


def main() -> int:
    for name, value in _SCRATCH.items():
        os.environ[name] = value
        os.makedirs(value, exist_ok=True)
    os.environ["MPLBACKEND"] = "Agg"  # no display: figures render inline
    with open(os.path.join(HERE, "job.json"), encoding="utf-8") as handle:
        job = json.load(handle)
    try:
        notebook, restored, reinserted = prepare(job)
    except Exception as exc:  # any parse failure is the submission's, said plainly
        _write_json(REPORT, {"done": True, "problem": _short(f"{type(exc).__name__}: {exc}"),
                             "cells": [], "restored": [], "reinserted": [], "export": None})
        print(f"the submission could not be read as a notebook: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    run = Run(notebook, job, restored, reinserted)
    try:
        run.execute()
    except Exception as exc:
        # Kernel start-up failures and the like: reported, and the run exits non-zero.
        run.report["problem"] = _short(f"{type(exc).__name__}: {exc}")
        run.save()
        raise
    finally:
        import nbformat

        with open(os.path.join(_output_dir(), EXECUTED), "w", encoding="utf-8") as handle:
            nbformat.write(notebook, handle)
    run.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
