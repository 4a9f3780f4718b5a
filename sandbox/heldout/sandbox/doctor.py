"""Health checks of the sandbox host: each says OK, or what is wrong and how to fix it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from heldout.sandbox import engine, image, scratch
from heldout.sandbox.errors import EngineUnavailable
from heldout.sandbox.profiles import PROFILES
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import Finding, SandboxHealth

ENGINE = "docker engine"
IMAGE = "sandbox image"


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def _daemon_json() -> dict[str, Any]:
    try:
        loaded = json.loads(Path("/etc/docker/daemon.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _bridge_icc(client: Any) -> bool | None:
    try:
        bridge = client.networks.get("bridge")
    except Exception:
        return None
    value = bridge.attrs.get("Options", {}).get("com.docker.network.bridge.enable_icc", "true")
    return str(value).lower() != "false"


def _metadata_blocked() -> bool | None:
    """Whether an iptables rule drops traffic to the cloud metadata address."""
    if shutil.which("iptables-save") is None:
        return None
    result = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return any("169.254.169.254" in line and ("DROP" in line or "REJECT" in line)
               for line in result.stdout.splitlines())


def _production_checks(client: Any, info: dict[str, Any], runtime: str) -> list[Finding]:
    """What a production host should have; sandboxes run without network, so these are
    defence in depth for the deployment kind's networks and for engine-level escapes."""
    daemon = _daemon_json()
    log_opts = daemon.get("log-opts", {}) if isinstance(daemon.get("log-opts"), dict) else {}
    icc = _bridge_icc(client)
    metadata = _metadata_blocked()
    runtimes = sorted(info.get("Runtimes", {}))
    wanted_runtime = runtime
    return [
        Finding("log rotation", "max-size" in log_opts,
                    f"daemon log-opts: {log_opts or 'none'} (sandboxes set their own cap)",
                    'set "log-opts": {"max-size": "10m", "max-file": "3"} in /etc/docker/daemon.json',
                    required=False),
        Finding("inter-container traffic", icc is False,
                    "icc is disabled on the default bridge" if icc is False
                    else "containers on the default bridge can talk to each other",
                    'set "icc": false in /etc/docker/daemon.json', required=False),
        Finding("metadata address", metadata is True,
                    "traffic to 169.254.169.254 is dropped" if metadata
                    else "no firewall rule drops 169.254.169.254 (cloud credentials)",
                    "iptables -I DOCKER-USER -d 169.254.169.254 -j DROP", required=False),
        Finding("sandbox runtime", not wanted_runtime or wanted_runtime in runtimes,
                    f"HELDOUT_SANDBOX_RUNTIME={wanted_runtime or '(engine default)'}; "
                    f"installed: {', '.join(runtimes)}",
                    f"install {wanted_runtime} and register it in /etc/docker/daemon.json"
                    if wanted_runtime else ""),
    ]


def _daemon_checks(info: dict[str, Any]) -> list[Finding]:
    security = " ".join(info.get("SecurityOptions", []))
    checks = [
        Finding("seccomp", "seccomp" in security, f"engine security options: {security or 'none'}",
                    "run dockerd on a kernel with seccomp and do not set seccomp-profile=unconfined"),
        Finding("user namespaces", "userns" in security,
                    "container root maps to host root" if "userns" not in security
                    else "containers run in a remapped user namespace",
                    'set "userns-remap": "default" in /etc/docker/daemon.json and restart dockerd',
                    required=False),
    ]
    for key, fix in (("protected_symlinks", "sysctl -w fs.protected_symlinks=1"),
                     ("protected_hardlinks", "sysctl -w fs.protected_hardlinks=1")):
        value = _sysctl(f"fs.{key}")
        checks.append(Finding(f"fs.{key}", value == "1", f"fs.{key} = {value}", fix, required=False))
    return checks


def _engine_down(exc: EngineUnavailable) -> Finding:
    return Finding(ENGINE, False, str(exc),
                   "start the engine (scripts/run does it on Debian as root), or set DOCKER_HOST")


def _engine_finding(info: dict[str, Any]) -> Finding:
    return Finding(ENGINE, True, f"Docker {info.get('ServerVersion')} ({info.get('Driver')}, "
                                 f"cgroup v{info.get('CgroupVersion')})")


def _image_finding(client: Any, tag: str) -> Finding:
    built = image.image_exists(client, tag)
    return Finding(IMAGE, built, f"{tag} {'is built' if built else 'is missing'}",
                   "" if built else "heldout sandbox build")


def _profile_findings(client: Any, settings: SandboxSettings) -> list[Finding]:
    """The other runtime profiles' images: optional, as only the bundles that name a
    profile need its image (their runs fail as platform errors, retried, until it is built)."""
    findings = []
    for name, profile in PROFILES.items():
        if profile.context is None:
            continue
        tag = image.profile_image(name, settings)
        built = image.image_exists(client, tag)
        findings.append(Finding(f"{IMAGE} ({name})", built,
                                f"{tag} {'is built' if built else 'is missing'}: {profile.summary}",
                                "" if built else f"heldout sandbox build --profile {name}",
                                required=False))
    return findings


def health(client: Any | None, settings: SandboxSettings) -> SandboxHealth:
    """Engine and image (what a job needs to start), and the pre-started containers alive."""
    tag = image.default_image(settings)
    try:
        client = client or engine.get_client(settings)
    except EngineUnavailable as exc:
        return SandboxHealth(_engine_down(exc), Finding(
            IMAGE, False, "Unknown: the engine is unreachable.", "Fix the engine first."),
            image_name=tag)
    warm = client.containers.list(filters={"label": [f"{engine.LABEL}=1", f"{engine.LABEL_WARM}=1"],
                                           "status": "running"})
    return SandboxHealth(_engine_finding(client.info()), _image_finding(client, tag),
                         image_name=tag, warm=len(warm))


def checks(client: Any | None = None, settings: SandboxSettings | None = None) -> list[Finding]:
    """Engine, image, daemon hardening and host capabilities the runner relies on
    (settings default to the environment's)."""
    settings = or_environment(settings)
    try:
        client = client or engine.get_client(settings)
    except EngineUnavailable as exc:
        return [_engine_down(exc)]
    info = client.info()
    results = [_engine_finding(info), _image_finding(client, image.default_image(settings))]
    results.extend(_profile_findings(client, settings))
    results.extend(_daemon_checks(info))
    results.extend(_production_checks(client, info, settings.runtime))
    capped = scratch.can_mount()
    results.append(Finding(
        "capped /output", capped,
        "a size-capped tmpfs is mounted for each run's /output" if capped
        else "not root: /output is a plain directory, capped only by the file-size ulimit",
        "" if capped else "run the worker as root (or give it CAP_SYS_ADMIN) so /output can be capped",
        required=False))
    return results
