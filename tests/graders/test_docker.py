"""The grading pipeline on the real sandbox: bundled solutions, timeouts, crashes, tricks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.graders import Bundle, discover_bundles, evaluate, resolve_bundle
from heldout.graders.cli import challenges_group

pytestmark = pytest.mark.docker

REPO_CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
# What CI grades of each bundle (Bundle.quick_solutions); `heldout challenges check --all`
# grades the other cases.
CASES = [(bundle.slug, case.name) for bundle in discover_bundles(REPO_CHALLENGES)
         for case in bundle.quick_solutions]


@pytest.fixture
def churn(sandbox_image: str) -> Bundle:
    return resolve_bundle("churn-prediction", REPO_CHALLENGES)


def _quick(bundle: Bundle, seconds: float = 5) -> Bundle:
    return dataclasses.replace(bundle, limits=dataclasses.replace(bundle.limits,
                                                                  wall_seconds=seconds))


@pytest.mark.slow
@pytest.mark.parametrize(("slug", "case"), CASES, ids=[f"{s}/{c}" for s, c in CASES])
def test_bundled_solutions_score_in_range(profile_images: dict[str, str], slug: str,
                                          case: str) -> None:
    bundle = resolve_bundle(slug, REPO_CHALLENGES)
    expected = bundle.solution(case)
    result = evaluate(bundle, expected.path)
    assert result.status == "graded", result.error
    assert result.score is not None and expected.accepts(result.score), result.checks


def test_churn_reference_scores_at_least_85(churn: Bundle) -> None:
    result = evaluate(churn, churn.solution("reference").path)
    assert result.status == "graded", result.error
    assert result.score is not None and result.score >= 85, result.checks
    assert result.metrics["roc_auc"] > 0.85
    assert result.run is not None and result.run.exit_code == 0


def test_churn_starter_scores_at_most_30(churn: Bundle) -> None:
    result = evaluate(churn, churn.starter_dir)
    assert result.status == "graded", result.error
    assert result.score is not None and result.score <= 30
    assert all(check.passed for check in result.checks if check.name != "roc_auc")


def test_endless_loop_is_graded_timed_out_zero(churn: Bundle, tmp_path: Path) -> None:
    (tmp_path / "solution.py").write_text("while True:\n    pass\n")
    result = evaluate(_quick(churn, 3), tmp_path)
    assert result.status == "graded" and result.score == 0
    assert result.run is not None and result.run.timed_out is True
    run = next(c for c in result.checks if c.name == "run")
    assert run.detail == "stopped after the 3 s time limit"


def test_crash_shows_the_exception(churn: Bundle, tmp_path: Path) -> None:
    (tmp_path / "solution.py").write_text(
        "import pandas as pd\npd.read_csv('/data/train.csv')['no_such_column']\n")
    result = evaluate(_quick(churn, 60), tmp_path)
    assert result.status == "graded" and result.score == 0
    run = next(c for c in result.checks if c.name == "run")
    assert run.detail == "exited with code 1: KeyError: 'no_such_column'"


def test_hidden_labels_are_out_of_reach(churn: Bundle, tmp_path: Path) -> None:
    # A submission that hunts for the labels finds none, so it can only write a guess.
    (tmp_path / "solution.py").write_text(
        "import os\n"
        "found = [os.path.join(d, f) for root in ('/data', '/workspace', '/tmp')\n"
        "         for d, _, files in os.walk(root) for f in files if 'label' in f]\n"
        "print('found', found)\n"
        "assert not found\n"
        "os.symlink('/etc/passwd', '/output/predictions.csv')\n")
    result = evaluate(_quick(churn, 30), tmp_path)
    assert result.status == "graded" and result.score == 0
    assert result.run is not None
    assert result.run.exit_code == 0, result.run.stderr_tail
    predictions = next(c for c in result.checks if c.name == "predictions")
    assert "symbolic link" in predictions.detail


@pytest.mark.slow
def test_challenges_check_command(sandbox_image: str) -> None:
    result = CliRunner().invoke(challenges_group, ["check", "churn-prediction",
                                                   "--challenges-dir", str(REPO_CHALLENGES)])
    assert result.exit_code == 0, result.output
    # Without --all: the reference, the starter and the first flawed case.
    assert "3 of 3 ok (1 more case(s) not graded: --all grades every case)" in result.stdout
