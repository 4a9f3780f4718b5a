"""Connection to the Docker engine and clean-up of containers left by dead workers."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from heldout.sandbox import accounting, scratch
from heldout.sandbox.errors import EngineUnavailable
from heldout.sandbox.settings import SandboxSettings, or_environment
from heldout.sandbox.spec import SweepReport

log = logging.getLogger(__name__)

LABEL = "heldout.sandbox"
LABEL_HOST = "heldout.host"
LABEL_OWNER_PID = "heldout.owner-pid"
LABEL_RUNDIR = "heldout.rundir"
LABEL_WARM = "heldout.warm"  # started ahead of its job
API_TIMEOUT_S = 30

ENGINE_ERRORS: tuple[type[Exception], ...] = (
    docker.errors.APIError,
    docker.errors.DockerException,
    requests.exceptions.ConnectionError,
    requests.exceptions.ReadTimeout,
)


_clients: dict[tuple[str, str], docker.DockerClient] = {}
_clients_lock = threading.Lock()


def get_client(settings: SandboxSettings | None = None) -> docker.DockerClient:
    """The process's client for the engine ``settings.docker_host`` names (or the local
    socket); settings default to the environment's.

    One client per engine address is kept and shared by threads; each call checks the
    engine still answers, so a dead engine is reported before a job is started.
    """
    settings = or_environment(settings)
    address = settings.docker_host
    socket_path = address.removeprefix("unix://") if address.startswith("unix://") else (
        "/var/run/docker.sock" if not address else "")
    if socket_path and not os.path.exists(socket_path):
        raise EngineUnavailable(
            f"no Docker engine answers: {socket_path} does not exist. Start dockerd, or set "
            "DOCKER_HOST; `heldout doctor` says more."
        )
    key = (address, settings.docker_api_version)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            # A fixed API version means no request is made here, so a dead engine leaks
            # no socket.
            client = docker.DockerClient(base_url=address or None, timeout=API_TIMEOUT_S,
                                         version=settings.docker_api_version)
            _clients[key] = client
    try:
        client.ping()
    except ENGINE_ERRORS as exc:
        with _clients_lock:
            if _clients.get(key) is client:
                del _clients[key]
        client.close()
        raise EngineUnavailable(
            f"no Docker engine answers ({exc.__class__.__name__}: {exc}). Start dockerd, "
            "or set DOCKER_HOST; `heldout doctor` says more."
        ) from exc
    return client


_drivers: dict[int, str] = {}


def cgroup_driver(client: Any) -> str:
    """The engine's cgroup driver ("cgroupfs" or "systemd"), asked once per client."""
    key = id(client)
    if key not in _drivers:
        _drivers[key] = str(client.info().get("CgroupDriver", ""))
    return _drivers[key]


def close_clients() -> None:
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def ownership_labels(owner: str) -> dict[str, str]:
    """Labels that let a later worker tell whose container this was."""
    return {LABEL: "1", LABEL_HOST: owner, LABEL_OWNER_PID: str(os.getpid())}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _orphaned(container: Any) -> bool:
    """Whether the process that started ``container`` is gone (ours is alive)."""
    pid_label = container.labels.get(LABEL_OWNER_PID, "")
    return not (pid_label.isdigit() and _pid_alive(int(pid_label)))


def sweep_orphans(client: Any | None = None, settings: SandboxSettings | None = None, *,
                  owner: str | None = None, owner_gone: bool = False) -> SweepReport:
    """Remove the sandbox containers of ``owner`` (default the settings' own) whose owning
    process is gone, with their run directories; then run directories no container uses
    that are over an hour old, and run cgroups no container uses.

    With ``owner_gone`` every container of that owner goes, whichever process it names:
    the caller holds the owner's identity, so any of them is an earlier life's (a
    restarted worker container may even get its old process id back).
    """
    settings = or_environment(settings)
    client = client or get_client(settings)
    removed: list[str] = []
    owner = owner or settings.owner_name
    containers = client.containers.list(all=True, filters={"label": [f"{LABEL}=1", f"{LABEL_HOST}={owner}"]})
    for container in containers:
        if not owner_gone and not _orphaned(container):
            continue
        try:
            container.remove(force=True)
            removed.append(str(container.id))
        except docker.errors.NotFound:
            continue
        rundir = container.labels.get(LABEL_RUNDIR)
        if rundir:
            scratch.discard(Path(rundir), settings.run_dir)
        log.warning("removed orphaned sandbox container %s (owner %s, pid %s)", container.short_id,
                    owner, container.labels.get(LABEL_OWNER_PID, ""))
    in_use = {c.labels.get(LABEL_RUNDIR, "") for c in client.containers.list(
        all=True, filters={"label": f"{LABEL}=1"})}
    run_dirs = scratch.sweep_stale(in_use, settings.run_dir, older_than_s=3600)
    # A run's directory and its cgroup share a name; a cgroup only goes once empty.
    cgroups = accounting.sweep_parents({Path(path).name for path in in_use if path})
    return SweepReport(tuple(removed), run_dirs=run_dirs, cgroups=cgroups)
