"""The sandbox as an interface: the backend protocol, its registry, and the Docker backend."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from heldout.sandbox.errors import UnknownBackend
from heldout.sandbox.spec import JobSpec, Limits, RunResult, ServiceRun, SweepReport

if TYPE_CHECKING:
    from heldout.sandbox.doctor import Finding
    from heldout.sandbox.pool import WarmPool

ENV_BACKEND = "HELDOUT_SANDBOX_BACKEND"
DEFAULT_BACKEND = "docker"


class Sandbox(Protocol):
    """Where untrusted code runs. Every result is a frozen dataclass; a platform fault
    (engine, image, host) raises ``SandboxError``, never a verdict."""

    name: str

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        """Run one job; copy the regular files it left in /output into ``output_dir``."""
        ...

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        """Start ``service`` with no network, then run the trusted ``probe`` in its
        network namespace (and nothing else of it); stop the service when the probe ends."""
        ...

    def prime(self, limits: Limits, image: str | None = None) -> None:
        """Keep sandboxes of this profile ready before the first job needs one."""
        ...

    def sweep(self, owner: str | None = None) -> SweepReport:
        """Remove what dead workers left (of ``owner``, default this host)."""
        ...

    def doctor(self) -> tuple[Finding, ...]:
        """Health of the backend, each finding OK or what is wrong and how to fix it."""
        ...


SandboxFactory = Callable[[], Sandbox]

_BACKENDS: dict[str, SandboxFactory] = {}


def register_backend(name: str, factory: SandboxFactory) -> None:
    """Make ``factory`` the backend called ``name``; a second one of that name is a bug."""
    if name in _BACKENDS and _BACKENDS[name] is not factory:
        raise ValueError(f"a sandbox backend named {name!r} is already registered")
    _BACKENDS[name] = factory


def known_backends() -> list[str]:
    return sorted(_BACKENDS)


def get_sandbox(name: str | None = None) -> Sandbox:
    """A new sandbox of backend ``name`` (default ``$HELDOUT_SANDBOX_BACKEND``, else docker)."""
    chosen = name or os.environ.get(ENV_BACKEND) or DEFAULT_BACKEND
    try:
        factory = _BACKENDS[chosen]
    except KeyError:
        raise UnknownBackend(chosen, list(_BACKENDS)) from None
    return factory()


class DockerSandbox:
    """The local Docker engine (or the one ``DOCKER_HOST`` names) with an optional warm pool.

    The Docker SDK is imported on first use, so holding one costs a process nothing. The
    warm pool belongs to this object: it starts on the first ``prime`` and ends with
    ``close``.
    """

    name = "docker"

    def __init__(self, client: Any | None = None, *, warm_per_profile: int = 1,
                 pool: WarmPool | None = None) -> None:
        self._client = client
        self.warm_per_profile = warm_per_profile
        self._pool = pool
        self._lock = threading.Lock()

    @property
    def pool(self) -> WarmPool | None:
        return self._pool

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        from heldout.sandbox import runner

        return runner.run(spec, output_dir, client=self._client, pool=self._pool)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        from heldout.sandbox import runner

        service_result, probe_result = runner.run_service(service, probe, service_output,
                                                          probe_output, client=self._client)
        return ServiceRun(service=service_result, probe=probe_result)

    def prime(self, limits: Limits, image: str | None = None) -> None:
        if self.warm_per_profile <= 0:
            return
        with self._lock:
            if self._pool is None:
                from heldout.sandbox.pool import WarmPool

                self._pool = WarmPool(self._client, size=self.warm_per_profile)
            pool = self._pool
        pool.prime(limits, image)

    def sweep(self, owner: str | None = None) -> SweepReport:
        from heldout.sandbox import engine

        return SweepReport(tuple(engine.sweep_orphans(self._client, host=owner)))

    def doctor(self) -> tuple[Finding, ...]:
        from heldout.sandbox import doctor

        return tuple(doctor.checks(self._client))

    def close(self) -> None:
        """Remove the warm containers; runs after this start cold."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


register_backend(DockerSandbox.name, DockerSandbox)
