"""The sandbox as an interface: the backend protocol and its registry of backends by name.

This is the door to the sandbox: whatever runs untrusted code (the local Docker engine
today, a cluster scheduler tomorrow) is reached through ``get_sandbox`` and the protocol
below, never through a backend's own modules. Backends are found by entry point (group
``heldout.sandbox_backends``), so a new one is a package that declares one.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Protocol

from heldout.sandbox.errors import UnknownBackend
from heldout.sandbox.profiles import DEFAULT_PROFILE
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import Finding, JobSpec, Limits, RunResult, SandboxHealth, ServiceRun, SweepReport

ENTRY_POINT_GROUP = "heldout.sandbox_backends"


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

    def prime(self, limits: Limits, profile: str = DEFAULT_PROFILE) -> None:
        """Keep sandboxes of these limits and this runtime profile ready before the first
        job needs one."""
        ...

    def sweep(self, owner: str | None = None, *, owner_gone: bool = False) -> SweepReport:
        """Remove what dead workers left (of ``owner``, default this sandbox's own): their
        sandboxes, run directories and accounting groups.

        With ``owner_gone`` the caller vouches that no process of that owner is alive (it
        holds the owner's identity itself), so every sandbox of the owner goes, whichever
        process its labels name.
        """
        ...

    def doctor(self) -> tuple[Finding, ...]:
        """Health of the backend, each finding OK or what is wrong and how to fix it."""
        ...

    def health(self) -> SandboxHealth:
        """The quick part of ``doctor``: whether jobs can start now, for health pages and
        start-up checks."""
        ...

    def close(self) -> None:
        """The end of this sandbox (its process is stopping): runs in flight end now, each
        as a ``SandboxError`` whose own clean-up removes what it made; later runs are
        refused; warm sandboxes are removed."""
        ...


class SandboxWrapper:
    """A sandbox that hands everything to ``inner`` but what a subclass adds (a check, a
    count). It does not own ``inner``: closing ``inner`` is its creator's business."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.name = inner.name

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        return self.inner.run(spec, output_dir)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        return self.inner.run_service(service, probe, service_output, probe_output)

    def prime(self, limits: Limits, profile: str = DEFAULT_PROFILE) -> None:
        self.inner.prime(limits, profile)

    def sweep(self, owner: str | None = None, *, owner_gone: bool = False) -> SweepReport:
        return self.inner.sweep(owner, owner_gone=owner_gone)

    def doctor(self) -> tuple[Finding, ...]:
        return self.inner.doctor()

    def health(self) -> SandboxHealth:
        return self.inner.health()

    def close(self) -> None:
        """Nothing: ``inner`` belongs to whoever made it."""


SandboxFactory = Callable[[SandboxSettings], Sandbox]

_BACKENDS: dict[str, SandboxFactory] = {}
_discovered = False


def _loader(entry: EntryPoint) -> SandboxFactory:
    """A factory that imports the backend's module only when a sandbox is first made."""
    def make(settings: SandboxSettings) -> Sandbox:
        factory: SandboxFactory = entry.load()
        return factory(settings)
    return make


def _discover() -> None:
    global _discovered
    if not _discovered:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            _BACKENDS.setdefault(entry.name, _loader(entry))
        _discovered = True


def register_backend(name: str, factory: SandboxFactory) -> None:
    """Make ``factory`` the backend called ``name`` in this process (entry points are the
    way to ship one); a second one of that name is a bug."""
    _discover()
    if name in _BACKENDS and _BACKENDS[name] is not factory:
        raise ValueError(f"a sandbox backend named {name!r} is already registered")
    _BACKENDS[name] = factory


def known_backends() -> list[str]:
    _discover()
    return sorted(_BACKENDS)


def get_sandbox(settings: SandboxSettings | None = None) -> Sandbox:
    """A new sandbox of the backend ``settings.backend`` names, configured with ``settings``
    (default: read from the environment)."""
    settings = or_environment(settings)
    _discover()
    try:
        factory = _BACKENDS[settings.backend]
    except KeyError:
        raise UnknownBackend(settings.backend, list(_BACKENDS)) from None
    return factory(settings)
