"""Attacks on the upload itself: what a submission folder may contain before anything runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.docker


def grade(adversary: Any, honest: Any, submission: Path) -> Any:
    from heldout.graders import evaluate

    return evaluate(adversary.bundle(honest), submission)


def solution(tmp_path: Path) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "solution.py").write_text("print('never runs')\n")
    return folder


def test_a_symlink_to_the_hidden_labels_is_refused_before_running(
        tmp_path: Path, adversary: Any, honest: Any) -> None:
    folder = solution(tmp_path)
    os.symlink(adversary.bundle(honest).hidden_dir / "labels.csv", folder / "helper.py")
    evaluation = grade(adversary, honest, folder)
    assert evaluation.status == "graded" and evaluation.score == 0
    assert evaluation.run is None, "nothing may run for a refused submission"
    assert "only regular files are accepted" in evaluation.checks[0].detail
    assert "helper.py" in evaluation.checks[0].detail


def test_a_fifo_in_the_submission_is_refused_without_blocking(
        tmp_path: Path, adversary: Any, honest: Any) -> None:
    folder = solution(tmp_path)
    os.mkfifo(folder / "model.py")
    evaluation = grade(adversary, honest, folder)
    assert evaluation.status == "graded" and evaluation.score == 0
    assert evaluation.run is None
    assert "model.py" in evaluation.checks[0].detail


def test_an_oversized_submission_is_refused_before_running(
        tmp_path: Path, adversary: Any, honest: Any) -> None:
    folder = solution(tmp_path)
    (folder / "weights.py").write_text("W = '" + "9" * (2 * 1024 * 1024) + "'\n")
    evaluation = grade(adversary, honest, folder)
    assert evaluation.status == "graded" and evaluation.score == 0
    assert evaluation.run is None
    assert "more than the" in evaluation.checks[0].detail
