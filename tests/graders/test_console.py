"""The run console: what the candidate types is parsed as data; each kind's run in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.console import CONSOLE_ARTEFACT
from heldout.graders.console_input import (
    MAX_INPUT_CHARS,
    ConsoleInputError,
    ConsoleRequest,
    parse_arguments,
    parse_request,
)
from heldout.graders.result import Evaluation
from heldout.sandbox.spec import JobSpec, RunResult
from tests.graders.conftest import FakeSandbox

CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"


def shown(evaluation: Evaluation) -> dict[str, Any]:
    assert evaluation.status == "graded", evaluation.error
    assert evaluation.split == "public" and not evaluation.checks
    data: dict[str, Any] = json.loads(evaluation.artefacts[CONSOLE_ARTEFACT])
    return data


# --- parsing, on the host, as data ------------------------------------------------------

def test_arguments_read_as_python_or_json_literals() -> None:
    assert parse_arguments('[0, 1], [0.2, 0.9], name="x"') == (
        ([0, 1], [0.2, 0.9]), {"name": "x"})
    assert parse_arguments('{"a": [true, null]}, -3, (1, 2)') == (
        ({"a": [True, None]}, -3, [1, 2]), {})
    assert parse_arguments("") == ((), {})


@pytest.mark.parametrize("typed, says", [
    ("__import__('os').system('id')", "is not a literal"),
    ("open('/etc/passwd')", "is not a literal"),
    ("1 + 2", "is not a literal"),
    ("x", "is not a literal"),
    ("1), print(2", "as in a call"),
    ("[1, 2", "could not be read"),
    ("*[1, 2]", "can't be unpacked"),
    ("**{'a': 1}", "can't be unpacked"),
    ("{1: 2}", "keys must be strings"),
    ("1e999", "Infinite or NaN"),
    ("[" * 60 + "]" * 60, "nest deeper"),
    ("[" * 500 + "]" * 500, "could not be read"),
])
def test_anything_but_literals_is_refused_with_a_reason(typed: str, says: str) -> None:
    with pytest.raises(ConsoleInputError, match=says.replace("(", r"\(").replace("*", r"\*")):
        parse_arguments(typed)


def test_the_form_per_kind_and_its_refusals() -> None:
    call = parse_request("function", {"function": "roc_auc", "arguments": "[0, 1], [0.1, 0.9]"})
    assert call == ConsoleRequest.from_dict(call.as_dict())
    assert call.args == ([0, 1], [0.1, 0.9])
    with pytest.raises(ConsoleInputError, match="Name the function"):
        parse_request("function", {"function": "os.system", "arguments": ""})
    with pytest.raises(ConsoleInputError, match="Type a query"):
        parse_request("sql", {"query": "  "})
    with pytest.raises(ConsoleInputError, match="characters long"):
        parse_request("sql", {"query": "select 1 " * MAX_INPUT_CHARS})
    with pytest.raises(ConsoleInputError, match="not JSON"):
        parse_request("deployment", {"method": "POST", "path": "/predict", "body": "{age: 3}"})
    with pytest.raises(ConsoleInputError, match="start with /"):
        parse_request("deployment", {"method": "GET", "path": "http://example.com/"})
    with pytest.raises(ConsoleInputError, match="method must be"):
        parse_request("deployment", {"method": "CONNECT", "path": "/"})
    assert parse_request("model_training", {}).mode == "run"


# --- each kind, through the real sandbox --------------------------------------------------

@pytest.mark.docker
def test_sql_query_on_the_public_tables_first_rows_and_a_count(sandbox_image: str) -> None:
    bundle = load_bundle(CHALLENGES / "retention-cohorts")
    request = parse_request("sql", {"query": "SELECT user_id, country, NULL AS nothing, "
                                             "repeat('x', 5000) AS long FROM users ORDER BY user_id"})
    result = shown(evaluate(bundle, bundle.solution("reference").path, console=request))
    public_users = len((CHALLENGES / "retention-cohorts/public/users.csv")
                       .read_text().splitlines()) - 1
    assert [c["name"] for c in result["columns"]] == ["user_id", "country", "nothing", "long"]
    assert result["columns"][0]["type"] in ("INTEGER", "BIGINT")
    assert result["shown_rows"] == min(100, public_users) == len(result["rows"])
    assert result["row_count"] == public_users
    assert result["rows"][0][0] == 1 and result["rows"][0][2] is None
    assert result["rows"][0][3] == {"$truncated": "x" * 1000}


@pytest.mark.docker
def test_sql_console_keeps_the_grading_lock(sandbox_image: str) -> None:
    """No file is read from the query, whatever it asks: the database is the public tables."""
    bundle = load_bundle(CHALLENGES / "retention-cohorts")
    request = parse_request("sql", {"query": "SELECT * FROM read_csv_auto('/harness/db/users.csv')"})
    result = shown(evaluate(bundle, bundle.solution("reference").path, console=request))
    assert "rows" not in result and "disabled" in result["error"].lower()


@pytest.mark.docker
def test_function_call_with_typed_arguments(sandbox_image: str) -> None:
    bundle = load_bundle(CHALLENGES / "metrics-from-scratch")
    request = parse_request("function", {"function": "roc_auc",
                                         "arguments": "[0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]"})
    result = shown(evaluate(bundle, bundle.solution("reference").path, console=request))
    assert json.loads(result["value"]) == 0.75
    missing = parse_request("function", {"function": "nope", "arguments": ""})
    result = shown(evaluate(bundle, bundle.solution("reference").path, console=missing))
    assert "nope is not defined" in result["error"]


@pytest.mark.docker
def test_model_training_runs_the_entrypoint_and_shows_its_output(sandbox_image: str) -> None:
    bundle = load_bundle(CHALLENGES / "churn-prediction")
    evaluation = evaluate(bundle, bundle.solution("reference").path,
                          console=parse_request("model_training", {}))
    result = shown(evaluation)
    assert result["command"] == f"python {bundle.submission.entrypoint}"
    assert evaluation.run is not None and evaluation.run.exit_code == 0
    assert "cross-validated ROC AUC" in evaluation.run.stdout_tail


@pytest.mark.docker
def test_notebook_runs_top_to_bottom_with_cell_outputs(sandbox_image: str) -> None:
    bundle = load_bundle(CHALLENGES / "churn-eda-notebook")
    result = shown(evaluate(bundle, bundle.solution("reference").path,
                            console=parse_request("notebook", {})))
    assert result["cells"] and not any(cell["error"] for cell in result["cells"])
    broken = shown(evaluate(bundle, bundle.solution("out-of-order").path,
                            console=parse_request("notebook", {})))
    assert any(cell["error"] and "NameError" in cell["text"] for cell in broken["cells"])


@pytest.mark.docker
def test_deployment_request_reaches_the_service(sandbox_image: str) -> None:
    bundle = load_bundle(CHALLENGES / "churn-service")
    line = (CHALLENGES / "churn-service/public/requests.jsonl").read_text().splitlines()[0]
    body = json.dumps(json.loads(line)["body"])
    request = parse_request("deployment", {"method": "POST", "path": "/predict", "body": body})
    result = shown(evaluate(bundle, bundle.solution("reference").path, console=request))
    assert result["response"]["status"] == 200, result
    assert "application/json" in result["response"]["content_type"]
    assert json.loads(result["response"]["body"])
    health = shown(evaluate(bundle, bundle.solution("reference").path,
                            console=parse_request("deployment", {"method": "GET",
                                                                 "path": "/nowhere"})))
    assert health["response"]["status"] == 404


class _Recording(FakeSandbox):
    """Keeps what each job of a console run could read: its data mount and harness files."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[Path | None, dict[str, bytes]]] = []

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        harness = {} if spec.harness is None else {
            p.relative_to(spec.harness).as_posix(): p.read_bytes()
            for p in spec.harness.rglob("*") if p.is_file()}
        self.seen.append((spec.data, harness))
        return super().run(spec, output_dir)


