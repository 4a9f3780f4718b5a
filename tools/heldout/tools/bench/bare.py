"""Measures what the sandbox adds on top of a bare ``docker run``, in one process, interleaved."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.sandbox import engine
from heldout.sandbox.image import default_image, job_image
from heldout.sandbox.pool import WarmPool
from heldout.sandbox.runner import run
from heldout.sandbox.spec import DATA, HARNESS, OUTPUT, WORKSPACE, JobSpec, Limits

TRIVIAL = 'print("hello from the sandbox")\n'

TYPICAL_ML = '''\
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=3000, n_features=20, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
model = LogisticRegression(max_iter=500).fit(X_train, y_train)
pd.DataFrame({"id": np.arange(len(X_test)), "p": model.predict_proba(X_test)[:, 1]}).to_csv(
    "/output/predictions.csv", index=False)
print("accuracy", round(model.score(X_test, y_test), 3))
'''

Say = Callable[[str], None]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(values), "p95_s": _percentile(values, 0.95),
            "min_s": min(values), "max_s": max(values), "n": len(values)}


def _docker_cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise RuntimeError("the bench's baseline needs the docker command-line client")
    return cli


def bare_docker_run(workspace: Path, image: str, data: Path | None = None) -> float:
    """The baseline: the plainest ``docker run --rm`` of the same image and program."""
    with tempfile.TemporaryDirectory(prefix="heldout-bench-out-") as output:
        os.chmod(output, 0o777)  # noqa: S103 - the container user writes its output here
        mounts = ["-v", f"{workspace}:/workspace:ro", "-v", f"{output}:/output"]
        if data is not None:
            mounts += ["-v", f"{data}:/data:ro"]
        started = time.monotonic()
        subprocess.run([_docker_cli(), "run", "--rm", *mounts, "-w", "/workspace",
                        "--entrypoint", "python", image, "main.py"],
                       check=True, capture_output=True, timeout=300)
        return time.monotonic() - started


@dataclass(frozen=True)
class BareRun:
    """A bare ``docker run`` of a job: how long it took, how it ended, what it last said."""

    seconds: float
    exit_code: int
    stderr_tail: str


def bare_docker_job(spec: JobSpec, output: Path) -> BareRun:
    """``spec``'s program as the plainest ``docker run --rm``: same image, mounts, command
    and environment, none of the sandbox's limits, hardening or warm containers.

    ``output`` must be writable by the image's user.
    """
    started = time.monotonic()
    done = subprocess.run([_docker_cli(), "run", "--rm", *_bare_options(spec, output)],
                          check=False, capture_output=True, timeout=spec.limits.wall_seconds + 120)
    seconds = time.monotonic() - started
    return BareRun(seconds, done.returncode, done.stderr.decode(errors="replace")[-2000:])


def bare_docker_service(service: JobSpec, probe: JobSpec, output: Path) -> BareRun:
    """A service and its probe as the plainest ``docker run``s: the service detached with
    no network, the probe in its network namespace; the service removed when the probe ends.

    The time is from the service's start to the probe's end (what grading waits for).
    """
    cli = _docker_cli()
    service_output = Path(tempfile.mkdtemp(prefix="bare-service-", dir=output))
    os.chmod(service_output, 0o777)  # noqa: S103 - the image's user writes its output here
    started = time.monotonic()
    server = subprocess.run([cli, "run", "-d", "--network", "none",
                             *_bare_options(service, service_output)],
                            check=True, capture_output=True, timeout=120)
    container = server.stdout.decode().strip()
    try:
        done = subprocess.run([cli, "run", "--rm", "--network", f"container:{container}",
                               *_bare_options(probe, output)],
                              check=False, capture_output=True,
                              timeout=probe.limits.wall_seconds + 120)
        seconds = time.monotonic() - started
    finally:
        subprocess.run([cli, "rm", "-f", container], check=False, capture_output=True, timeout=120)
    return BareRun(seconds, done.returncode, done.stderr.decode(errors="replace")[-2000:])


def _bare_options(spec: JobSpec, output: Path) -> list[str]:
    """``docker run``'s arguments for ``spec``: its mounts, environment, directory and command."""
    # Absolute paths: docker takes a relative one for the name of a volume.
    mounts = ["-v", f"{spec.workspace.resolve()}:{WORKSPACE}:ro",
              "-v", f"{output.resolve()}:{OUTPUT}"]
    if spec.data is not None:
        mounts += ["-v", f"{spec.data.resolve()}:{DATA}:ro"]
    if spec.harness is not None:
        mounts += ["-v", f"{spec.harness.resolve()}:{HARNESS}:ro"]
    env = {"HELDOUT_DATA": DATA, "HELDOUT_OUTPUT": OUTPUT, **spec.env}
    variables = [part for key, value in env.items() for part in ("-e", f"{key}={value}")]
    return [*mounts, *variables, "-w", WORKSPACE, "--entrypoint", spec.command[0],
            job_image(spec), *spec.command[1:]]


