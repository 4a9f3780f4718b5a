"""Immutable values that describe a sandbox job and what came out of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from heldout.sandbox.profiles import DEFAULT_PROFILE, get_profile

# Each run gets a user id of its own from this range (never a host account's), so
# per-user kernel quotas (inotify instances, message queues, pipe buffers, process
# counts) are not shared between runs that are alive at the same time.
RUN_UIDS = range(200_000, 1_200_000)

WORKSPACE = "/workspace"
DATA = "/data"
OUTPUT = "/output"
TMP = "/tmp"  # noqa: S108 - a path inside the container, capped tmpfs
HARNESS = "/harness"  # a kind's trusted harness code and hidden inputs (read-only)
CONTROL = "/run/heldout"  # the warm launcher's job pipe (read-only mount)
LAUNCHER = ("python", "/opt/heldout/launch.py")


@dataclass(frozen=True)
class Limits:
    """Resource caps for one run. Every field is enforced by the kernel or by the runner."""

    wall_seconds: float = 60.0
    memory_mb: int = 1024
    cpus: float = 1.0
    pids: int = 128
    nofile: int = 256
    file_size_mb: int = 128
    output_mb: int = 64
    tmp_mb: int = 256
    output_files: int = 256
    log_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "memory_mb", "cpus", "pids", "nofile", "file_size_mb",
                     "output_mb", "tmp_mb", "output_files", "log_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"limit {name} must be a positive number, got {value!r}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], base: Limits | None = None) -> Limits:
        """Build limits from a mapping (e.g. a bundle's [limits] table); unknown keys fail."""
        base = base or cls()
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown limit(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = {name: getattr(base, name) for name in known}
        values.update(raw)
        return cls(**values)

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class JobSpec:
    """One run of untrusted code.

    ``workspace``, ``data`` and ``harness`` are host directories mounted read-only at
    /workspace, /data and /harness. Nothing else of the host is visible to the job.
    ``profile`` names the runtime profile whose image the job runs in (see
    :mod:`heldout.sandbox.profiles`); ``image``, when given, overrides it.
    """

    command: tuple[str, ...]
    workspace: Path
    data: Path | None = None
    harness: Path | None = None
    limits: Limits = field(default_factory=Limits)
    image: str | None = None
    profile: str = DEFAULT_PROFILE
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.command or not all(isinstance(part, str) for part in self.command):
            raise ValueError("command must be a non-empty tuple of strings")
        object.__setattr__(self, "command", tuple(self.command))
        get_profile(self.profile)  # an unknown profile fails here, with the known ones
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))


@dataclass(frozen=True)
class OutputFile:
    """A regular file the job left in /output, copied to the host."""

    name: str  # path relative to /output, POSIX separators
    size: int
    path: Path  # host path of the copy


@dataclass(frozen=True)
class RunResult:
    """What a run did and cost. ``limit`` names the cap that ended it, if any."""

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    wall_seconds: float
    cpu_seconds: float
    peak_memory_mb: float
    output_bytes: int
    stdout_tail: str
    stderr_tail: str
    stdout_truncated: bool
    stderr_truncated: bool
    outputs: tuple[OutputFile, ...]
    skipped_outputs: tuple[str, ...]
    limit: str | None = None
    signal: int | None = None
    warm: bool = False  # ran in a pre-started container
    # Still running when its work was done, and stopped by the sandbox on purpose (a service
    # once its probe has finished): no exit code of its own, and not a crash.
    stopped: bool = False

    def output(self, name: str) -> OutputFile | None:
        for item in self.outputs:
            if item.name == name:
                return item
        return None

    def as_dict(self) -> dict[str, Any]:
        """The ``run`` object of the ``heldout grade --json`` contract (plus extras)."""
        return {
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "oom_killed": self.oom_killed,
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "output_bytes": self.output_bytes,
            "stdout_tail": self.stdout_tail,
            "stderr_tail": self.stderr_tail,
            "limit": self.limit,
            "signal": self.signal,
            "warm": self.warm,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class ServiceRun:
    """A service and the trusted probe that ran beside it in its network namespace.

    ``probe`` is None when the service was gone before the probe could join it (a
    candidate fault: the service crashed at start-up).
    """

    service: RunResult
    probe: RunResult | None


@dataclass(frozen=True)
class SweepReport:
    """What a sweep removed of what dead workers left: their sandboxes (by id), run
    directories and accounting groups (how many)."""

    containers: tuple[str, ...]
    run_dirs: int = 0
    cgroups: int = 0


@dataclass(frozen=True)
class Finding:
    """One health check: OK, or what is wrong and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # a failed optional check is a recommendation for production


@dataclass(frozen=True)
class SandboxHealth:
    """Whether jobs can start now: the backend's engine answers and the image jobs run in
    is there. ``warm`` counts the sandboxes started ahead of their jobs that are alive
    (None where the backend can't tell)."""

    engine: Finding
    image: Finding
    image_name: str
    warm: int | None = None

    @property
    def ready(self) -> bool:
        return self.engine.ok and self.image.ok
