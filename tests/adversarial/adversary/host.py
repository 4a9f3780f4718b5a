"""The host side: canary files, the guard that checks a test left the host unharmed, a listener."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import selectors
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any, cast

from heldout.sandbox.spec import RUN_UIDS

SANDBOX_UIDS = RUN_UIDS  # every run has a user id of its own from this range
MEMORY_TOLERANCE = 384 * 1024 * 1024
DISK_TOLERANCE = 1024 * 1024 * 1024
SETTLE_SECONDS = 20.0


@dataclass(frozen=True)
class Canaries:
    """Host files no sandbox may change, and a path none may create."""

    files: tuple[Path, ...]
    digests: Mapping[Path, tuple[str, int, int]]
    must_stay_absent: Path

    def problems(self) -> list[str]:
        found = []
        for path in self.files:
            try:
                now = fingerprint(path)
            except OSError as exc:
                found.append(f"host canary {path} is gone: {exc}")
                continue
            if now != self.digests[path]:
                found.append(f"host canary {path} changed")
        if os.path.lexists(self.must_stay_absent):
            found.append(f"{self.must_stay_absent} exists: candidate code ran on the host")
        return found


def fingerprint(path: Path) -> tuple[str, int, int]:
    info = path.lstat()
    return sha256(path.read_bytes()).hexdigest(), info.st_mode, info.st_mtime_ns


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def _outside_rss() -> int:
    """Resident memory of the host's processes outside any container: this test process and
    whatever else runs here (scripts/test runs two more pytest sessions, their servers and
    browsers beside this one). A growth there is theirs, not something a sandbox left."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if CONTAINER_ID.search((entry / "cgroup").read_text()):
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, ValueError):
            continue
    return total


