"""Runs one job in a hardened, throw-away container and reports what happened."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from heldout.sandbox import engine, outputs
from heldout.sandbox.accounting import UsageSampler, parent_cgroup, release_parent
from heldout.sandbox.errors import ImageMissing, SandboxError
from heldout.sandbox.image import job_image
from heldout.sandbox.options import container_options
from heldout.sandbox.pool import WarmContainer, WarmPool
from heldout.sandbox.scratch import RunDir
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import JobSpec, Limits, RunResult
from heldout.sandbox.stopping import STOPPED, Runs

log = logging.getLogger(__name__)

SIGXFSZ = 25


def _tail(raw: bytes, cap: int) -> tuple[str, bool]:
    truncated = len(raw) > cap
    text = raw[-cap:].decode("utf-8", errors="replace")
    if truncated:
        text = f"[… output truncated to the last {cap} bytes …]\n" + text
    return text, truncated


def _wait(container: Any, seconds: float) -> dict[str, Any] | None:
    """Wait for exit; None when the time is up. Engine failures propagate."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            result: dict[str, Any] = container.wait(timeout=max(0.05, min(remaining, 30.0)))
            return result
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
            # A read timeout only means "still running"; a refused connection is the engine.
            if isinstance(exc, requests.exceptions.ConnectionError) and "timed out" not in str(exc).lower():
                raise
            continue


def run(spec: JobSpec, output_dir: Path, *, client: Any | None = None,
        pool: WarmPool | None = None, settings: SandboxSettings | None = None,
        runs: Runs | None = None) -> RunResult:
    """Run ``spec`` in a fresh container; copy regular files of /output into ``output_dir``.

    With a ``pool``, a pre-started container of the same profile is used when one is ready
    (its launcher already imported the scientific stack); otherwise one is created cold.
    Settings default to the pool's, else the environment's.
    Raises SandboxError (and only that) when the platform, not the job, is at fault; so
    does a run that ``runs.stop()`` interrupted.
    """
    if settings is None and pool is not None:
        settings = pool.settings
    settings = or_environment(settings)
    try:
        return _run(spec, output_dir, client if client is not None else (pool.client if pool else None),
                    pool, settings, runs)
    except SandboxError:
        raise
    except engine.ENGINE_ERRORS as exc:
        raise SandboxError(f"the Docker engine failed during the run: {exc}") from exc


def _reset_peak(sampler: UsageSampler) -> None:
    """Peak memory of a warm container counts from the job, not from the imports before it."""
    path = sampler.memory_peak_file
    if path is not None and sampler.source == "cgroup-v1":
        with contextlib.suppress(OSError):
            path.write_text("0")


class _Execution:
    """One job in one container: start, wait, then stop and collect, in that order."""

    def __init__(self, client: Any, spec: JobSpec, settings: SandboxSettings, *,
                 warm: WarmContainer | None = None, network_of: Any | None = None) -> None:
        self.client = client
        self.spec = spec
        self.settings = settings
        self.limits: Limits = spec.limits
        self.warm = warm
        self.network_of = network_of
        self.rundir = (warm.rundir if warm is not None
                       else RunDir(spec.limits.output_mb, settings.run_dir))
        self.cgroup_parent = (warm.cgroup_parent if warm is not None else
                              parent_cgroup(self.rundir.root.name, engine.cgroup_driver(client)))
        # A warm container is this run's from now on: whatever happens, close() removes it.
        self.container: Any = warm.container if warm is not None else None
        self.interrupted = False
        self.started = 0.0
        self.cpu_before = 0.0
        self.sampler: UsageSampler | None = None

    def start(self) -> None:
        self.rundir.stage(self.spec.workspace, self.spec.data, self.spec.harness)
        if self.warm is None:
            image = job_image(self.spec, self.settings)
            options = container_options(self.spec, self.rundir, self.settings,
                                        cgroup_parent=self.cgroup_parent)
            if self.network_of is not None:
                # Share a service's network namespace (loopback only): the probe reaches it
                # on localhost, and neither reaches anything else.
                options["network_mode"] = f"container:{self.network_of.id}"
                options.pop("hostname")
            try:
                self.container = self.client.containers.create(image, **options)
            except docker.errors.ImageNotFound as exc:
                raise ImageMissing(
                    f"sandbox image {image} is not built: run `heldout sandbox build`") from exc
        self.sampler = UsageSampler(self.container, self.cgroup_parent)
        if self.warm is not None:
            self.cpu_before = self.sampler.baseline_cpu()
            _reset_peak(self.sampler)
            self.started = time.monotonic()
            self.warm.send(self.spec.command, self.spec.env)
        else:
            self.started = time.monotonic()
            self.container.start()
        self.sampler.start()
        if self.interrupted:  # interrupted before its container ran: it can't be killed yet
            self.interrupt()

    def interrupt(self) -> None:
        """End the run now, from another thread (its process is stopping); ``finish`` then
        raises, and ``close`` removes the container and run directory as always."""
        self.interrupted = True
        container = self.container
        if container is not None:
            with contextlib.suppress(*engine.ENGINE_ERRORS):
                container.kill()

    def wait(self, seconds: float) -> dict[str, Any] | None:
        return _wait(self.container, seconds)

    def finish(self, status: dict[str, Any] | None, output_dir: Path, *,
               expected_to_run_on: bool = False) -> RunResult:
        """Kill the job if it still runs, read its state and logs, remove it, copy /output.

        ``expected_to_run_on``: a service is stopped by us when its probe is done, which
        is not a timeout.
        """
        assert self.sampler is not None
        if self.interrupted:  # its end is ours, not the job's: never a verdict
            raise SandboxError(STOPPED)
        still_running = status is None
        if status is None:
            with contextlib.suppress(docker.errors.APIError):  # it may have just exited
                self.container.kill()
            status = _wait(self.container, 30.0)
            if status is None:
                raise SandboxError("a killed sandbox container did not stop within 30 s")
        timed_out = still_running and not expected_to_run_on
        stopped = still_running and expected_to_run_on
        wall = time.monotonic() - self.started
        usage = self.sampler.stop()
        self.container.reload()
        oom_killed = bool(self.container.attrs.get("State", {}).get("OOMKilled"))
        exit_code = status.get("StatusCode")
        stdout_raw = self.container.logs(stdout=True, stderr=False)
        stderr_raw = self.container.logs(stdout=False, stderr=True)
        _remove(self.container)
        self.container = None
        release_parent(self.cgroup_parent)
        # The container is gone, so no sandbox process can race the copy below.
        limits = self.limits
        collected = outputs.collect(self.rundir.output, output_dir,
                                    max_bytes=limits.output_mb * 1024 * 1024,
                                    max_files=limits.output_files)
        stdout, stdout_truncated = _tail(stdout_raw, limits.log_bytes)
        stderr, stderr_truncated = _tail(stderr_raw, limits.log_bytes)
        signal = exit_code - 128 if isinstance(exit_code, int) and exit_code > 128 else None
        if stopped and not oom_killed:
            # Our own kill once the probe was done: its 137 / SIGKILL is not the service's.
            exit_code, signal = None, None
        limit = None
        if timed_out:
            limit = "time"
        elif oom_killed:
            limit = "memory"
        elif signal == SIGXFSZ:
            limit = "file_size"
        elif collected.hit_cap:
            limit = "output"
        elif usage.pids_refused and exit_code != 0:
            limit = "processes"
        return RunResult(
            exit_code=exit_code if isinstance(exit_code, int) else None,
            timed_out=timed_out,
            oom_killed=oom_killed,
            wall_seconds=wall,
            cpu_seconds=max(0.0, usage.cpu_seconds - self.cpu_before),
            peak_memory_mb=usage.peak_memory_bytes / (1024 * 1024),
            output_bytes=collected.total_bytes,
            stdout_tail=stdout,
            stderr_tail=stderr,
            stdout_truncated=stdout_truncated,
            stderr_truncated=stderr_truncated,
            outputs=collected.files,
            skipped_outputs=collected.skipped,
            limit=limit,
            signal=signal,
            warm=self.warm is not None,
            stopped=stopped and not oom_killed,
        )

    def close(self) -> None:
        if self.container is not None:
            _remove(self.container)
            self.container = None
            release_parent(self.cgroup_parent)
        self.rundir.close()


