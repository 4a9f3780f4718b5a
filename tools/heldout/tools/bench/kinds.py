"""What grading costs per kind: each kind's reference through ``evaluate``, against bare runs.

For every registered kind, the first bundle of that kind (by slug) has its
``solutions/reference`` graded N times through :func:`heldout.graders.evaluate` with the
real sandbox (warm pool on), interleaved with a bare ``docker run`` of the very jobs that
grading sent to the sandbox (same image, mounts, command; no heldout around them). A
wrapper around the real sandbox counts the jobs each grading costs, which shows a
``function`` challenge grading all its cases in one run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.graders.bundle import scan_bundles
from heldout.graders.cases import CASES_NAME, load_cases
from heldout.graders.evaluate import evaluate
from heldout.graders.kinds import KINDS
from heldout.sandbox.backend import SandboxWrapper
from heldout.sandbox.docker_backend import DockerSandbox
from heldout.sandbox.image import profile_image
from heldout.sandbox.profiles import DEFAULT_PROFILE
from heldout.sandbox.settings import SandboxSettings
from heldout.tools.bench.bare import bare_docker_job, bare_docker_service, summary

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox
    from heldout.sandbox.spec import (
        JobSpec,
        Limits,
        RunResult,
        ServiceRun,
    )

Say = Callable[[str], None]
REFERENCE = "reference"


class BenchError(RuntimeError):
    """The bench could not measure what it set out to (a reference failed, a job broke)."""


class CountingSandbox(SandboxWrapper):
    """The real sandbox, counting the jobs it is given (and copying them when asked).

    A copy of each job's workspace and harness lets the bench replay the same job with a
    bare ``docker run`` after grading has removed its temporary directories.
    """

    def __init__(self, inner: Sandbox, capture: Path | None = None) -> None:
        super().__init__(inner)
        self.capture = capture
        self.runs = 0
        self.service_runs = 0
        self.captured: list[JobSpec | tuple[JobSpec, JobSpec]] = []

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        self.runs += 1
        if self.capture is not None:
            self.captured.append(_copy_job(spec, self.capture / f"job-{len(self.captured)}"))
        return self.inner.run(spec, output_dir)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        self.service_runs += 1
        if self.capture is not None:
            where = self.capture / f"job-{len(self.captured)}"
            self.captured.append((_copy_job(service, where / "service"),
                                  _copy_job(probe, where / "probe")))
        return self.inner.run_service(service, probe, service_output, probe_output)


def _readable_copy(source: Path, target: Path) -> Path:
    # Links are copied as links (never followed); the image's user must read the copy.
    shutil.copytree(source, target, symlinks=True)
    for root, _dirs, files in os.walk(target):
        os.chmod(root, 0o755)  # noqa: S103 - a bench copy of a job, read by the container
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o644)
    return target


def _copy_job(spec: JobSpec, target: Path) -> JobSpec:
    target.mkdir(parents=True)
    workspace = _readable_copy(spec.workspace, target / "workspace")
    harness = None if spec.harness is None else _readable_copy(spec.harness, target / "harness")
    return dataclasses.replace(spec, workspace=workspace, harness=harness)


@dataclass(frozen=True)
class KindRow:
    """One kind's figures: N gradings of its reference and N bare runs of the same jobs."""

    kind: str
    challenge: str
    score: float
    cases: int | None  # graded cases, for kinds that read hidden/cases.jsonl
    runs_per_grade: tuple[int, ...]  # sandbox jobs each grading cost, counted
    grade_seconds: tuple[float, ...]  # evaluate(), start to Evaluation
    sandbox_seconds: tuple[float, ...]  # the part of it spent in the sandbox run
    bare_seconds: tuple[float, ...]  # bare docker run of the same jobs, one after another

    def as_dict(self) -> dict[str, Any]:
        grade, bare = summary(list(self.grade_seconds)), summary(list(self.bare_seconds))
        return {"kind": self.kind, "challenge": self.challenge, "score": self.score,
                "cases": self.cases, "runs_per_grade": list(self.runs_per_grade),
                "grade": grade, "sandbox_run": summary(list(self.sandbox_seconds)),
                "bare": bare, "ratio": grade["median_s"] / bare["median_s"]}


def _bare_output_dir(parent: Path) -> Path:
    output = Path(tempfile.mkdtemp(prefix="bare-out-", dir=parent))
    os.chmod(output, 0o777)  # noqa: S103 - the image's user writes its output here
    return output


def _bare(jobs: list[JobSpec | tuple[JobSpec, JobSpec]], scratch: Path) -> float:
    total = 0.0
    for job in jobs:
        output = _bare_output_dir(scratch)
        # A service is replayed with its probe beside it, for the same requests.
        bare = bare_docker_service(*job, output) if isinstance(job, tuple) else bare_docker_job(job, output)
        shutil.rmtree(output, ignore_errors=True)
        if isinstance(job, tuple):
            job = job[1]
        if bare.exit_code != 0:
            raise BenchError(f"bare docker run of {' '.join(job.command)} exited "
                             f"{bare.exit_code}: {bare.stderr_tail}")
        total += bare.seconds
    return total


