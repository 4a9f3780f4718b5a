"""The local Docker engine as a sandbox backend: the entry point ``docker``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heldout.sandbox.errors import SandboxError
from heldout.sandbox.profiles import DEFAULT_PROFILE
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import Finding, JobSpec, Limits, RunResult, SandboxHealth, ServiceRun, SweepReport
from heldout.sandbox.stopping import Runs

if TYPE_CHECKING:
    from heldout.sandbox.pool import WarmPool


class DockerSandbox:
    """The Docker engine ``settings.docker_host`` names (or the local socket), with a warm
    pool of ``settings.warm_per_profile`` containers per profile once primed.

    The Docker SDK is imported on first use, so holding one costs a process nothing. The
    warm pool belongs to this object: it starts on the first ``prime`` and ends with
    ``close``, as do the runs in flight.
    """

    name = "docker"

    def __init__(self, settings: SandboxSettings | None = None, *, client: Any | None = None,
                 pool: WarmPool | None = None) -> None:
        self.settings = or_environment(settings)
        self._client = client
        self._pool = pool
        self._lock = threading.Lock()
        self._runs = Runs()

    @property
    def pool(self) -> WarmPool | None:
        return self._pool

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        from heldout.sandbox import runner

        return runner.run(spec, output_dir, client=self._client, pool=self._pool,
                          settings=self.settings, runs=self._runs)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        from heldout.sandbox import runner

        service_result, probe_result = runner.run_service(
            service, probe, service_output, probe_output, client=self._client,
            settings=self.settings, runs=self._runs)
        return ServiceRun(service=service_result, probe=probe_result)

    def prime(self, limits: Limits, profile: str = DEFAULT_PROFILE) -> None:
        if self.settings.warm_per_profile <= 0:
            return
        with self._lock:
            if self._pool is None:
                from heldout.sandbox.pool import WarmPool

                self._pool = WarmPool(self._client, size=self.settings.warm_per_profile,
                                      settings=self.settings)
            pool = self._pool
        from heldout.sandbox.image import profile_image

        pool.prime(limits, profile_image(profile, self.settings))

    def sweep(self, owner: str | None = None, *, owner_gone: bool = False) -> SweepReport:
        from heldout.sandbox import engine

        try:
            return engine.sweep_orphans(self._client, self.settings, owner=owner,
                                        owner_gone=owner_gone)
        except engine.ENGINE_ERRORS as exc:
            raise SandboxError(f"the Docker engine failed during the sweep: "
                               f"{type(exc).__name__}: {exc}") from exc

    def doctor(self) -> tuple[Finding, ...]:
        from heldout.sandbox import doctor

        return tuple(doctor.checks(self._client, self.settings))

    def health(self) -> SandboxHealth:
        from heldout.sandbox import doctor, engine

        try:
            return doctor.health(self._client, self.settings)
        except engine.ENGINE_ERRORS as exc:
            raise SandboxError(f"the Docker engine failed: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """End the runs in flight (each a ``SandboxError``; its own clean-up removes its
        container and run directory), refuse later ones, remove the warm containers."""
        self._runs.stop()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
