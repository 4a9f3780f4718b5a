"""Attacks on the ``notebook`` kind through the real sandbox.

A candidate's notebook edits or deletes the locked test cells, hangs a cell (ignoring
interrupts too), kills its kernel or the harness, ships output bombs in the file or prints
one at run time, sends a broken notebook, and hunts for the hidden answers. Each ends
graded, with the reason named; the answers stay out of reach.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.kinds.notebook.config import EXECUTED_ARTEFACT
from heldout.graders.result import Check, Evaluation

pytestmark = pytest.mark.docker

EDA = Path(__file__).resolve().parents[2] / "challenges" / "churn-eda-notebook"


@pytest.fixture
def tokens() -> dict[str, str]:
    return {name: f"heldout-{name}-{secrets.token_hex(10)}" for name in ("canary", "control")}


@pytest.fixture
def bundle(sandbox_image: str, tmp_path: Path, tokens: dict[str, str]) -> Bundle:
    """The bundled challenge with short cell limits, a canary in its hidden answers and a
    control token in its public data (the hunt must find the control to count)."""
    root = tmp_path / "challenges" / "churn-eda-notebook"
    shutil.copytree(EDA, root)
    toml = root / "challenge.toml"
    toml.write_text(toml.read_text().replace("cell_timeout = 60", "cell_timeout = 6")
                    .replace("total_timeout = 150", "total_timeout = 60")
                    .replace("wall_seconds = 200", "wall_seconds = 100"))
    answers = json.loads((root / "hidden" / "answers.json").read_text())
    answers["riskiest_payment_method"]["question"] = tokens["canary"]
    (root / "hidden" / "answers.json").write_text(json.dumps(answers))
    (root / "public" / "control.txt").write_text(tokens["control"] + "\n")
    return load_bundle(root)


def _reference() -> Any:
    return nbformat.read(EDA / "solutions" / "reference" / "analysis.ipynb", as_version=4)


def _starter() -> Any:
    return nbformat.read(EDA / "starter" / "analysis.ipynb", as_version=4)


def _index(notebook: Any, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _grade(bundle: Bundle, tmp_path: Path, notebook: Any | str | bytes) -> Evaluation:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    if isinstance(notebook, str | bytes):
        data = notebook.encode() if isinstance(notebook, str) else notebook
    else:
        data = nbformat.writes(notebook).encode()
    (submission / "analysis.ipynb").write_bytes(data)
    evaluation = evaluate(bundle, submission)
    assert evaluation.status == "graded", evaluation.error
    return evaluation


def _checks(evaluation: Evaluation) -> dict[str, Check]:
    return {check.name: check for check in evaluation.checks}


def _executed(evaluation: Evaluation) -> str:
    return evaluation.artefacts[EXECUTED_ARTEFACT].decode()


def test_edited_test_cells_are_restored_before_the_run(bundle: Bundle, tmp_path: Path) -> None:
    notebook = _starter()
    for grade_id in ("test-answers", "test-predictions"):
        notebook.cells[_index(notebook, grade_id)].source = "pass  # nothing to test"
    notebook.cells[_index(notebook, "test-saved")].metadata["tags"] = ["skip-execution"]
    checks = _checks(_grade(bundle, tmp_path, notebook))
    assert checks["locked-cells"].detail == ("edited, restored before the run: test-answers, "
                                             "test-saved, test-predictions")
    # The starter's placeholders fail the restored tests, as they do unedited.
    assert checks["tests: notebook cells"].score == 5
    assert "test-answers: error: AssertionError" in checks["tests: notebook cells"].detail


def test_deleted_test_cells_are_reinserted(bundle: Bundle, tmp_path: Path) -> None:
    notebook = _reference()
    for grade_id in ("test-predictions", "test-answers"):
        del notebook.cells[_index(notebook, grade_id)]
    evaluation = _grade(bundle, tmp_path, notebook)
    checks = _checks(evaluation)
    assert checks["locked-cells"].detail == ("deleted, re-inserted before the run: "
                                             "test-answers, test-predictions")
    assert checks["tests: notebook cells"].detail == "3/3 cases passed"
    assert evaluation.score == 100
    # Each goes back before the next nbgrader cell of the starter still there: test-answers
    # before test-saved (after the candidate's save cell), test-predictions at the end.
    executed = nbformat.reads(_executed(evaluation), as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in executed.cells]
    assert ids[4:7] == [None, "test-answers", "test-saved"] and ids[-2] == "test-predictions"


@pytest.mark.parametrize("loop", [
    "while True:\n    pass",
    "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(1)",
])
def test_a_cell_that_never_ends_is_stopped_and_named(bundle: Bundle, tmp_path: Path,
                                                     loop: str) -> None:
    notebook = _reference()
    notebook.cells.insert(2, nbformat.v4.new_code_cell(loop))
    evaluation = _grade(bundle, tmp_path, notebook)
    checks = _checks(evaluation)
    first = loop.splitlines()[0]
    assert checks["runs-clean"].detail == (f"cell 3 `{first}` timed out: still running after "
                                           "6 s (the per-cell limit)")
    assert "not run: an earlier cell timed out" in checks["tests: notebook cells"].detail
    assert checks["answers"].detail.startswith("/output/answers.json was not written")
    assert evaluation.run is not None and evaluation.run.wall_seconds < 60


@pytest.mark.parametrize(("kill", "expect"), [
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
     "cell 3 `import os, signal` killed the kernel: the kernel died (crashed, killed or out "
     "of memory)"),
    ("import os\nos._exit(0)", "cell 3 `import os` killed the kernel: the kernel died"),
    ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
     "the run stopped before cell 3 `import os, signal`: was killed by SIGKILL"),
])
def test_a_cell_that_kills_the_kernel_or_the_harness_is_graded(
        bundle: Bundle, tmp_path: Path, kill: str, expect: str) -> None:
    notebook = _reference()
    notebook.cells.insert(2, nbformat.v4.new_code_cell(kill))
    evaluation = _grade(bundle, tmp_path, notebook)
    checks = _checks(evaluation)
    assert checks["runs-clean"].detail.startswith(expect), checks["runs-clean"].detail
    assert checks["answers"].score == 0 and evaluation.score is not None
    assert evaluation.score <= 5


def test_output_bombs_in_the_file_are_discarded(bundle: Bundle, tmp_path: Path) -> None:
    marker = secrets.token_hex(8)
    notebook = _reference()
    bomb = f"<script>alert('{marker}')</script>" + "<div>" * 20000
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.execution_count = 99
            cell.outputs = [nbformat.v4.new_output("display_data",
                                                   data={"text/html": bomb, "text/plain": marker})]
            break
    evaluation = _grade(bundle, tmp_path, notebook)
    assert evaluation.score == 100
    assert marker not in _executed(evaluation)


def test_an_output_flood_at_run_time_is_capped(bundle: Bundle, tmp_path: Path) -> None:
    notebook = _reference()
    notebook.cells.insert(2, nbformat.v4.new_code_cell(
        "for _ in range(40):\n    print('y' * 100_000)"))
    evaluation = _grade(bundle, tmp_path, notebook)
    assert evaluation.score == 100
    executed = _executed(evaluation)
    assert "[output over 256 KB dropped by the grader]" in executed
    assert len(executed) < 1_000_000


@pytest.mark.parametrize(("text", "reason"), [
    ('{"cells": [{"cell_type": "code", "source": "1"', "analysis.ipynb is not a valid notebook"),
    ('{"cells": [{"cell_type": "shell"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "analysis.ipynb is not a valid notebook"),
    ('{"nbformat": 99}', "analysis.ipynb is not a valid notebook"),
])
def test_a_malformed_notebook_is_a_clear_graded_error(bundle: Bundle, tmp_path: Path,
                                                      text: str, reason: str) -> None:
    evaluation = _grade(bundle, tmp_path, text)
    assert evaluation.score == 0 and evaluation.run is None
    assert evaluation.checks[0].name == "notebook"
    assert evaluation.checks[0].detail.startswith(f"not run: {reason}")


HUNT = """\
import os
found = {"control": [], "canary": [], "listing": []}
wanted = {"control": CONTROL, "canary": CANARY}


