"""Reads what a container costs from the kernel's cgroup counters.

Each run's container is placed under a parent cgroup of our own (``cgroup_parent``,
with the engine's cgroupfs driver). The engine removes the container's cgroup the moment
its last process exits, but the parent stays until we remove it, and the kernel counts
children's usage in it; so the final CPU time and peak memory are read exactly, after
the run. Where that is not possible (systemd driver, a worker that can't see the host's
cgroups) the container's own cgroup is sampled while it runs instead.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CGROUP_ROOT = Path("/sys/fs/cgroup")  # every function takes another root (tests lay out v1 and v2)
SAMPLE_EVERY_S = 0.05


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    peak_memory_bytes: int
    pids_refused: int
    source: str  # "cgroup-v1", "cgroup-v2" or "none" (no cgroup visible from here)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_keyed(path: Path, key: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


PARENT = "heldout"


def _is_v1(root: Path) -> bool:
    return (root / "memory").is_dir()


def parent_cgroup(run_name: str, cgroup_driver: str, root: Path | None = None) -> str | None:
    """The ``cgroup_parent`` for a run, or None where its counters could not be read here."""
    root = root or CGROUP_ROOT
    if cgroup_driver != "cgroupfs" or os.geteuid() != 0:
        return None
    if not (_is_v1(root) or (root / "cgroup.controllers").exists()):
        return None
    return f"/{PARENT}/{run_name}"


def release_parent(parent: str | None, root: Path | None = None) -> None:
    """Remove a run's parent cgroup (empty once its container is gone)."""
    if parent is None:
        return
    root = root or CGROUP_ROOT
    relative = parent.strip("/")
    directories = ([d / relative for d in root.iterdir() if d.is_dir()] if _is_v1(root)
                   else [root / relative])
    for directory in directories:
        with contextlib.suppress(OSError):
            directory.rmdir()


def sweep_parents(in_use: set[str], root: Path | None = None) -> int:
    """Remove run cgroups no container uses (left when an engine died mid-run).

    Only empty cgroups can be removed, so one with a live process in it stays.
    """
    root = root or CGROUP_ROOT
    roots = ([d / PARENT for d in root.iterdir() if d.is_dir()] if _is_v1(root)
             else [root / PARENT])
    removed: set[str] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for run in root.iterdir():
            if not run.is_dir() or run.name in in_use:
                continue
            for leaf in run.iterdir():
                if leaf.is_dir():
                    with contextlib.suppress(OSError):
                        leaf.rmdir()
            with contextlib.suppress(OSError):
                run.rmdir()
                removed.add(run.name)
    return len(removed)


class _CgroupFiles:
    """Locates the cgroup files: the run's parent when it has one, else the container's."""

    def __init__(self, container_id: str, parent: str | None = None, root: Path | None = None) -> None:
        self.root = root or CGROUP_ROOT
        self.container_id = container_id
        self.parent = parent.strip("/") if parent else None
        self.kind = "none"
        self.memory: Path | None = None
        self.cpu: Path | None = None
        self.pids: Path | None = None
        self.locate()

    def locate(self) -> None:
        container_id = self.container_id
        root = self.root
        if self.parent is not None:
            v1_mem = root / "memory" / self.parent
            if v1_mem.is_dir():
                self.kind = "cgroup-v1"
                self.memory = v1_mem / "memory.max_usage_in_bytes"
                self.cpu = root / "cpuacct" / self.parent / "cpuacct.usage"
                self.pids = root / "pids" / self.parent / container_id / "pids.events"
                return
            v2 = root / self.parent
            if (v2 / "cgroup.procs").exists():
                self.kind = "cgroup-v2"
                self.memory = v2 / "memory.peak"
                self.cpu = v2 / "cpu.stat"
                self.pids = v2 / container_id / "pids.events"
                return
        leaves = (f"docker/{container_id}", f"system.slice/docker-{container_id}.scope")
        for leaf in leaves:
            v1_mem = root / "memory" / leaf
            if v1_mem.is_dir():
                self.kind = "cgroup-v1"
                self.memory = v1_mem / "memory.max_usage_in_bytes"
                self.cpu = root / "cpuacct" / leaf / "cpuacct.usage"
                self.pids = root / "pids" / leaf / "pids.events"
                return
            v2 = root / leaf
            if (v2 / "cgroup.procs").exists():
                self.kind = "cgroup-v2"
                self.memory = v2 / "memory.peak"
                self.cpu = v2 / "cpu.stat"
                self.pids = v2 / "pids.events"
                return

    def read(self) -> tuple[float | None, int | None, int | None]:
        if self.kind == "none":
            self.locate()
        cpu: float | None = None
        if self.cpu is not None:
            if self.kind == "cgroup-v1":
                ns = _read_int(self.cpu)
                cpu = ns / 1e9 if ns is not None else None
            else:
                usec = _read_keyed(self.cpu, "usage_usec")
                cpu = usec / 1e6 if usec is not None else None
        memory = _read_int(self.memory) if self.memory is not None else None
        refused = _read_keyed(self.pids, "max") if self.pids is not None else None
        return cpu, memory, refused


