"""The ``notebook`` kind: bundle rules, host-side reading of untrusted results, the harness's
cell restoring, and every bundled solution through the real sandbox."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle_types import Bundle
from heldout.graders.errors import BundleError
from heldout.graders.kinds.notebook import read_submission
from heldout.graders.kinds.notebook.config import EXECUTED_ARTEFACT, HARNESS_SOURCE

REPO = Path(__file__).resolve().parents[2]
EDA = REPO / "challenges" / "churn-eda-notebook"
HARNESS = HARNESS_SOURCE

TOML = """\
title = "Tiny notebook"
kind = "notebook"
summary = "A tiny notebook bundle for tests."
skills = ["pandas"]
difficulty = "easy"
expected_minutes = 5

[submission]
entrypoint = "analysis.ipynb"

[limits]
wall_seconds = 60

[grading]
clean_points = {clean}
cell_timeout = 10
total_timeout = 30
answers = "answers.json"
"""


def _meta(grade_id: str, **fields: Any) -> dict[str, Any]:
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "grade": False,
                         "locked": False, "solution": False, **fields}}


def _starter() -> Any:
    answer = nbformat.v4.new_code_cell("answer = None", metadata=_meta("answer", solution=True))
    test = nbformat.v4.new_code_cell("assert answer is not None",
                                     metadata=_meta("test", grade=True, locked=True, points=20))
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Tiny", metadata=_meta("intro", locked=True)),
        answer, test])


def _tiny(root: Path, *, clean: int = 10, starter: Any = None, answers: Any = None) -> Path:
    for name in ("public", "hidden", "starter"):
        (root / name).mkdir(parents=True)
    (root / "challenge.toml").write_text(TOML.format(clean=clean))
    (root / "statement.md").write_text("# Tiny\n\nSet `answer`.\n")
    nbformat.write(starter if starter is not None else _starter(), root / "starter" / "analysis.ipynb")
    (root / "hidden" / "answers.json").write_text(json.dumps(
        answers if answers is not None else {"answer": {"expected": 42, "points": 70}}))
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Bundle:
    return load_bundle(_tiny(tmp_path / "challenges" / "tiny"))


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("heldout_notebook_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _submission(tmp_path: Path, text: str | bytes) -> Path:
    directory = tmp_path / "submission"
    directory.mkdir(exist_ok=True)
    path = directory / "analysis.ipynb"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return directory


def _report(cells: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"done": True, "problem": None, "restored": [], "reinserted": [],
                       "export": None, "cells": cells, **extra}).encode()


def _cell(index: int, status: str = "ok", grade_id: str | None = None,
          error: str = "", first_line: str = "x = 1") -> dict[str, Any]:
    return {"index": index, "type": "code", "grade_id": grade_id, "first_line": first_line,
            "status": status, "error": error}


def _checks(evaluation: Any) -> dict[str, Any]:
    return {check.name: check for check in evaluation.checks}


# Bundle rules


def test_the_points_must_add_up_to_100(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"the points add up to 95, not 100"):
        load_bundle(_tiny(tmp_path / "challenges" / "tiny", clean=5))


def test_a_graded_cell_must_be_locked_code(tmp_path: Path) -> None:
    starter = _starter()
    starter.cells[2].metadata["nbgrader"]["locked"] = False
    with pytest.raises(BundleError, match=r"cell 3 \(test\): a graded cell must be a locked code"):
        load_bundle(_tiny(tmp_path / "challenges" / "tiny", starter=starter))


def test_manually_graded_answer_cells_are_refused(tmp_path: Path) -> None:
    starter = _starter()
    starter.cells[1].metadata["nbgrader"].update(grade=True, points=5)
    with pytest.raises(BundleError, match=r"manually graded answer cells"):
        load_bundle(_tiny(tmp_path / "challenges" / "tiny", starter=starter))


def test_duplicate_grade_ids_and_bad_expected_values_are_refused(tmp_path: Path) -> None:
    starter = _starter()
    starter.cells[1].metadata["nbgrader"]["grade_id"] = "test"
    with pytest.raises(BundleError, match=r"grade_id 'test' appears twice"):
        load_bundle(_tiny(tmp_path / "one", starter=starter))
    with pytest.raises(BundleError, match=r"hidden/answers.json: 'answer': expected"):
        load_bundle(_tiny(tmp_path / "two", answers={
            "answer": {"expected": {"$pickle": "x"}, "points": 70}}))


def test_the_bundled_challenge_loads_with_its_starter_cells() -> None:
    bundle = load_bundle(EDA)
    config = bundle.grading
    graded = [cell.grade_id for cell in config.graded_cells]  # type: ignore[attr-defined]
    assert graded == ["test-answers", "test-saved", "test-predictions"]
    assert [a.key for a in config.answers] == [  # type: ignore[attr-defined]
        "median_tenure_churned", "month_to_month_churn_rate", "riskiest_payment_method"]


def test_the_generator_reproduces_the_committed_files() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_notebook_challenge.py"),
                           "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# The submission, read on the host


@pytest.mark.parametrize(("text", "reason"), [
    ('{"cells": [', "not a valid notebook"),
    ('{"cells": "none", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "not a valid notebook"),
    ("{" * 50000, "not a valid notebook"),
    (b"\xff\xfe{", "not UTF-8"),
])
def test_malformed_notebooks_are_graded_zero_without_running(
        tiny: Bundle, tmp_path: Path, fake_sandbox: Callable[..., Any], text: str | bytes,
        reason: str) -> None:
    sandbox = fake_sandbox()
    evaluation = evaluate(tiny, _submission(tmp_path, text), sandbox=sandbox)
    assert evaluation.status == "graded" and evaluation.score == 0
    assert [c.name for c in evaluation.checks] == ["notebook"]
    assert reason in evaluation.checks[0].detail and not evaluation.checks[0].passed
    assert sandbox.specs == []


def test_a_percent_script_is_run_as_a_script(tmp_path: Path) -> None:
    path = tmp_path / "analysis.ipynb"
    path.write_text("# %%\nanswer = 42\n\n# %%\nprint(answer)\n")
    submitted = read_submission(path)
    assert submitted.format == "script" and submitted.problem is None
    assert "2 `# %%` cell marker(s)" in submitted.detail


def test_the_harness_gets_locked_cells_and_no_answer(
        tmp_path: Path, fake_sandbox: Callable[..., Any]) -> None:
    seen: dict[str, str] = {}

    class Peeking:
        def __init__(self) -> None:
            self.inner = fake_sandbox()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def run(self, spec: Any, output_dir: Path) -> Any:
            seen.update({p.name: p.read_text() for p in spec.harness.iterdir()})
            assert spec.data == hidden.public_dir
            return self.inner.run(spec, output_dir)

    # A value no cell id can contain by chance (ids are random hex, "42" once matched one).
    hidden = load_bundle(_tiny(tmp_path / "secret" / "tiny",
                               answers={"answer": {"expected": 7.3190561, "points": 70}}))
    evaluate(hidden, _submission(tmp_path, nbformat.writes(_starter())), sandbox=Peeking())
    job = json.loads(seen["job.json"])
    assert sorted(seen) == ["job.json", "notebook_harness.py"]
    assert [entry["grade_id"] for entry in job["locked"]] == ["intro", "test"]
    assert job["order"] == ["intro", "answer", "test"] and job["format"] == "ipynb"
    assert "7.3190561" not in seen["job.json"] and "expected" not in seen["job.json"]


def test_cells_answers_and_the_executed_notebook_read_from_the_run(
        tiny: Bundle, tmp_path: Path, fake_sandbox: Callable[..., Any]) -> None:
    executed = nbformat.writes(_starter()).encode()
    sandbox = fake_sandbox({
        "notebook_run.json": _report([_cell(1, grade_id="answer"), _cell(2, grade_id="test")]),
        "answers.json": b'{"answer": 42.0000000001}', "executed.ipynb": executed})
    evaluation = evaluate(tiny, _submission(tmp_path, nbformat.writes(_starter())), sandbox=sandbox)
    checks = _checks(evaluation)
    assert evaluation.score == 100, evaluation.checks
    assert checks["runs-clean"].detail == "2 code cells ran without error on a fresh kernel"
    assert checks["tests: notebook cells"].score == 20
    assert checks["answers"].detail == "1/1 answers right"
    assert evaluation.artefacts[EXECUTED_ARTEFACT] == executed
    assert "artefacts" not in evaluation.as_dict()


def test_the_failing_cell_is_named_and_points_follow_each_test_cell(
        tiny: Bundle, tmp_path: Path, fake_sandbox: Callable[..., Any]) -> None:
    sandbox = fake_sandbox({
        "notebook_run.json": _report([
            _cell(1, "error", "answer", "NameError: name 'df' is not defined", "answer = df.x"),
            _cell(2, "error", "test", "AssertionError", "assert answer is not None")]),
        "answers.json": b'{"answer": 41}'})
    evaluation = evaluate(tiny, _submission(tmp_path, nbformat.writes(_starter())), sandbox=sandbox)
    checks = _checks(evaluation)
    assert checks["runs-clean"].detail == ("cell 2 `answer = df.x` raised NameError: name 'df' "
                                           "is not defined; 1 more cell(s) failed")
    assert checks["tests: notebook cells"].detail == "0/1 cases passed; test: error: AssertionError"
    assert checks["answers"].detail == "0/1 answers right; 'answer': expected 42, got 41"
    assert evaluation.score == 0


@pytest.mark.parametrize(("files", "clean", "answers"), [
    ({}, "the notebook did not run: /output/notebook_run.json was not written",
     "/output/answers.json was not written"),
    ({"notebook_run.json": b"[" * 100000, "answers.json": b"NaN"},
     "the notebook did not run: /output/notebook_run.json is not JSON",
     "/output/answers.json is not JSON"),
    ({"notebook_run.json": b'{"cells": 3}', "answers.json": b'["answer", 42]'},
     "the run stopped: the harness did not finish", "/output/answers.json must be a JSON object"),
    ({"notebook_run.json": _report([{"index": "0", "status": "ok"}], done=False),
      "answers.json": b'{"answer": {"$file": "/etc/passwd"}}'},
     "the run stopped: the harness did not finish", "unreadable"),
])
def test_forged_or_missing_results_are_graded(
        tiny: Bundle, tmp_path: Path, fake_sandbox: Callable[..., Any],
        files: dict[str, bytes], clean: str, answers: str) -> None:
    evaluation = evaluate(tiny, _submission(tmp_path, nbformat.writes(_starter())),
                          sandbox=fake_sandbox(files))
    checks = _checks(evaluation)
    assert evaluation.status == "graded" and evaluation.score == 0
    assert checks["runs-clean"].detail == clean
    assert answers in checks["answers"].detail
    assert checks["tests: notebook cells"].score == 0


def test_a_forged_executed_notebook_is_not_kept(
        tiny: Bundle, tmp_path: Path, fake_sandbox: Callable[..., Any]) -> None:
    sandbox = fake_sandbox({"executed.ipynb": b'{"not": "a notebook"}'})
    evaluation = evaluate(tiny, _submission(tmp_path, nbformat.writes(_starter())), sandbox=sandbox)
    assert dict(evaluation.artefacts) == {}


# The harness's preparation (run on the host here: it needs nbformat alone)


def _prepared(cells: list[Any]) -> tuple[Any, list[str], list[str]]:
    harness = _harness()
    starter = _starter()
    locked = [{"grade_id": c.metadata["nbgrader"]["grade_id"], "cell": c}
              for c in starter.cells if c.metadata["nbgrader"]["locked"]]
    order = [c.metadata["nbgrader"]["grade_id"] for c in starter.cells]
    notebook = nbformat.v4.new_notebook(cells=cells)
    restored, reinserted = harness.restore_locked(notebook, json.loads(json.dumps(locked)), order)
    return notebook, restored, reinserted


def test_an_edited_locked_cell_is_restored_and_editor_metadata_is_not_an_edit() -> None:
    starter = _starter()
    edited = nbformat.v4.new_code_cell("pass", metadata=starter.cells[2].metadata)
    intro = starter.cells[0]
    intro.metadata["collapsed"] = True
    notebook, restored, reinserted = _prepared([intro, starter.cells[1], edited])
    assert restored == ["test"] and reinserted == []
    assert notebook.cells[2].source == "assert answer is not None"
    assert notebook.cells[2].id == edited.id  # ids stay unique in the candidate's notebook


def test_a_deleted_locked_cell_is_reinserted_after_the_answer() -> None:
    starter = _starter()
    extra = nbformat.v4.new_code_cell("answer = 42")
    stripped = nbformat.v4.new_code_cell("assert True")  # the test cell with its metadata gone
    notebook, restored, reinserted = _prepared([starter.cells[1], extra, stripped])
    assert reinserted == ["intro", "test"] and restored == []
    assert [c.source for c in notebook.cells] == [
        "# Tiny", "answer = None", "answer = 42", "assert True", "assert answer is not None"]


def test_a_copied_grade_id_earns_nothing() -> None:
    starter = _starter()
    copy = nbformat.v4.new_code_cell("assert True", metadata=starter.cells[2].metadata)
    notebook, _, _ = _prepared([*starter.cells, copy])
    assert "nbgrader" not in notebook.cells[3].metadata


def test_outputs_in_the_file_are_discarded() -> None:
    harness = _harness()
    cell = nbformat.v4.new_code_cell("1", execution_count=7, outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": "<script>x</script>" * 10})])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    harness.discard_outputs(notebook)
    assert notebook.cells[0].outputs == [] and notebook.cells[0].execution_count is None


# Every bundled solution, through the real sandbox


@pytest.mark.docker
@pytest.mark.parametrize("case", ["reference", "starter", "wrong-subset", "out-of-order"])
def test_bundled_solutions_score_in_their_ranges(sandbox_image: str, case: str) -> None:
    bundle = load_bundle(EDA)
    solution = bundle.solution(case)
    evaluation = evaluate(bundle, solution.path)
    assert evaluation.status == "graded", evaluation.error
    assert evaluation.score is not None and solution.accepts(evaluation.score), evaluation.checks
    executed = nbformat.reads(evaluation.artefacts[EXECUTED_ARTEFACT].decode(), as_version=4)
    # The executed notebook holds this run's outputs, not the ones saved in the file.
    assert all(out.get("text") != "ok\n" for c in executed.cells if c.cell_type == "code"
               for out in c.outputs)
    checks = _checks(evaluation)
    if case == "out-of-order":
        assert "raised NameError: name 'features' is not defined" in checks["runs-clean"].detail
    if case == "wrong-subset":
        assert "'month_to_month_churn_rate': expected 0.392095" in checks["answers"].detail


@pytest.mark.docker
def test_public_checks_compare_no_hidden_value(sandbox_image: str) -> None:
    bundle = load_bundle(EDA)
    evaluation = evaluate(bundle, bundle.solution("wrong-subset").path, split="public")
    assert evaluation.status == "graded" and evaluation.split == "public"
    checks = _checks(evaluation)
    assert checks["answers"].detail == "3/3 answers given" and checks["answers"].score == 30
    assert checks["predictions"].score == 40 and "roc_auc" not in checks
    assert evaluation.score == 100 and dict(evaluation.metrics) == {}


@pytest.mark.docker
def test_a_percent_script_without_test_cells_gets_them_back(sandbox_image: str,
                                                            tmp_path: Path) -> None:
    reference = nbformat.read(EDA / "solutions" / "reference" / "analysis.ipynb", as_version=4)
    script = "".join(f"# %%\n{cell.source}\n\n" for cell in reference.cells
                     if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("locked"))
    path = tmp_path / "analysis.py"
    path.write_text(script)
    evaluation = evaluate(load_bundle(EDA), path)
    checks = _checks(evaluation)
    assert evaluation.status == "graded", evaluation.error
    assert checks["notebook"].detail.startswith("a percent-format script (4 `# %%`")
    assert "re-inserted before the run: intro, explore, test-answers, test-saved" in \
        checks["locked-cells"].detail
    assert checks["tests: notebook cells"].score == 15 and evaluation.score == 100
