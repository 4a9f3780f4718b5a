"""The sandbox's settings: one frozen value, from the platform's config or the environment.

Every sandbox setting is listed once, in ``OPTIONS``: the platform's ``config.py`` lists
them among its own (so ``heldout settings`` and SETTINGS.md show them), and commands that
run without the platform (``heldout grade``, ``heldout sandbox build``) read them from the
environment with ``SandboxSettings.from_environment``. No other module of heldout reads
them from the environment.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.sandbox.errors import SandboxError


class BadSetting(SandboxError, ValueError):
    """A sandbox setting's value can't be used (the platform's fault: fix the setting)."""


def text(value: str) -> str:
    return value.strip()


def non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


@dataclass(frozen=True)
class Option:
    """One sandbox setting: its variable, the ``SandboxSettings`` field it fills, its
    default, how its text is read and what it means."""

    name: str
    field: str
    default: Any
    parse: Callable[[str], Any]
    help: str


DEFAULT_BACKEND = "docker"
DEFAULT_API_VERSION = "1.41"  # the oldest Docker API with private cgroup namespaces

OPTIONS: tuple[Option, ...] = (
    Option("HELDOUT_SANDBOX_BACKEND", "backend", DEFAULT_BACKEND, text,
           "Sandbox backend that runs candidate code, by the name it registers under (entry "
           "point group `heldout.sandbox_backends`); `docker`, the local Docker engine, ships "
           "with heldout. An unknown name fails with the list of known ones."),
    Option("HELDOUT_SANDBOX_IMAGE", "image", "", text,
           "Image jobs of the default runtime profile run in. Empty (the default): the runtime "
           "image `heldout sandbox build` makes, `heldout-runtime:<content hash>`. Other "
           "profiles (a bundle's `profile`, e.g. `deep-learning`) always run in their own "
           "content-addressed image, layered on this one."),
    Option("HELDOUT_SANDBOX_WARM", "warm_per_profile", 2, non_negative_int,
           "Pre-started sandbox containers (scientific stack already imported) a worker keeps "
           "ready per challenge profile; 0 starts every run cold."),
    Option("HELDOUT_SANDBOX_RUNTIME", "runtime", "", text,
           "OCI runtime of the sandbox containers, e.g. `runsc` (gVisor) once installed and "
           "registered with the engine. Empty (the default): the engine's own; `heldout "
           "doctor` fails when the engine lacks the one named."),
    Option("HELDOUT_RUN_DIR", "run_dir", "", text,
           "Per-run host directories (staged workspace and data, capped `/output`). Empty (the "
           "default): `/var/lib/heldout/runs` as root, else `~/.cache/heldout/runs`. A worker "
           "in a container needs the same path on the host and inside."),
    Option("HELDOUT_CACHE_DIR", "cache_dir", "", text,
           "Wheelhouses for offline image builds. Empty (the default): `heldout` in "
           "`$XDG_CACHE_HOME` (`~/.cache/heldout`)."),
    Option("HELDOUT_DEBIAN_MIRROR", "debian_mirror", "", text,
           "Mirror for building the base image with debootstrap when no registry answers. "
           "Empty (the default): the host's own apt source, else `http://deb.debian.org/debian`."),
    Option("DOCKER_HOST", "docker_host", "", text,
           "Engine the sandbox runs jobs on. Empty (the default): the local socket. It must run "
           "on the worker's own machine: runs bind-mount worker-local paths (per-run "
           "directories, the capped `/output` tmpfs), so use the default socket or another "
           "local `unix://` socket; a remote `tcp://` or `ssh://` engine cannot see those paths "
           "and does not work."),
    Option("DOCKER_API_VERSION", "docker_api_version", DEFAULT_API_VERSION, text,
           "Docker API version the sandbox speaks; 1.41 is the oldest it needs (private "
           "cgroup namespaces)."),
)


def default_run_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/heldout/runs")
    return Path.home() / ".cache" / "heldout" / "runs"


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "heldout"


@dataclass(frozen=True)
class SandboxSettings:
    """Everything a sandbox backend is configured with; see ``OPTIONS`` for each meaning.

    ``owner`` names whose sandboxes these are (a worker's identity), so that a later life
    of that worker can remove what this one left; empty means this host's name.
    """

    backend: str
    image: str
    warm_per_profile: int
    runtime: str
    run_dir: Path
    cache_dir: Path
    debian_mirror: str
    docker_host: str
    docker_api_version: str
    owner: str = ""

    @property
    def owner_name(self) -> str:
        return self.owner or socket.gethostname()

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, owner: str = "") -> SandboxSettings:
        """From parsed values keyed by variable name (the platform's config); a variable
        missing from ``values`` takes its default."""
        chosen = {option.field: values.get(option.name, option.default) for option in OPTIONS}
        run_dir, cache_dir = chosen.pop("run_dir"), chosen.pop("cache_dir")
        return cls(**chosen, owner=owner,
                   run_dir=Path(run_dir).expanduser() if run_dir else default_run_dir(),
                   cache_dir=Path(cache_dir).expanduser() if cache_dir else default_cache_dir())

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> SandboxSettings:
        """From the environment (``os.environ`` unless given): for what runs without the
        platform. A value that can't be read raises ``BadSetting`` naming it."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for option in OPTIONS:
            if option.name in env:
                try:
                    values[option.name] = option.parse(env[option.name])
                except ValueError as exc:
                    raise BadSetting(f"{option.name}={env[option.name]!r}: {exc}") from exc
        return cls.from_values(values)


def or_environment(settings: SandboxSettings | None) -> SandboxSettings:
    """``settings``, or the environment's when None (a caller without the platform)."""
    return settings if settings is not None else SandboxSettings.from_environment()
