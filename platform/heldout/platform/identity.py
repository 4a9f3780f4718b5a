"""A grading worker's identity: stable across restarts, held by one live worker at a time."""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from heldout.platform.errors import ConfigError

# Lease owners are ``<id>:<life>:<claim>`` in a 64-character column.
WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
ENV_WORKER_ID = "HELDOUT_WORKER_ID"
IDENTITY_KEY = "heldout.worker"  # the app extension a worker keeps its identity under
ID_FILE = "worker-id"


@dataclass(frozen=True)
class WorkerIdentity:
    """Who labels sandbox containers and holds leases.

    ``worker_id`` survives restarts (a file in the worker's data directory, or
    ``HELDOUT_WORKER_ID``); ``life`` is new at every start. ``exclusive`` means this
    process holds the identity's lock, so whatever carries the id from another life is
    an orphan; a process that can't get the lock runs under a fresh id of its own.
    """

    worker_id: str
    life: str
    exclusive: bool


class IdentityLock:
    """The open lock file that keeps an identity ours; released by ``close`` or exit."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _new_id() -> str:
    return f"worker-{secrets.token_hex(6)}"


def _read_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        text = path.read_text(encoding="utf-8").strip()
        if not WORKER_ID.fullmatch(text):
            raise ConfigError(f"{path}: {text!r} is not a worker id (letters, digits, '.', "
                              "'_', '-'; at most 40); delete the file to get a new one") from None
        return text
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        worker_id = _new_id()
        handle.write(worker_id + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return worker_id


def _lock(directory: Path, worker_id: str) -> int | None:
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{worker_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.set_inheritable(fd, False)
    return fd


def claim_identity(data_dir: Path, configured: str | None = None
                   ) -> tuple[WorkerIdentity, IdentityLock]:
    """This worker's identity: ``configured`` (``HELDOUT_WORKER_ID``) or the persisted one.

    The identity is exclusive while its lock is held; a second worker started on the same
    data directory while the first runs gets a fresh, unpersisted id instead of sharing.
    """
    if configured:
        if not WORKER_ID.fullmatch(configured):
            raise ConfigError(f"{ENV_WORKER_ID}={configured!r}: letters, digits, '.', '_', "
                              "'-'; at most 40")
        worker_id = configured
    else:
        worker_id = _read_or_create(data_dir / ID_FILE)
    locks = data_dir / "worker-locks"
    fd = _lock(locks, worker_id)
    exclusive = fd is not None
    if fd is None:
        worker_id = _new_id()  # used by this process alone: nothing to lock
    return WorkerIdentity(worker_id, secrets.token_hex(6), exclusive), IdentityLock(fd)
