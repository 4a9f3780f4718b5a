"""Fixtures for the graders: a small bundle on disk and a stand-in sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox.spec import (
    Finding,
    JobSpec,
    Limits,
    OutputFile,
    RunResult,
    SandboxHealth,
    ServiceRun,
    SweepReport,
)

REPO = Path(__file__).resolve().parents[2]
CHALLENGES = REPO / "challenges"

LABELS = {"a1": 1, "a2": 0, "a3": 1, "a4": 0, "a5": 0, "a6": 1}

TOML = """\
title = "Tiny"
kind = "model_training"
summary = "A tiny bundle for tests."
skills = ["classification"]
difficulty = "easy"
expected_minutes = 10

[submission]
entrypoint = "solution.py"
allowed = ["*.py"]
max_bytes = 10000
max_files = 3

[limits]
wall_seconds = 5
memory_mb = 256

[grading]
metric = "roc_auc"
baseline = 0.5
target = 0.9
id_column = "id"
prediction_column = "p"
label_column = "y"
# Six rows are too few to split: every row is graded (the slices have their own tests).
public_fraction = 0

[solutions.good]
min_score = 90
max_score = 100
"""


def write_bundle(root: Path, toml: str = TOML) -> Path:
    (root / "public").mkdir(parents=True)
    (root / "hidden").mkdir()
    (root / "starter").mkdir()
    (root / "solutions" / "good").mkdir(parents=True)
    (root / "challenge.toml").write_text(toml)
    (root / "statement.md").write_text("# Tiny\n\nPredict y.\n")
    (root / "public" / "train.csv").write_text("id,x,y\nt1,1,1\n")
    (root / "public" / "test.csv").write_text("id,x\n" + "".join(f"{i},0\n" for i in LABELS))
    (root / "hidden" / "labels.csv").write_text(
        "id,y\n" + "".join(f"{i},{y}\n" for i, y in LABELS.items()))
    (root / "starter" / "solution.py").write_text("print('hi')\n")
    (root / "solutions" / "good" / "solution.py").write_text("print('good')\n")
    return root


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "challenges" / "tiny")


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    directory = tmp_path / "submission"
    directory.mkdir()
    (directory / "solution.py").write_text("print('ok')\n")
    return directory


def perfect_csv() -> str:
    return "id,p\n" + "".join(f"{i},{0.9 if y else 0.1}\n" for i, y in LABELS.items())


def run_result(**overrides: Any) -> RunResult:
    values: dict[str, Any] = {
        "exit_code": 0, "timed_out": False, "oom_killed": False, "wall_seconds": 1.5,
        "cpu_seconds": 1.2, "peak_memory_mb": 50.0, "output_bytes": 0, "stdout_tail": "",
        "stderr_tail": "", "stdout_truncated": False, "stderr_truncated": False,
        "outputs": (), "skipped_outputs": (), "limit": None, "signal": None,
    }
    values.update(overrides)
    return RunResult(**values)


class FakeSandbox:
    """Stands in for the sandbox: writes given files to the output dir, returns a result.

    ``files`` maps names under /output to bytes; ``write`` may instead build the output
    directory itself (links, odd files); ``error`` is raised by every run instead. Calls
    are recorded for assertions.
    """

    name = "fake"

    def __init__(self, files: dict[str, bytes] | None = None,
                 write: Callable[[Path], None] | None = None,
                 error: BaseException | None = None, **result: Any) -> None:
        self.files = files or {}
        self.write = write
        self.error = error
        self.result = result
        self.specs: list[JobSpec] = []
        self.primed: list[Limits] = []
        self.workspace: dict[str, bytes] = {}
        self.workspace_files: list[str] = []

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        self.specs.append(spec)
        if self.error is not None:
            raise self.error
        self.workspace = {p.relative_to(spec.workspace).as_posix(): p.read_bytes()
                          for p in spec.workspace.rglob("*") if p.is_file()}
        self.workspace_files = sorted(self.workspace)
        outputs = []
        for name, data in self.files.items():
            path = output_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            outputs.append(OutputFile(name, len(data), path))
        if self.write is not None:
            self.write(output_dir)
            outputs += [OutputFile(p.name, p.lstat().st_size, p) for p in output_dir.iterdir()
                        if p.name not in self.files]
        fields = {"outputs": tuple(outputs), "output_bytes": sum(o.size for o in outputs)}
        fields.update(self.result)
        return run_result(**fields)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        return ServiceRun(self.run(service, service_output), self.run(probe, probe_output))

    def prime(self, limits: Limits, profile: str = "default") -> None:
        self.primed.append(limits)

    def sweep(self, owner: str | None = None, *, owner_gone: bool = False) -> SweepReport:
        return SweepReport(())

    def doctor(self) -> tuple[Finding, ...]:
        return (Finding("fake sandbox", True, "stands in for the real one"),)

    def health(self) -> SandboxHealth:
        here = Finding("fake sandbox", True, "stands in for the real one")
        return SandboxHealth(here, here, image_name="fake")

    def close(self) -> None:
        return None


def predictions_sandbox(text: str | bytes) -> FakeSandbox:
    data = text.encode() if isinstance(text, str) else text
    return FakeSandbox({"predictions.csv": data})


@pytest.fixture
def copy_repo_bundle(tmp_path: Path) -> Callable[[str], Path]:
    def copy(slug: str) -> Path:
        target = tmp_path / "copied" / slug
        shutil.copytree(CHALLENGES / slug, target)
        return target
    return copy


@pytest.fixture
def make_result() -> Callable[..., RunResult]:
    """Build a RunResult: a clean exit unless overridden."""
    return run_result


@pytest.fixture
def fake_sandbox() -> type[FakeSandbox]:
    return FakeSandbox


@pytest.fixture
def sandbox_writing() -> Callable[[str | bytes], FakeSandbox]:
    """A sandbox whose run writes the given text to /output/predictions.csv."""
    return predictions_sandbox


@pytest.fixture
def good_predictions() -> str:
    """A predictions file that ranks every label right (AUC 1.0)."""
    return perfect_csv()


@pytest.fixture
def labels() -> dict[str, int]:
    return dict(LABELS)
