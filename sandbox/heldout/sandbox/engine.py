"""Connection to the Docker engine and clean-up of containers left by dead workers."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from heldout.sandbox import accounting, scratch
from heldout.sandbox.errors import EngineUnavailable

log = logging.getLogger(__name__)

LABEL = "heldout.sandbox"
LABEL_HOST = "heldout.host"
LABEL_OWNER_PID = "heldout.owner-pid"
LABEL_RUNDIR = "heldout.rundir"
API_TIMEOUT_S = 30
DEFAULT_API_VERSION = "1.41"  # the oldest we need: private cgroup namespaces

ENGINE_ERRORS: tuple[type[Exception], ...] = (
    docker.errors.APIError,
    docker.errors.DockerException,
    requests.exceptions.ConnectionError,
    requests.exceptions.ReadTimeout,
)


_clients: dict[str, docker.DockerClient] = {}
_clients_lock = threading.Lock()


def get_client() -> docker.DockerClient:
    """The process's client for the engine named by ``DOCKER_HOST`` (or the local socket).

    One client per engine address is kept and shared by threads; each call checks the
    engine still answers, so a dead engine is reported before a job is started.
    """
    address = os.environ.get("DOCKER_HOST", "")
    socket_path = address.removeprefix("unix://") if address.startswith("unix://") else (
        "/var/run/docker.sock" if not address else "")
    if socket_path and not os.path.exists(socket_path):
        raise EngineUnavailable(
            f"no Docker engine answers: {socket_path} does not exist. Start dockerd, or set "
            "DOCKER_HOST; `heldout doctor` says more."
        )
    with _clients_lock:
        client = _clients.get(address)
        if client is None:
            # A fixed API version means no request is made here, so a dead engine leaks
            # no socket.
            version = os.environ.get("DOCKER_API_VERSION", DEFAULT_API_VERSION)
            client = docker.from_env(timeout=API_TIMEOUT_S, version=version)
            _clients[address] = client
    try:
        client.ping()
    except ENGINE_ERRORS as exc:
        with _clients_lock:
            if _clients.get(address) is client:
                del _clients[address]
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


def worker_identity() -> str:
    """Whose containers these are: the worker's stable id (``HELDOUT_WORKER_ID``, set by
    ``heldout worker`` from its data directory), else the host name."""
    return os.environ.get("HELDOUT_WORKER_ID") or socket.gethostname()


def ownership_labels() -> dict[str, str]:
    """Labels that let a later worker tell whose container this was."""
    return {LABEL: "1", LABEL_HOST: worker_identity(), LABEL_OWNER_PID: str(os.getpid())}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_orphans(client: Any | None = None, *, everything: bool = False,
                  host: str | None = None) -> list[str]:
    """Remove sandbox containers of this host (or of ``host``) whose owning process is gone.

    With ``everything`` every sandbox container of that host goes (used when no worker
    can be running, e.g. by tests and at start-up of the only worker).
    """
    client = client or get_client()
    removed: list[str] = []
    host = host or socket.gethostname()
    containers = client.containers.list(all=True, filters={"label": [f"{LABEL}=1", f"{LABEL_HOST}={host}"]})
    for container in containers:
        pid_label = container.labels.get(LABEL_OWNER_PID, "")
        owner_alive = pid_label.isdigit() and int(pid_label) != os.getpid() and _pid_alive(int(pid_label))
        if owner_alive and not everything:
            continue
        if pid_label == str(os.getpid()) and not everything:
            continue
        try:
            container.remove(force=True)
            removed.append(str(container.id))
        except docker.errors.NotFound:
            continue
        rundir = container.labels.get(LABEL_RUNDIR)
        if rundir:
            scratch.discard(Path(rundir))
        log.warning("removed orphaned sandbox container %s (owner pid %s)", container.short_id, pid_label)
    in_use = {c.labels.get(LABEL_RUNDIR, "") for c in client.containers.list(
        all=True, filters={"label": f"{LABEL}=1"})}
    scratch.sweep_stale(in_use, older_than_s=0 if everything else 3600)
    # A run's directory and its cgroup share a name; a cgroup only goes once empty.
    accounting.sweep_parents({Path(path).name for path in in_use if path})
    return removed