@pytest.mark.parametrize("slug, fields", [
    ("retention-cohorts", {"query": "SELECT 1"}),
    ("metrics-from-scratch", {"function": "roc_auc", "arguments": "[0, 1], [0.1, 0.9]"}),
    ("churn-service", {"method": "GET", "path": "/health"}),
    ("churn-prediction", {}),
    ("churn-eda-notebook", {}),
    ("late-delivery-features", {}),
])
def test_a_console_run_reads_public_data_only(slug: str, fields: dict[str, str]) -> None:
    bundle = load_bundle(CHALLENGES / slug)
    sandbox = _Recording()
    evaluation = evaluate(bundle, bundle.solution("reference").path, sandbox=sandbox,
                          console=parse_request(bundle.kind, fields))
    assert evaluation.status == "graded" and evaluation.split == "public", evaluation.error
    assert sandbox.seen
    hidden = {p.read_bytes() for p in bundle.hidden_dir.rglob("*") if p.is_file()}
    for data, harness in sandbox.seen:
        assert data in (None, bundle.public_dir)
        assert not [name for name, content in harness.items() if content in hidden]
    if slug == "retention-cohorts":
        [(_, harness)] = sandbox.seen
        assert harness["db/users.csv"] == (bundle.public_dir / "users.csv").read_bytes()
