"""Submissions: what is staged into the workspace and what is refused (graded 0, not run)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle


@pytest.fixture
def bundle(bundle_dir: Path) -> Bundle:
    return load_bundle(bundle_dir)


def test_extra_allowed_files_are_staged_and_caches_ignored(bundle: Bundle, submission: Path,
                                                           fake_sandbox: Any) -> None:
    (submission / "lib").mkdir()
    (submission / "lib" / "features.py").write_text("X = 1\n")
    (submission / "__pycache__").mkdir()
    (submission / "__pycache__" / "solution.cpython-311.pyc").write_bytes(b"\x00")
    sandbox = fake_sandbox()
    evaluate(bundle, submission, sandbox=sandbox)
    assert sandbox.workspace_files == ["lib/features.py", "solution.py"]
    assert sandbox.specs[0].workspace != submission


def test_a_single_file_becomes_the_entrypoint(bundle: Bundle, tmp_path: Path,
                                              fake_sandbox: Any) -> None:
    single = tmp_path / "my_model.py"
    single.write_text("print(1)\n")
    sandbox = fake_sandbox()
    evaluate(bundle, single, sandbox=sandbox)
    assert sandbox.workspace_files == ["solution.py"]
    assert sandbox.workspace["solution.py"] == b"print(1)\n"


def _refusal(bundle: Bundle, submission: Path, sandbox: Any) -> str:
    result = evaluate(bundle, submission, sandbox=sandbox)
    assert result.status == "graded" and result.score == 0
    assert sandbox.specs == [], "a refused submission must not run"
    assert result.run is None
    [check] = result.checks
    assert check.name == "submission" and check.kind == "run" and not check.passed
    assert check.detail.startswith("not run: ")
    return check.detail


def test_missing_entrypoint(bundle: Bundle, submission: Path, fake_sandbox: Any) -> None:
    (submission / "solution.py").rename(submission / "main.py")
    assert "solution.py is missing: the run starts with it" in _refusal(
        bundle, submission, fake_sandbox())


def test_files_the_bundle_does_not_accept(bundle: Bundle, submission: Path,
                                          fake_sandbox: Any) -> None:
    (submission / "model.pkl").write_bytes(b"\x80\x04")
    detail = _refusal(bundle, submission, fake_sandbox())
    assert "files not accepted by this challenge: model.pkl (accepted: solution.py, *.py)" in detail


def test_links_are_refused(bundle: Bundle, submission: Path, fake_sandbox: Any,
                           tmp_path: Path) -> None:
    os.symlink("/etc/passwd", submission / "helper.py")
    os.symlink(tmp_path, submission / "dir")
    detail = _refusal(bundle, submission, fake_sandbox())
    assert "only regular files are accepted, not links or special files: dir, helper.py" in detail


def test_too_many_files(bundle: Bundle, submission: Path, fake_sandbox: Any) -> None:
    for i in range(3):
        (submission / f"m{i}.py").write_text("")
    assert "4 files, more than the 3 allowed" in _refusal(bundle, submission, fake_sandbox())


def test_too_many_bytes(bundle: Bundle, submission: Path, fake_sandbox: Any) -> None:
    (submission / "solution.py").write_text("#" * 10001)
    assert "10001 bytes in all, more than the 10000 allowed" in _refusal(
        bundle, submission, fake_sandbox())
