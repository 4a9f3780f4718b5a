"""The per-kind bench on the real sandbox: counted runs, bare replays of the same jobs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from heldout.graders import evaluate, load_bundle, resolve_bundle, scan_bundles
from heldout.graders.cases import load_cases
from heldout.graders.kinds import KINDS
from heldout.sandbox.docker_backend import DockerSandbox
from heldout.sandbox.settings import SandboxSettings
from heldout.sandbox.spec import JobSpec, Limits
from heldout.tools.bench.bare import bare_docker_job
from heldout.tools.bench.kinds import (
    BenchError,
    CountingSandbox,
    KindRow,
    _bare,
    bench_kind,
    one_run_for_all_cases,
    reference_bundles,
)

pytestmark = pytest.mark.docker

REPO_CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
FUNCTION_SLUG = "metrics-from-scratch"
PROGRAM = """\
import os, pathlib
text = pathlib.Path(os.environ["HELDOUT_DATA"], "in.txt").read_text()
pathlib.Path(os.environ["HELDOUT_OUTPUT"], "out.txt").write_text(text.upper())
"""


def _readable(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


@pytest.fixture
def job(tmp_path: Path) -> JobSpec:
    workspace, data = _readable(tmp_path / "ws"), _readable(tmp_path / "data")
    (workspace / "main.py").write_text(PROGRAM)
    (data / "in.txt").write_text("same program\n")
    for item in (workspace / "main.py", data / "in.txt"):
        item.chmod(0o644)
    return JobSpec(command=("python", "main.py"), workspace=workspace, data=data,
                   limits=Limits(wall_seconds=30))


@pytest.fixture(scope="module")
def function_row(sandbox_image: str) -> Iterator[KindRow]:
    sandbox = DockerSandbox(replace(SandboxSettings.from_environment(), warm_per_profile=1))
    try:
        yield bench_kind(resolve_bundle(FUNCTION_SLUG, REPO_CHALLENGES), 2, sandbox,
                         lambda line: None)
    finally:
        sandbox.close()


def _output_dir(tmp_path: Path, name: str) -> Path:
    output = tmp_path / name
    output.mkdir()
    os.chmod(output, 0o777)  # the image's user writes here
    return output


def test_bare_docker_job_runs_the_same_program_with_the_same_mounts(
        sandbox_image: str, job: JobSpec, tmp_path: Path) -> None:
    output = _output_dir(tmp_path, "bare-out")
    bare = bare_docker_job(job, output)
    assert bare.exit_code == 0, bare.stderr_tail
    assert (output / "out.txt").read_text() == "SAME PROGRAM\n"
    assert bare.seconds > 0


def test_a_failing_bare_job_is_a_bench_error_with_its_stderr(
        sandbox_image: str, job: JobSpec, tmp_path: Path) -> None:
    (job.workspace / "main.py").write_text("raise SystemExit('bench program broke')\n")
    with pytest.raises(BenchError, match="exited 1: bench program broke"):
        _bare([job], tmp_path)


def test_counting_sandbox_counts_each_real_run_and_copies_the_job(
        sandbox_image: str, job: JobSpec, tmp_path: Path) -> None:
    cold = replace(SandboxSettings.from_environment(), warm_per_profile=0)
    counting = CountingSandbox(DockerSandbox(cold), capture=tmp_path / "jobs")
    for index in range(3):
        result = counting.run(job, tmp_path / f"out-{index}")
        assert result.exit_code == 0, result.stderr_tail
        assert (tmp_path / f"out-{index}" / "out.txt").read_text() == "SAME PROGRAM\n"
    assert (counting.runs, counting.service_runs, len(counting.captured)) == (3, 0, 3)
    copy = counting.captured[0]
    assert isinstance(copy, JobSpec)  # a plain job, not a (service, probe) pair
    assert copy.workspace != job.workspace and copy.command == job.command
    assert (copy.workspace / "main.py").read_text() == PROGRAM
    # The copy replays as the original ran, after the original is gone.
    (job.workspace / "main.py").unlink()
    assert _bare([copy], tmp_path) > 0


def test_a_function_challenge_grades_all_its_cases_in_one_sandbox_run(
        function_row: KindRow) -> None:
    bundle = resolve_bundle(FUNCTION_SLUG, REPO_CHALLENGES)
    cases = len(load_cases(bundle.root / "hidden" / "cases.jsonl").cases)
    assert cases >= 40
    assert function_row.cases == cases
    assert function_row.runs_per_grade == (1, 1)
    assert bundle.solution("reference").accepts(function_row.score)
    assert len(function_row.grade_seconds) == len(function_row.bare_seconds) == 2
    assert all(0 < run <= grade for run, grade in zip(function_row.sandbox_seconds,
                                                     function_row.grade_seconds, strict=True))
    shown = one_run_for_all_cases(function_row, container_start_s=0.25)
    assert shown["cases"] == cases and shown["sandbox_runs_per_grade"] == 1
    assert shown["container_per_case_at_least_s"] == pytest.approx(cases * 0.25)
    data = function_row.as_dict()
    assert data["grade"]["n"] == 2
    assert data["ratio"] == pytest.approx(data["grade"]["median_s"] / data["bare"]["median_s"])


def test_one_reference_bundle_per_kind_that_has_one() -> None:
    chosen = reference_bundles(REPO_CHALLENGES)
    present = {bundle.kind for bundle in scan_bundles(REPO_CHALLENGES).bundles
               if any(case.name == "reference" for case in bundle.solutions)}
    assert [bundle.kind for bundle in chosen] == sorted(present)
    assert {"function", "feature_engineering", "model_training"} <= present
    assert set(present) <= set(KINDS.known())
    # The deep-learning bundles (fix-training-loop sorts before metrics-from-scratch) are
    # left to kinds that have no default-profile bundle.
    assert all(bundle.profile == "default" for bundle in chosen)


def test_the_bench_replays_the_service_beside_its_probe(tmp_path: Path, sandbox_image: str) -> None:
    bundle = load_bundle(REPO_CHALLENGES / "churn-service")
    cold = replace(SandboxSettings.from_environment(), warm_per_profile=0)
    counting = CountingSandbox(DockerSandbox(cold), capture=tmp_path / "jobs")
    evaluation = evaluate(bundle, bundle.solution("reference").path, sandbox=counting, split="public")
    assert evaluation.score == 100
    assert (counting.runs, counting.service_runs) == (1, 1)
    build, pair = counting.captured
    assert isinstance(build, JobSpec) and build.command == ("python", "train.py")
    assert isinstance(pair, tuple) and pair[1].command[-1] == "/harness/deployment_probe.py"
    assert _bare([pair], tmp_path) > 0  # raises unless the bare probe exited 0