def _disk_free(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


def _uid_of(pid: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def sandbox_processes() -> list[tuple[int, str, str | None]]:
    """Host processes of the sandbox uid: (pid, command, container id or None)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _uid_of(entry.name) not in SANDBOX_UIDS:
            continue
        try:
            cgroup = (entry / "cgroup").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        match = CONTAINER_ID.search(cgroup)
        found.append((int(entry.name), command.strip()[:120], match[0] if match else None))
    return found


def run_cgroups() -> set[str]:
    """Names of the per-run parent cgroups the sandbox makes (one per run directory)."""
    try:
        from heldout.sandbox.accounting import PARENT
    except ImportError:  # a sandbox without per-run cgroups
        return set()
    found: set[str] = set()
    root = Path("/sys/fs/cgroup")
    for base in (root / "memory" / PARENT, root / "pids" / PARENT, root / PARENT):
        if base.is_dir():
            found |= {entry.name for entry in base.iterdir() if entry.is_dir()}
    return found


@dataclass
class HostState:
    networks: set[str]
    rundirs: set[str]
    cgroups: set[str]
    mem_available: int
    outside_rss: int
    disk_free: int


class HostGuard:
    """Checks that a test left the host as it found it; cleans up what it may own."""

    def __init__(self, client: Any, canaries: Canaries) -> None:
        from heldout.sandbox import engine
        from heldout.sandbox.settings import SandboxSettings

        self.client = client
        self.canaries = canaries
        self.label = engine.LABEL
        self.owner_label = engine.LABEL_OWNER_PID
        self.rundir_label = engine.LABEL_RUNDIR
        self.runs_root = SandboxSettings.from_environment().run_dir

    def _sandbox_containers(self) -> list[dict[str, Any]]:
        # The low-level call lists without inspecting each container, so a colleague's
        # container removed meanwhile can't make the listing fail.
        found: list[dict[str, Any]] = self.client.api.containers(
            all=True, filters={"label": f"{self.label}=1"})
        return found

    def _mine(self, container: Mapping[str, Any]) -> bool:
        return (container.get("Labels") or {}).get(self.owner_label) == str(os.getpid())

    def snapshot(self) -> HostState:
        self.runs_root.mkdir(parents=True, exist_ok=True)
        return HostState(
            networks={n.id for n in self.client.networks.list()},
            rundirs={p.name for p in self.runs_root.iterdir()},
            cgroups=run_cgroups(),
            mem_available=_mem_available(),
            outside_rss=_outside_rss(),
            disk_free=_disk_free(self.runs_root),
        )

    def problems(self, before: HostState) -> list[str]:
        found = self.canaries.problems()
        containers = self._sandbox_containers()
        others = {c["Id"]: c for c in containers if not self._mine(c)}
        mine = [c for c in containers if self._mine(c)]
        found += [f"sandbox container left behind: {c['Names']} ({c['Status']})" for c in mine]
        for pid, command, container_id in sandbox_processes():
            if container_id is not None and container_id in others:
                continue  # a live sandbox of another process on this host (a colleague's run)
            where = f"container {container_id[:12]}" if container_id else "no container"
            found.append(f"process of a sandbox uid alive on the host: pid {pid} "
                         f"({where}): {command}")
        new_networks = {n.id: n for n in self.client.networks.list()
                        if n.id not in before.networks}
        found += [f"new Docker network {n.name}" for n in new_networks.values()]
        in_use = {(c.get("Labels") or {}).get(self.rundir_label, "") for c in others.values()}
        for child in self.runs_root.iterdir():
            if child.name not in before.rundirs and str(child) not in in_use:
                found.append(f"run directory left behind: {child}")
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        for line in mounts:
            point = line.split()[1] if len(line.split()) > 1 else ""
            if point.startswith(f"{self.runs_root}/") and not any(
                    point.startswith(f"{path}/") for path in in_use if path):
                found.append(f"mount left behind: {point}")
        busy = {Path(path).name for path in in_use if path}
        found += [f"run cgroup left behind: {name}"
                  for name in sorted(run_cgroups() - before.cgroups - busy)]
        # Host-wide, less what processes outside containers (other sessions) grew by.
        memory_drop = before.mem_available - _mem_available()
        outside_growth = max(0, _outside_rss() - before.outside_rss)
        if memory_drop - outside_growth > MEMORY_TOLERANCE:
            found.append(f"MemAvailable is {memory_drop // 2**20} MiB below where it was "
                         f"({outside_growth // 2**20} MiB of it held by processes outside "
                         "containers)")
        disk_drop = before.disk_free - _disk_free(self.runs_root)
        if disk_drop > DISK_TOLERANCE:
            found.append(f"free disk is {disk_drop // 2**20} MiB below where it was")
        return found

    def settle(self, before: HostState) -> list[str]:
        """Problems that persist: memory and processes may take a moment to go."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            found = self.problems(before)
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)

    def clean_up(self) -> None:
        """Remove what this test process left, so one failure doesn't poison the next test."""
        for container in self._sandbox_containers():
            if self._mine(container):
                rundir = (container.get("Labels") or {}).get(self.rundir_label)
                with contextlib.suppress(Exception):
                    self.client.api.remove_container(container["Id"], force=True)
                if rundir:
                    from heldout.sandbox import scratch

                    scratch.discard(Path(rundir), self.runs_root)


class HostListener:
    """TCP and UDP on 0.0.0.0 and an abstract Unix socket, counting whoever reaches them."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(16)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", self.port))
        self.abstract_name = f"heldout-adversarial-{self.token}"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.abstract_name)
        self.unix.listen(16)
        self.contacts: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="adversarial-listener",
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        for sock in (self.tcp, self.udp, self.unix):
            selector.register(sock, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                sock = cast(socket.socket, key.fileobj)  # only sockets were registered
                if sock is self.udp:
                    _, peer = self.udp.recvfrom(65536)
                    self.contacts.append(f"udp from {peer}")
                else:
                    conn, peer = sock.accept()
                    self.contacts.append(f"{'unix' if sock is self.unix else 'tcp'} from {peer!r}")
                    conn.close()
        selector.close()

    def addresses(self) -> list[str]:
        found = {"127.0.0.1", "172.17.0.1"}
        try:
            out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True,
                                 check=True, timeout=10).stdout
            for link in json.loads(out):
                found.update(a["local"] for a in link.get("addr_info", []) if "local" in a)
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        return sorted(found)

    def self_test(self) -> None:
        """Prove the listener works from the host, so 'no contact' later means something."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5):
            pass
        deadline = time.monotonic() + 5
        while not self.contacts and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.contacts, "the host listener does not accept connections"
        self.contacts.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in (self.tcp, self.udp, self.unix):
            sock.close()