def _held(runs: Runs | None, execution: _Execution) -> contextlib.AbstractContextManager[None]:
    return runs.hold(execution) if runs is not None else contextlib.nullcontext()


def _run(spec: JobSpec, output_dir: Path, client: Any | None, pool: WarmPool | None,
         settings: SandboxSettings, runs: Runs | None) -> RunResult:
    client = client or engine.get_client(settings)
    execution = _Execution(client, spec, settings,
                           warm=pool.take(spec) if pool is not None else None)
    try:
        with _held(runs, execution):
            execution.start()
            return execution.finish(execution.wait(spec.limits.wall_seconds), output_dir)
    finally:
        execution.close()


def run_service(service: JobSpec, probe: JobSpec, service_output: Path, probe_output: Path, *,
                client: Any | None = None, settings: SandboxSettings | None = None,
                runs: Runs | None = None) -> tuple[RunResult, RunResult | None]:
    """Start ``service`` (the candidate's server), then run ``probe`` (trusted) in its network.

    The service keeps ``network_mode=none``: it has loopback only. The probe joins that
    network namespace and talks to it on localhost; it has its own file system, so what
    it is given never meets the service's code. The service is stopped when the probe ends
    (or at its own wall limit, which then counts as a timeout). The probe's result is None
    when the service was gone before the probe could join it (a candidate fault).
    """
    settings = or_environment(settings)
    try:
        client = client or engine.get_client(settings)
        server = _Execution(client, service, settings)
        checker: _Execution | None = None
        try:
            with _held(runs, server):
                server.start()
                checker = _Execution(client, probe, settings, network_of=server.container)
                with _held(runs, checker):
                    try:
                        checker.start()
                    except engine.ENGINE_ERRORS:
                        server.container.reload()
                        if server.container.status == "running":
                            raise
                        return server.finish(server.wait(5.0), service_output), None
                    budget = min(probe.limits.wall_seconds, service.limits.wall_seconds)
                    probe_result = checker.finish(checker.wait(budget), probe_output)
                remaining = max(0.0, service.limits.wall_seconds
                                - (time.monotonic() - server.started))
                status = server.wait(0.05) if remaining > 0 else None
                service_result = server.finish(status, service_output,
                                               expected_to_run_on=remaining > 0)
                return service_result, probe_result
        finally:
            if checker is not None:
                checker.close()
            server.close()
    except SandboxError:
        raise
    except engine.ENGINE_ERRORS as exc:
        raise SandboxError(f"the Docker engine failed during the run: {exc}") from exc


def _remove(container: Any) -> None:
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except engine.ENGINE_ERRORS as exc:
        log.error("could not remove sandbox container %s: %s", container.short_id, str(exc))