def heldout_run(workspace: Path, scratch: Path, pool: WarmPool, limits: Limits) -> float:
    output = Path(tempfile.mkdtemp(dir=scratch))
    started = time.monotonic()
    result = run(JobSpec(command=("python", "main.py"), workspace=workspace, limits=limits), output,
                 pool=pool)
    elapsed = time.monotonic() - started
    if result.exit_code != 0:
        raise RuntimeError(f"benchmark program failed in the sandbox: {result.stderr_tail}")
    shutil.rmtree(output, ignore_errors=True)
    return elapsed


def pair(program: str, n: int, pool: WarmPool, limits: Limits, say: Say,
         label: str) -> tuple[list[float], list[float]]:
    """Interleave bare and heldout runs; each heldout run finds a warm container ready,
    as a worker does when submissions don't arrive faster than it refills."""
    image = default_image()
    with tempfile.TemporaryDirectory(prefix="heldout-bench-") as tmp:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        workspace.chmod(0o755)
        (workspace / "main.py").write_text(program)
        (workspace / "main.py").chmod(0o644)
        bare_docker_run(workspace, image)  # warm the engine's caches for both sides
        pool.prime(limits)
        bare: list[float] = []
        ours: list[float] = []
        for index in range(n):
            pool.wait_warm(1, limits=limits)
            bare.append(bare_docker_run(workspace, image))
            pool.wait_warm(1, limits=limits)
            ours.append(heldout_run(workspace, Path(tmp), pool, limits))
            say(f"{label} {index + 1}/{n}: bare {bare[-1]:.2f} s, heldout {ours[-1]:.2f} s")
    return bare, ours


def engine_throughput(count: int, parallel: int, say: Say, *, program: str = TRIVIAL,
                      data: Path | None = None) -> float:
    """Bare ``docker run`` of ``program`` per minute with ``parallel`` at once: the
    engine's own limit on this machine."""
    image = default_image()
    with tempfile.TemporaryDirectory(prefix="heldout-bench-") as tmp:
        workspace = Path(tmp)
        workspace.chmod(0o755)
        (workspace / "main.py").write_text(program)
        (workspace / "main.py").chmod(0o644)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=parallel) as executor:
            list(executor.map(lambda _: bare_docker_run(workspace, image, data), range(count)))
        elapsed = time.monotonic() - started
    rate = count / elapsed * 60
    say(f"engine limit: {count} bare runs, {parallel} at a time, in {elapsed:.1f} s = {rate:.0f}/min")
    return rate


def sandbox_bench(n: int, say: Say, client: Any | None = None) -> dict[str, Any]:
    """Parts (a)-(d): trivial and typical ML program, bare docker run vs heldout."""
    client = client or engine.get_client()
    limits = Limits(wall_seconds=120, memory_mb=1024, cpus=1.0)
    pool = WarmPool(client, size=1)
    try:
        bare, ours = pair(TRIVIAL, n, pool, limits, say, "trivial")
        ml_bare, ml_ours = pair(TYPICAL_ML, n, pool, limits, say, "typical ML")
    finally:
        pool.close()
    out: dict[str, Any] = {
        "n": n,
        "bare_median_s": statistics.median(bare),
        "heldout_median_s": statistics.median(ours),
        "ml_bare_median_s": statistics.median(ml_bare),
        "ml_heldout_median_s": statistics.median(ml_ours),
        "bare": summary(bare), "heldout": summary(ours),
        "ml_bare": summary(ml_bare), "ml_heldout": summary(ml_ours),
    }
    out["ratio"] = out["heldout_median_s"] / out["bare_median_s"]
    out["ml_ratio"] = out["ml_heldout_median_s"] / out["ml_bare_median_s"]
    return out