def _graded_cases(bundle: Bundle) -> int | None:
    path = bundle.root / "hidden" / CASES_NAME
    return len(load_cases(path).cases) if path.is_file() else None


def bench_kind(bundle: Bundle, n: int, sandbox: DockerSandbox, say: Say) -> KindRow:
    """Grade ``bundle``'s reference ``n`` times, interleaved with bare runs of its jobs.

    Each grading finds a warm container ready, as a worker's does when submissions don't
    arrive faster than its pool refills.
    """
    reference = bundle.solution(REFERENCE).path

    # The warm containers of the bundle's own runtime profile (a deep-learning bundle's
    # run in its own image: waiting for the default image's would time out every run).
    image = profile_image(bundle.profile, sandbox.settings)

    def wait_warm(limits: Limits) -> None:
        if sandbox.pool is not None and not sandbox.pool.wait_warm(1, limits=limits,
                                                                   image=image):
            raise BenchError(f"{bundle.slug}: no warm {bundle.profile} container within "
                             "the pool's wait")

    def grade(counting: CountingSandbox) -> tuple[float, float, float]:
        started = time.monotonic()
        evaluation = evaluate(bundle, reference, sandbox=counting)
        elapsed = time.monotonic() - started
        if not evaluation.graded or evaluation.score is None:
            raise BenchError(f"{bundle.slug}: the reference was not graded: {evaluation.error}")
        wall = evaluation.run.wall_seconds if evaluation.run is not None else 0.0
        return elapsed, wall, evaluation.score

    with tempfile.TemporaryDirectory(prefix="heldout-bench-kind-") as tmp:
        scratch = Path(tmp)
        sandbox.prime(bundle.limits, bundle.profile)
        wait_warm(bundle.limits)
        # The first grading warms caches for both sides and copies the jobs it sends.
        first = CountingSandbox(sandbox, capture=scratch / "jobs")
        _, _, score = grade(first)
        jobs = first.captured
        if not jobs:
            raise BenchError(f"{bundle.slug}: grading ran no job to replay")
        _bare(jobs, scratch)
        grades: list[float] = []
        walls: list[float] = []
        bares: list[float] = []
        runs: list[int] = []
        for index in range(n):
            wait_warm(bundle.limits)
            bares.append(_bare(jobs, scratch))
            wait_warm(bundle.limits)
            counting = CountingSandbox(sandbox)
            elapsed, wall, score = grade(counting)
            grades.append(elapsed)
            walls.append(wall)
            runs.append(counting.runs + counting.service_runs)
            say(f"{bundle.kind} ({bundle.slug}) {index + 1}/{n}: bare {bares[-1]:.2f} s, "
                f"graded {grades[-1]:.2f} s in {runs[-1]} sandbox run(s), score {score:g}")
    return KindRow(kind=bundle.kind, challenge=bundle.slug, score=score,
                   cases=_graded_cases(bundle), runs_per_grade=tuple(runs),
                   grade_seconds=tuple(grades), sandbox_seconds=tuple(walls),
                   bare_seconds=tuple(bares))


def reference_bundles(challenges_dir: Path | None) -> list[Bundle]:
    """One bundle per registered kind (the first by slug) that has a reference solution;
    of the default runtime profile where the kind has one, so rows compare kinds, not images."""
    scan = scan_bundles(challenges_dir)
    chosen: dict[str, Bundle] = {}
    for bundle in sorted(scan.bundles, key=lambda b: (b.profile != DEFAULT_PROFILE, b.slug)):
        has_reference = any(case.name == REFERENCE for case in bundle.solutions)
        if bundle.kind in KINDS.known() and has_reference and bundle.kind not in chosen:
            chosen[bundle.kind] = bundle
    return [chosen[kind] for kind in sorted(chosen)]


def kinds_bench(n: int, challenges_dir: Path | None, say: Say,
                sandbox: DockerSandbox | None = None) -> list[KindRow]:
    """A row per kind; ``sandbox`` defaults to a Docker sandbox with its own warm pool."""
    docker = sandbox if sandbox is not None else DockerSandbox(dataclasses.replace(
        SandboxSettings.from_environment(), warm_per_profile=1))
    try:
        return [bench_kind(bundle, n, docker, say)
                for bundle in reference_bundles(challenges_dir)]
    finally:
        if sandbox is None:
            docker.close()


def one_run_for_all_cases(row: KindRow, container_start_s: float) -> dict[str, Any]:
    """The ``function`` row's proof: counted sandbox runs per grading against its cases.

    ``container_start_s`` is a bare ``docker run`` of a trivial program; a container per
    case would cost at least that many times the number of cases.
    """
    if row.cases is None:
        raise BenchError(f"{row.challenge}: a {row.kind} bundle has no graded cases")
    grade = summary(list(row.grade_seconds))
    return {"challenge": row.challenge, "cases": row.cases,
            "sandbox_runs_per_grade": max(row.runs_per_grade),
            "grade_median_s": grade["median_s"],
            "container_per_case_at_least_s": row.cases * container_start_s}
