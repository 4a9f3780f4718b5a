"""nbgrader source notebooks -> ``notebook`` bundles.

nbgrader marks cells in their metadata (``nbgrader: {solution, grade, locked, grade_id,
points}``): solution cells (with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions, or
whole), autograded test cells (``grade`` with ``points``, locked) and read-only cells. The
release version (solutions replaced by stubs, hidden test regions dropped) becomes the
starter, the source with its markers removed the reference, and each test cell a graded
locked cell of the starter worth its share of the points.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heldout.graders.bundle import STATEMENT_NAME, TOML_NAME
from heldout.graders.errors import ImportRefused
from heldout.graders.importers.staging import Draft, slugify, solution_table, toml_text
from heldout.graders.kinds.notebook.config import parse_notebook

MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
CLEAN_POINTS = 10.0  # what running top to bottom without an error is worth; tests share the rest
CELL_TIMEOUT = 30.0
TOTAL_TIMEOUT = 120.0
KERNEL_MARGIN = 30  # the run's wall time beyond the notebook's, for the kernel
_MARKER = re.compile(r"^\s*#{2,}\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)\s*$")


def _regions(source: str, kind: str, keep: bool, replacement: str | None, where: str) -> str:
    """``source`` with each ``BEGIN kind``/``END kind`` region kept (markers dropped) or
    replaced by ``replacement`` at the marker's indentation (None: removed)."""
    lines: list[str] = []
    inside = False
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match and match.group(2) == kind:
            opening = match.group(1) == "BEGIN"
            if opening == inside:
                raise ImportRefused(f"{where}: unbalanced `### {match.group(1)} {kind}` marker")
            inside = opening
            if opening and not keep and replacement is not None:
                indent = line[:len(line) - len(line.lstrip())]
                lines += [indent + stub for stub in replacement.splitlines()]
            continue
        if keep or not inside:
            lines.append(line)
    if inside:
        raise ImportRefused(f"{where}: `### BEGIN {kind}` without its `### END {kind}`")
    return "\n".join(lines)


def _has(source: str, kind: str) -> bool:
    return any((m := _MARKER.match(line)) and m.group(2) == kind for line in source.splitlines())


def _clear(cell: Any) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def _read(path: Path) -> Any:
    shown = path.name
    if not path.is_file():
        raise ImportRefused(f"{shown}: no such file")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ImportRefused(f"{shown}: over the {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB limit")
    try:
        return parse_notebook(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"{shown}: not UTF-8 text (bad byte at offset {exc.start})") from exc
    except RecursionError:
        raise ImportRefused(f"{shown}: not a valid notebook: nested too deeply") from None
    except Exception as exc:  # nbformat raises JSON, schema and reader errors
        raise ImportRefused(f"{shown}: not a valid notebook: {' '.join(str(exc).split())[:200]}"
                            ) from exc


def _title(notebook: Any, fallback: str) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or fallback
    return fallback