class _KernelLog:
    """Watches the kernel log (root only) for the pids controller refusing a fork in one
    container. The kernel writes that line with the cgroup's path the first time the
    limit bites, so it is seen even when the job ends, and its cgroup goes, at once."""

    MESSAGE = "fork rejected by pids controller in "

    def __init__(self, container_id: str) -> None:
        self.container_id = container_id
        self.fd = -1
        if os.geteuid() != 0:
            return
        try:
            self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.lseek(self.fd, 0, os.SEEK_END)
        except OSError:
            self.close()

    def refused_fork(self) -> bool:
        found = False
        while self.fd >= 0:
            try:
                record = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # records were overwritten while we read: go on
                continue
            except OSError:
                break
            if not record:
                break
            text = record.decode("utf-8", "replace")
            if self.MESSAGE in text and self.container_id in text:
                found = True
        return found

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class UsageSampler:
    """Samples a container's cgroup in a thread until stopped; keeps the last and peak values.

    The kernel keeps the peak itself (``max_usage_in_bytes`` / ``memory.peak``), so the
    sampling rate only bounds how much CPU time at the very end can go unseen.
    """

    def __init__(self, container: Any, parent: str | None = None, root: Path | None = None) -> None:
        self._container = container
        self._files = _CgroupFiles(container.id, parent, root)
        self._stop = threading.Event()
        self._cpu = 0.0
        self._memory = 0
        self._refused = 0
        self._thread = threading.Thread(target=self._loop, name="heldout-usage", daemon=True)
        self._kernel_log: _KernelLog | None = None

    @property
    def source(self) -> str:
        return self._files.kind

    @property
    def memory_peak_file(self) -> Path | None:
        return self._files.memory

    def baseline_cpu(self) -> float:
        """CPU seconds used so far (a warm container's imports), to subtract from the job's."""
        cpu, _, _ = self._files.read()
        return cpu or 0.0

    def start(self) -> None:
        """Call once the container has started (its cgroup exists from then on)."""
        if self._files.kind == "none":
            self._files.locate()
        self._kernel_log = _KernelLog(self._files.container_id)
        self._thread.start()

    def sample(self) -> None:
        cpu, memory, refused = self._files.read()
        if cpu is not None:
            self._cpu = max(self._cpu, cpu)
        if memory is not None:
            self._memory = max(self._memory, memory)
        if refused is not None:
            self._refused = max(self._refused, refused)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_EVERY_S)

    def stop(self) -> Usage:
        self.sample()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        refused = self._refused
        if self._kernel_log is not None:
            if self._kernel_log.refused_fork():
                refused = max(refused, 1)
            self._kernel_log.close()
        return Usage(self._cpu, self._memory, refused, self._files.kind)
