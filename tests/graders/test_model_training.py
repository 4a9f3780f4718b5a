"""Grading a model_training submission with a stand-in sandbox: every verdict is graded."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.errors import GraderError
from heldout.graders.result import Evaluation
from heldout.sandbox.errors import EngineUnavailable, SandboxError
from heldout.sandbox.spec import JobSpec

WritingSandbox = Callable[[str | bytes], Any]


@pytest.fixture
def bundle(bundle_dir: Path) -> Bundle:
    return load_bundle(bundle_dir)


def check(evaluation: Evaluation, name: str) -> Any:
    return next(c for c in evaluation.checks if c.name == name)


def test_perfect_predictions_score_full_marks(bundle: Bundle, submission: Path,
                                              sandbox_writing: WritingSandbox,
                                              good_predictions: str) -> None:
    sandbox = sandbox_writing(good_predictions)
    result = evaluate(bundle, submission, sandbox=sandbox)
    assert result.status == "graded"
    assert result.score == 100
    assert [c.name for c in result.checks] == ["run", "predictions", "roc_auc"]
    assert all(c.passed for c in result.checks)
    assert result.metrics == {"roc_auc": 1.0}
    assert check(result, "predictions").detail == "6 rows, one finite prediction per test id"
    assert result.run is not None and result.run.exit_code == 0
    assert result.challenge == "tiny" and result.version == bundle.version

    spec: JobSpec = sandbox.specs[0]
    assert spec.command == ("python", "solution.py")
    assert spec.data == bundle.public_dir
    assert spec.limits == bundle.limits
    assert sandbox.workspace_files == ["solution.py"]


def test_metric_maps_linearly_between_baseline_and_target(
        bundle: Bundle, submission: Path, sandbox_writing: WritingSandbox,
        labels: dict[str, int]) -> None:
    # Scores ranking a1..a6: positives a1, a3, a6. One inverted pair of 9 -> AUC 8/9.
    scores = {"a1": 0.9, "a2": 0.1, "a3": 0.8, "a4": 0.85, "a5": 0.2, "a6": 0.95}
    text = "id,p\n" + "".join(f"{i},{scores[i]}\n" for i in labels)
    result = evaluate(bundle, submission, sandbox=sandbox_writing(text))
    expected = round((8 / 9 - 0.5) / (0.9 - 0.5) * 100, 2)
    assert result.score == expected
    metric = check(result, "roc_auc")
    assert metric.passed and metric.score == expected and metric.max_score == 100
    assert "0 at baseline 0.5, all at target 0.9; higher is better" in metric.detail


def test_worse_than_baseline_scores_zero_but_is_graded(
        bundle: Bundle, submission: Path, sandbox_writing: WritingSandbox,
        labels: dict[str, int]) -> None:
    text = "id,p\n" + "".join(f"{i},{0.1 if y else 0.9}\n" for i, y in labels.items())
    result = evaluate(bundle, submission, sandbox=sandbox_writing(text))
    assert result.status == "graded" and result.score == 0
    assert not check(result, "roc_auc").passed
    assert result.metrics["roc_auc"] == 0.0


def test_lower_is_better_metric(tmp_path: Path, bundle_dir: Path, submission: Path,
                                sandbox_writing: WritingSandbox, labels: dict[str, int]) -> None:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace('metric = "roc_auc"', 'metric = "rmse"')
                    .replace("target = 0.9", "target = 0.1"))
    bundle = load_bundle(bundle_dir)
    # Every prediction 0.3 away from its label: rmse 0.3 -> halfway from 0.5 to 0.1.
    text = "id,p\n" + "".join(f"{i},{abs(y - 0.3)}\n" for i, y in labels.items())
    result = evaluate(bundle, submission, sandbox=sandbox_writing(text))
    assert result.metrics["rmse"] == pytest.approx(0.3)
    assert result.score == pytest.approx(50)
    assert "lower is better" in check(result, "rmse").detail


def test_report_metrics_are_recorded_not_scored(bundle_dir: Path, submission: Path,
                                                sandbox_writing: WritingSandbox,
                                                good_predictions: str) -> None:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace('label_column = "y"\n',
                                             'label_column = "y"\nreport_metrics = ["log_loss"]\n'))
    result = evaluate(load_bundle(bundle_dir), submission, sandbox=sandbox_writing(good_predictions))
    assert set(result.metrics) == {"roc_auc", "log_loss"}
    assert [c.name for c in result.checks] == ["run", "predictions", "roc_auc"]


BAD_PREDICTIONS: list[tuple[str, str | bytes | None, str]] = [
    ("empty", "", "/output/predictions.csv is empty"),
    ("blank", "\n\n", "/output/predictions.csv is empty"),
    ("header only", "id,p\n", "6 of 6 test ids have no prediction"),
    ("wrong header", "customer,p\na1,0.1\n",
     "the header is 'customer,p'; it needs the column 'id'"),
    ("no value column", "id,prob\na1,0.1\n", "it needs the column 'p'"),
    ("duplicate column", "id,p,p\na1,1,1\n", "column 'p' appears more than once"),
    ("missing ids", "id,p\na1,0.9\na2,0.1\n",
     "4 of 6 test ids have no prediction (e.g. 'a3', 'a4', 'a5')"),
    ("duplicate ids", None, "1 duplicate id(s) (e.g. 'a1')"),
    ("unknown ids", None, "2 row(s) with ids that are not in the test set (e.g. 'zz', 'A1')"),
    ("nan", None, "1 value(s) of p are NaN or infinite (line 3: 'nan')"),
    ("inf", None, "1 value(s) of p are NaN or infinite (line 2: '-inf')"),
    ("text values", None, "2 value(s) of p are not numbers (line 2: 'yes'; line 5: '')"),
    ("short row", "id,p\na1,0.1\na2\n", "line 3 has 1 fields; the header has 2"),
    ("not utf-8", b"id,p\na1,\xff\xfe\n", "is not UTF-8 text (bad byte at offset 8)"),
    ("nul byte", b"id,p\na1,0.1\x00\n", "1 value(s) of p are not numbers (line 2: '0.1\\x00')"),
    ("bad quoting", 'id,p\n"a1,0.5\n', "is not valid CSV"),
]


def _filled(name: str, labels: dict[str, int]) -> str:
    rows = {i: f"{i},0.5\n" for i in labels}
    if name == "duplicate ids":
        return "id,p\n" + "".join(rows.values()) + "a1,0.7\n"
    if name == "unknown ids":
        return "id,p\n" + "".join(rows.values()) + "zz,0.7\nA1,0.7\n"
    if name == "nan":
        rows["a2"] = "a2,nan\n"
    if name == "inf":
        rows["a1"] = "a1,-inf\n"
    if name == "text values":
        rows["a1"] = "a1,yes\n"
        rows["a4"] = "a4,\n"
    return "id,p\n" + "".join(rows.values())


@pytest.mark.parametrize(("name", "content", "detail"), BAD_PREDICTIONS,
                         ids=[case[0] for case in BAD_PREDICTIONS])
def test_bad_predictions_are_graded_with_a_clear_detail(
        bundle: Bundle, submission: Path, sandbox_writing: WritingSandbox,
        labels: dict[str, int], name: str, content: str | bytes | None, detail: str) -> None:
    text = _filled(name, labels) if content is None else content
    result = evaluate(bundle, submission, sandbox=sandbox_writing(text))
    assert result.status == "graded"
    assert result.score == 0
    predictions = check(result, "predictions")
    assert not predictions.passed
    assert detail in predictions.detail, predictions.detail
    assert check(result, "roc_auc").detail == "not computed: no valid predictions"
    assert check(result, "run").passed


def test_bom_blank_lines_whitespace_and_extra_columns_are_tolerated(
        bundle: Bundle, submission: Path, sandbox_writing: WritingSandbox,
        labels: dict[str, int]) -> None:
    rows = "".join(f" {i} ,{0.9 if y else 0.1},note\r\n\r\n" for i, y in labels.items())
    text = "\ufeffid , p,comment\r\n" + rows
    result = evaluate(bundle, submission, sandbox=sandbox_writing(text))
    assert result.score == 100, result.checks
    assert "ignored columns: comment" in check(result, "predictions").detail


def test_oversized_predictions_are_refused_unread(bundle_dir: Path, submission: Path,
                                                  sandbox_writing: WritingSandbox,
                                                  good_predictions: str) -> None:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace('label_column = "y"\n',
                                             'label_column = "y"\nmax_predictions_mb = 0.0001\n'))
    bundle = load_bundle(bundle_dir)
    big = good_predictions + "x" * 200
    result = evaluate(bundle, submission, sandbox=sandbox_writing(big))
    assert result.score == 0
    assert "over the 104 bytes limit" in check(result, "predictions").detail


def test_missing_predictions_file(bundle: Bundle, submission: Path, fake_sandbox: Any) -> None:
    result = evaluate(bundle, submission, sandbox=fake_sandbox({"other.csv": b"x"}))
    assert result.status == "graded" and result.score == 0
    assert check(result, "predictions").detail == "/output/predictions.csv was not written"


def test_predictions_skipped_by_the_sandbox_say_why(bundle: Bundle, submission: Path,
                                                    fake_sandbox: Any) -> None:
    sandbox = fake_sandbox(skipped_outputs=("predictions.csv (symbolic link, not followed)",))
    result = evaluate(bundle, submission, sandbox=sandbox)
    assert check(result, "predictions").detail == (
        "/output/predictions.csv was not collected: predictions.csv (symbolic link, not followed)")


def test_symlinked_predictions_are_not_followed(bundle: Bundle, submission: Path,
                                                fake_sandbox: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("id,p\n")

    def write(output: Path) -> None:
        os.symlink(secret, output / "predictions.csv")

    result = evaluate(bundle, submission, sandbox=fake_sandbox(write=write))
    assert result.status == "graded" and result.score == 0
    assert "is a symbolic link" in check(result, "predictions").detail


def test_a_directory_named_like_the_predictions_is_refused(bundle: Bundle, submission: Path,
                                                           fake_sandbox: Any) -> None:
    def write(output: Path) -> None:
        (output / "predictions.csv").mkdir()

    result = evaluate(bundle, submission, sandbox=fake_sandbox(write=write))
    assert result.score == 0
    assert "not a regular file" in check(result, "predictions").detail


def test_probabilities_out_of_range_fail_a_probability_metric(
        bundle_dir: Path, submission: Path, sandbox_writing: WritingSandbox,
        labels: dict[str, int]) -> None:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace('metric = "roc_auc"', 'metric = "log_loss"')
                    .replace("baseline = 0.5", "baseline = 0.7")
                    .replace("target = 0.9", "target = 0.2"))
    text = "id,p\n" + "".join(f"{i},{2 * y}\n" for i, y in labels.items())
    result = evaluate(load_bundle(bundle_dir), submission, sandbox=sandbox_writing(text))
    assert result.score == 0
    assert "3 value(s) are outside [0, 1] (e.g. 2)" in check(result, "predictions").detail


@pytest.mark.parametrize(("overrides", "detail"), [
    ({"timed_out": True, "limit": "time", "exit_code": 137, "signal": 9},
     "stopped after the 5 s time limit"),
    ({"oom_killed": True, "limit": "memory", "exit_code": 137, "peak_memory_mb": 255.7},
     "ran out of memory: killed at the 256 MB limit (peak seen 256 MB)"),
    ({"exit_code": 1, "stderr_tail": "Traceback (most recent call last):\n  File x\n"
                                     "KeyError: 'churn'\n"},
     "exited with code 1: KeyError: 'churn'"),
    ({"exit_code": 2}, "exited with code 2"),
    ({"exit_code": 139, "signal": 11}, "was killed by SIGSEGV"),
    ({"exit_code": 153, "signal": 25, "limit": "file_size"},
     "stopped for writing a file over the 128 MB file size limit"),
    ({"limit": "output"}, "wrote more than the output limit (64 MB, 256 files)"),
    ({"exit_code": 1, "limit": "processes"},
     "failed after hitting the limit of 128 processes/threads"),
    ({"exit_code": None}, "ended without an exit status"),
])
def test_failed_runs_are_graded_zero_and_say_what_happened(
        bundle: Bundle, submission: Path, fake_sandbox: Any, good_predictions: str,
        overrides: dict[str, Any], detail: str) -> None:
    # Even a valid file left behind by a failed run is not scored.
    sandbox = fake_sandbox({"predictions.csv": good_predictions.encode()}, **overrides)
    result = evaluate(bundle, submission, sandbox=sandbox)
    assert result.status == "graded" and result.score == 0
    run = check(result, "run")
    assert not run.passed and run.kind == "run"
    assert run.detail.startswith(detail), run.detail
    assert check(result, "predictions").detail == "not checked: the run did not finish successfully"


def test_successful_run_detail(bundle: Bundle, submission: Path, sandbox_writing: WritingSandbox,
                               good_predictions: str) -> None:
    result = evaluate(bundle, submission, sandbox=sandbox_writing(good_predictions))
    assert check(result, "run").detail == "finished in 1.5 s, peak memory 50 MB"


@pytest.mark.parametrize("error", [SandboxError("engine died"), EngineUnavailable("no engine")])
def test_sandbox_failure_is_an_internal_error(bundle: Bundle, submission: Path,
                                              error: Exception, fake_sandbox: Any) -> None:
    result = evaluate(bundle, submission, sandbox=fake_sandbox(error=error))
    assert result.status == "internal_error"
    assert result.score is None
    assert result.error == f"sandbox: {error}"
    assert result.checks == ()


def test_grader_bug_is_an_internal_error_not_a_zero(bundle: Bundle, submission: Path,
                                                     fake_sandbox: Any) -> None:
    result = evaluate(bundle, submission, sandbox=fake_sandbox(error=ZeroDivisionError("oops")))
    assert result.status == "internal_error" and result.score is None
    assert result.error == "grader bug: ZeroDivisionError: oops"


def test_broken_hidden_labels_are_an_internal_error(bundle: Bundle, submission: Path,
                                                    sandbox_writing: WritingSandbox,
                                                    good_predictions: str) -> None:
    (bundle.hidden_dir / "labels.csv").write_text("id,y\na1,1\na1,0\n")
    result = evaluate(bundle, submission, sandbox=sandbox_writing(good_predictions))
    assert result.status == "internal_error"
    assert result.error is not None and "hidden labels unusable" in result.error
    with pytest.raises(GraderError):
        from heldout.graders.kinds import KINDS
        KINDS.get("model_training").verify(bundle)


def test_missing_submission_is_an_internal_error(bundle: Bundle, tmp_path: Path,
                                                 fake_sandbox: Any) -> None:
    result = evaluate(bundle, tmp_path / "gone", sandbox=fake_sandbox())
    assert result.status == "internal_error"
    assert result.error is not None and "submission not found" in result.error
