"""``heldout grade`` and ``heldout challenges``: exit codes, JSON shapes, tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from heldout.graders.cli import challenges_group, grade_command, graders_cli
from heldout.sandbox import backend
from heldout.sandbox.errors import SandboxError


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def use_sandbox(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the given stand-in the backend ``HELDOUT_SANDBOX_BACKEND`` chooses."""
    def install(sandbox: Any) -> Any:
        monkeypatch.setitem(backend._BACKENDS, "test-stand-in", lambda settings: sandbox)
        monkeypatch.setenv("HELDOUT_SANDBOX_BACKEND", "test-stand-in")
        return sandbox
    return install


@pytest.mark.parametrize("args", [
    [],
    ["churn-prediction"],
    ["churn-prediction", "/no/such/submission"],
    ["no-such-challenge", "."],
    ["Not A Slug", "."],
    ["./no/such/bundle", "."],
    ["churn-prediction", ".", "--jsn"],
])
def test_usage_errors_exit_2(cli: CliRunner, args: list[str]) -> None:
    result = cli.invoke(grade_command, args)
    assert result.exit_code == 2, result.output
    assert "Error" in result.output or "Usage" in result.output


def test_unknown_slug_lists_known_ones(cli: CliRunner, bundle_dir: Path) -> None:
    result = cli.invoke(grade_command, ["tony", ".", "--challenges-dir", str(bundle_dir.parent)])
    assert result.exit_code == 2
    assert "no challenge 'tony'" in result.output and "known: tiny" in result.output


def test_grade_json(cli: CliRunner, bundle_dir: Path, submission: Path, use_sandbox: Any,
                    sandbox_writing: Any, good_predictions: str) -> None:
    use_sandbox(sandbox_writing(good_predictions))
    result = cli.invoke(grade_command, [str(bundle_dir), str(submission), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["challenge"] == "tiny" and data["status"] == "graded" and data["score"] == 100
    assert [c["name"] for c in data["checks"]] == ["run", "predictions", "roc_auc"]


def test_grade_table_for_people(cli: CliRunner, bundle_dir: Path, submission: Path,
                                use_sandbox: Any, fake_sandbox: Any) -> None:
    use_sandbox(fake_sandbox(exit_code=1, stderr_tail="ValueError: bad\n"))
    result = cli.invoke(graders_cli, ["grade", "tiny", str(submission),
                                      "--challenges-dir", str(bundle_dir.parent)])
    assert result.exit_code == 0, result.output  # graded, whatever the score
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tiny (sha256:") and lines[0].endswith("graded  score 0/100")
    assert "FAIL  run          run     0/0    exited with code 1: ValueError: bad" in result.stdout
    assert "FAIL  roc_auc      metric  0/100  not computed: no valid predictions" in result.stdout


def test_internal_error_exits_1(cli: CliRunner, bundle_dir: Path, submission: Path,
                                use_sandbox: Any, fake_sandbox: Any) -> None:
    use_sandbox(fake_sandbox(error=SandboxError("no engine")))
    result = cli.invoke(grade_command, [str(bundle_dir), str(submission), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["status"] == "internal_error" and data["score"] is None
    assert data["error"] == "sandbox: no engine"


def test_list_json_of_the_repository(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELDOUT_CHALLENGES_DIR", raising=False)
    result = cli.invoke(challenges_group, ["list", "--json"])
    assert result.exit_code == 0, result.output
    bundles = {b["slug"]: b for b in json.loads(result.stdout)}
    churn = bundles["churn-prediction"]
    assert churn["kind"] == "model_training" and churn["entrypoint"] == "solution.py"
    assert churn["version"].startswith("sha256:") and churn["title"]
    assert churn["profile"] == "default"
    assert bundles["shape-classifier"]["profile"] == "deep-learning"


def test_list_from_the_environment_and_broken_bundles(cli: CliRunner, bundle_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_CHALLENGES_DIR", str(bundle_dir.parent))
    result = cli.invoke(challenges_group, ["list"])
    assert result.exit_code == 0
    assert "tiny" in result.stdout and "model_training" in result.stdout

    (bundle_dir.parent / "broken").mkdir()
    result = cli.invoke(challenges_group, ["list", "--json"])
    assert result.exit_code == 1
    assert [b["slug"] for b in json.loads(result.stdout)] == ["tiny"]
    assert "broken/challenge.toml: missing" in result.stderr


def test_validate_the_repository(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELDOUT_CHALLENGES_DIR", raising=False)
    result = cli.invoke(challenges_group, ["validate"])
    assert result.exit_code == 0, result.output
    assert "ok     churn-prediction  sha256:" in result.stdout


def test_validate_reports_every_problem(cli: CliRunner, bundle_dir: Path) -> None:
    root = bundle_dir.parent
    (bundle_dir / "solutions" / "good" / "notes.txt").write_text("hm")
    other = root / "other"
    other.mkdir()
    (other / "challenge.toml").write_text('title = "x"\n')
    result = cli.invoke(challenges_group, ["validate", "--challenges-dir", str(root)])
    assert result.exit_code == 1
    assert "solutions/good/: not a valid submission: files not accepted" in result.stderr
    assert "other/challenge.toml: kind: missing" in result.stderr
    assert "0 of 2 bundle(s) valid" in result.stdout


def test_check_passes_within_ranges(cli: CliRunner, bundle_dir: Path, use_sandbox: Any,
                                    sandbox_writing: Any, good_predictions: str) -> None:
    use_sandbox(sandbox_writing(good_predictions))
    result = cli.invoke(challenges_group, ["check", "--challenges-dir", str(bundle_dir.parent)])
    assert result.exit_code == 0, result.output
    assert "tiny       good  90-100    100    ok" in result.stdout
    assert "1 of 1 ok" in result.stdout


def test_check_fails_outside_ranges(cli: CliRunner, bundle_dir: Path, use_sandbox: Any,
                                    fake_sandbox: Any) -> None:
    use_sandbox(fake_sandbox(timed_out=True, limit="time", exit_code=137))
    result = cli.invoke(challenges_group, ["check", "tiny",
                                           "--challenges-dir", str(bundle_dir.parent)])
    assert result.exit_code == 1
    assert "OUT OF RANGE" in result.stdout
    assert "run: stopped after the 5 s time limit" in result.stdout


def test_check_unknown_slug_is_a_usage_error(cli: CliRunner, bundle_dir: Path) -> None:
    result = cli.invoke(challenges_group, ["check", "nope",
                                           "--challenges-dir", str(bundle_dir.parent)])
    assert result.exit_code == 2