def look(text, where):
    for name, token in wanted.items():
        if token in text:
            found[name].append(where)


for key, value in os.environ.items():
    look(f"{key}={value}", "env:" + key)
for pid in os.listdir("/proc"):
    for part in ("environ", "cmdline"):
        try:
            look(open(f"/proc/{pid}/{part}", "rb").read().decode("utf-8", "replace"), f"/proc/{pid}/{part}")
        except OSError:
            pass
for top in ("/data", "/harness", "/workspace", "/output", "/tmp", "/home", "/root", "/etc",
            "/run", "/opt", "/srv", "/mnt", "/var", "/"):
    for dirpath, dirnames, filenames in os.walk(top):
        if top == "/":
            dirnames[:] = []
        found["listing"].append(dirpath)
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                if os.path.getsize(path) < 4_000_000:
                    look(open(path, "rb").read().decode("utf-8", "replace"), path)
            except OSError:
                pass
print(json.dumps({name: sorted(set(where)) for name, where in found.items() if name != "listing"}))
"""


def test_hunting_for_hidden_answers_finds_only_public_data(
        bundle: Bundle, tmp_path: Path, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_ADVERSARIAL_SECRET", tokens["canary"])
    notebook = _reference()
    source = (f"CONTROL = {tokens['control']!r}[::-1][::-1]\n"
              f"CANARY = {tokens['canary'][::-1]!r}[::-1]\n" + HUNT)
    notebook.cells.insert(2, nbformat.v4.new_code_cell(source))
    evaluation = _grade(bundle, tmp_path, notebook)
    executed = nbformat.reads(_executed(evaluation), as_version=4)
    printed = "".join(out.get("text", "") for out in executed.cells[2].outputs)
    report = json.loads(printed.strip().splitlines()[-1])
    assert "/data/control.txt" in report["control"]
    # The cell builds the canary from a reversed copy, so only a real leak would be found.
    assert report["canary"] == [], report
    assert evaluation.score == 100