def nbgrader_draft(path: Path, *, slug: str | None = None, data_files: Sequence[Path] = ()) -> Draft:
    """The bundle an nbgrader source notebook makes; ``data_files`` go to ``public/`` (``/data``)."""
    import nbformat

    shown = path.name
    source = _read(path)
    starter, reference = copy.deepcopy(source), copy.deepcopy(source)
    notes: list[str] = []
    tests: list[tuple[int, float]] = []  # (cell index, nbgrader points)
    seen_ids: set[str] = set()
    for index, (release, solved) in enumerate(zip(starter.cells, reference.cells, strict=True)):
        where = f"{shown}: cell {index + 1}"
        _clear(release)
        _clear(solved)
        meta = release.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        if not isinstance(meta, dict):
            raise ImportRefused(f"{where}: nbgrader metadata is not a mapping")
        grade_id = meta.get("grade_id")
        flags = [bool(meta.get(key)) for key in ("solution", "grade", "locked", "task")]
        if not grade_id and not any(flags):  # a plain cell nbgrader's toolbar touched
            for cell in (release, solved):
                del cell.metadata["nbgrader"]
            continue
        if not isinstance(grade_id, str) or not grade_id.strip():
            raise ImportRefused(f"{where}: nbgrader metadata without a grade_id")
        if grade_id in seen_ids:
            raise ImportRefused(f"{where}: grade_id {grade_id!r} appears twice")
        seen_ids.add(grade_id)
        where = f"{where} ({grade_id})"
        solution, graded = bool(meta.get("solution")), bool(meta.get("grade"))
        if solution or meta.get("task"):
            if graded or meta.get("task"):
                notes.append(f"{where}: graded by hand in nbgrader; imported as an ungraded "
                             "answer cell (heldout grades test cells)")
                for cell in (release, solved):
                    cell.metadata["nbgrader"] = {**meta, "grade": False, "task": False,
                                                 "points": 0}
            stub = CODE_STUB if release.cell_type == "code" else TEXT_STUB
            if _has(release.source, "SOLUTION"):
                release.source = _regions(release.source, "SOLUTION", False, stub, where)
                solved.source = _regions(solved.source, "SOLUTION", True, None, where)
            else:
                release.source = stub
            continue
        for cell in (release, solved):  # hidden test regions never reach the candidate's side
            cell.source = _regions(cell.source, "HIDDEN TESTS", False, None, where)
        if _has(source.cells[index].source, "HIDDEN TESTS"):
            notes.append(f"{where}: its hidden tests are left out: heldout runs no answer "
                         "next to candidate code; only the visible tests are graded")
        if graded:
            points = meta.get("points", 0)
            if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
                raise ImportRefused(f"{where}: points must be a non-negative number")
            if release.cell_type != "code":
                raise ImportRefused(f"{where}: a graded cell that is not code and not an answer")
            if points > 0:
                tests.append((index, float(points)))
            for cell in (release, solved):
                cell.metadata["nbgrader"] = {**cell.metadata["nbgrader"], "locked": True}
    total = sum(points for _, points in tests)
    if not tests:
        notes.append(f"{shown}: no autograded test cell with points: the challenge grades only "
                     "that the notebook runs clean")
    clean = CLEAN_POINTS if tests else 100.0
    share = (100.0 - clean) / total if total else 0.0
    scaled = [round(points * share, 4) for _, points in tests]
    clean = round(100.0 - sum(scaled), 4)
    for (index, _), points in zip(tests, scaled, strict=True):
        for notebook in (starter, reference):
            notebook.cells[index].metadata["nbgrader"]["points"] = points

    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._") or "assignment"
    entrypoint = f"{name}.ipynb"
    slug = slug or slugify(path.stem, fallback="notebook")
    title = _title(source, path.stem)
    draft = Draft(slug, notes=notes)
    starter_bytes = nbformat.writes(starter).encode()
    draft.files[f"starter/{entrypoint}"] = starter_bytes
    draft.files[f"solutions/starter/{entrypoint}"] = starter_bytes
    draft.files[f"solutions/reference/{entrypoint}"] = nbformat.writes(reference).encode()
    for data in data_files:
        if not data.is_file() or data.is_symlink():
            raise ImportRefused(f"{data}: no such file (--data names files the notebook reads)")
        draft.files[f"public/{data.name}"] = data
    if not data_files:
        draft.files["public/README.md"] = (
            f"{entrypoint} reads no data files: this folder is empty on purpose.\n").encode()
    cells = len(tests)
    draft.files[STATEMENT_NAME] = "\n".join([
        f"# {title}", "",
        f"Complete the notebook `{entrypoint}` (in the starter): fill in every cell marked "
        f"`{CODE_STUB.splitlines()[0]}` or `{TEXT_STUB}`, and leave the locked cells as they are.",
        "",
        "## Grading", "",
        f"The notebook runs top to bottom on a fresh kernel (each cell within {CELL_TIMEOUT:g} s, "
        f"all within {TOTAL_TIMEOUT:g} s). Running without an error is worth {clean:g} points; "
        + (f"the {cells} test cell(s) of the notebook share the other {100 - clean:g}, each worth "
           "its points when it runs without an error. Locked cells you edit or delete are put "
           "back before the run." if cells else "there is no other check."),
        "",
        *[f"- test cell `{starter.cells[index].metadata['nbgrader']['grade_id']}`: "
          f"{points:g} points" for (index, _), points in zip(tests, scaled, strict=True)],
        ""]).encode()
    draft.files[TOML_NAME] = toml_text(
        {"title": title, "kind": "notebook",
         "summary": f"An nbgrader assignment: complete the notebook {entrypoint} so its tests pass.",
         "skills": ["Jupyter", "Python"], "difficulty": "medium", "expected_minutes": 45},
        {"submission": {"entrypoint": entrypoint, "max_bytes": 4 * 1024 * 1024, "max_files": 1},
         "limits": {"wall_seconds": int(TOTAL_TIMEOUT) + KERNEL_MARGIN, "memory_mb": 2048,
                    "cpus": 1, "pids": 256},
         "grading": {"clean_points": clean, "cell_timeout": CELL_TIMEOUT,
                     "total_timeout": TOTAL_TIMEOUT},
         "solutions.reference": solution_table(85, 100, "the source notebook with its solutions"),
         "solutions.starter": solution_table(0, 30, "the release version as shipped",
                                             same_as_starter=True)}).encode()
    return draft
