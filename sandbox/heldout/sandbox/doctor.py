"""Health checks of the sandbox host: each says OK, or what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.sandbox import engine, image, scratch
from heldout.sandbox.errors import EngineUnavailable


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # a failed optional check is a recommendation for production


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def _daemon_checks(info: dict[str, Any]) -> list[DoctorCheck]:
    security = " ".join(info.get("SecurityOptions", []))
    checks = [
        DoctorCheck("seccomp", "seccomp" in security, f"engine security options: {security or 'none'}",
                    "run dockerd on a kernel with seccomp and do not set seccomp-profile=unconfined"),
        DoctorCheck("user namespaces", "userns" in security,
                    "container root maps to host root" if "userns" not in security
                    else "containers run in a remapped user namespace",
                    'set "userns-remap": "default" in /etc/docker/daemon.json and restart dockerd',
                    required=False),
    ]
    for key, fix in (("protected_symlinks", "sysctl -w fs.protected_symlinks=1"),
                     ("protected_hardlinks", "sysctl -w fs.protected_hardlinks=1")):
        value = _sysctl(f"fs.{key}")
        checks.append(DoctorCheck(f"fs.{key}", value == "1", f"fs.{key} = {value}", fix, required=False))
    return checks


def checks(client: Any | None = None) -> list[DoctorCheck]:
    """Engine, image, daemon hardening and host capabilities the runner relies on."""
    results: list[DoctorCheck] = []
    try:
        client = client or engine.get_client()
    except EngineUnavailable as exc:
        return [DoctorCheck("docker engine", False, str(exc),
                            "start the engine (scripts/run does it on Debian as root), or set DOCKER_HOST")]
    info = client.info()
    version = (f"Docker {info.get('ServerVersion')} ({info.get('Driver')}, "
               f"cgroup v{info.get('CgroupVersion')})")
    results.append(DoctorCheck("docker engine", True, version))
    tag = image.default_image()
    built = image.image_exists(client, tag)
    results.append(DoctorCheck("sandbox image", built, f"{tag} {'is built' if built else 'is missing'}",
                               "" if built else "heldout sandbox build"))
    results.extend(_daemon_checks(info))
    capped = scratch.can_mount()
    results.append(DoctorCheck(
        "capped /output", capped,
        "a size-capped tmpfs is mounted for each run's /output" if capped
        else "not root: /output is a plain directory, capped only by the file-size ulimit",
        "" if capped else "run the worker as root (or give it CAP_SYS_ADMIN) so /output can be capped",
        required=False))
    return results
