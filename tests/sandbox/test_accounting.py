"""Run accounting from the kernel's cgroup counters: both cgroup layouts, laid out in a
temporary directory as the kernel lays them out, and the real one of this host."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits, accounting, engine, run, runner
from heldout.sandbox.accounting import PARENT, UsageSampler, parent_cgroup, release_parent, sweep_parents

CID = "c0ffee" * 10
RUN = "run-1234"


@dataclass(frozen=True)
class FakeContainer:
    id: str


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v1_tree(root: Path, group: str, *, pids_leaf: str = "") -> None:
    """Separate hierarchies per controller, as on a cgroup-v1 host."""
    write(root / "memory" / group / "memory.max_usage_in_bytes", "314572800\n")
    write(root / "cpuacct" / group / "cpuacct.usage", "2500000000\n")
    write(root / "pids" / group / pids_leaf / "pids.events", "max 3\n")


def v2_tree(root: Path, group: str, *, pids_leaf: str = "") -> None:
    """One unified hierarchy, as on a cgroup-v2 host."""
    write(root / "cgroup.controllers", "cpuset cpu io memory pids\n")
    write(root / group / "cgroup.procs", "")
    write(root / group / "memory.peak", "157286400\n")
    write(root / group / "cpu.stat", "usage_usec 1750000\nuser_usec 1500000\nsystem_usec 250000\n")
    write(root / group / pids_leaf / "pids.events", "max 0\n")


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Parent cgroups are only used by root; the layout, not the user, is under test here.
    monkeypatch.setattr(os, "geteuid", lambda: 0)


def sampled(root: Path, parent: str | None) -> accounting.Usage:
    sampler = UsageSampler(FakeContainer(CID), parent, root)
    sampler.sample()
    return sampler.stop()


def test_v1_parent_cgroup(tmp_path: Path, as_root: None) -> None:
    (tmp_path / "memory").mkdir()  # what tells v1 from v2
    parent = parent_cgroup(RUN, "cgroupfs", tmp_path)
    v1_tree(tmp_path, f"{PARENT}/{RUN}", pids_leaf=CID)
    assert parent == f"/{PARENT}/{RUN}"
    usage = sampled(tmp_path, parent)
    assert usage == accounting.Usage(cpu_seconds=2.5, peak_memory_bytes=300 * 1024 * 1024,
                                     pids_refused=3, source="cgroup-v1")


def test_v2_parent_cgroup(tmp_path: Path, as_root: None) -> None:
    write(tmp_path / "cgroup.controllers", "memory pids\n")
    parent = parent_cgroup(RUN, "cgroupfs", tmp_path)
    v2_tree(tmp_path, f"{PARENT}/{RUN}", pids_leaf=CID)
    assert parent == f"/{PARENT}/{RUN}"
    usage = sampled(tmp_path, parent)
    assert usage == accounting.Usage(cpu_seconds=1.75, peak_memory_bytes=150 * 1024 * 1024,
                                     pids_refused=0, source="cgroup-v2")


@pytest.mark.parametrize(("layout", "leaf", "expected"), [
    (v1_tree, f"docker/{CID}", accounting.Usage(2.5, 300 * 1024 * 1024, 3, "cgroup-v1")),
    (v1_tree, f"system.slice/docker-{CID}.scope", accounting.Usage(2.5, 300 * 1024 * 1024, 3, "cgroup-v1")),
    (v2_tree, f"system.slice/docker-{CID}.scope", accounting.Usage(1.75, 150 * 1024 * 1024, 0, "cgroup-v2")),
])
def test_container_cgroup_without_a_parent(tmp_path: Path, layout: Any, leaf: str,
                                           expected: accounting.Usage) -> None:
    """The systemd driver (no parent of ours): the container's own cgroup is sampled."""
    layout(tmp_path, leaf)
    assert sampled(tmp_path, None) == expected


def test_no_cgroup_visible(tmp_path: Path, as_root: None) -> None:
    assert parent_cgroup(RUN, "cgroupfs", tmp_path) is None
    assert sampled(tmp_path, None) == accounting.Usage(0.0, 0, 0, "none")


def test_no_parent_with_the_systemd_driver_or_without_root(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    v1_tree(tmp_path, "x")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert parent_cgroup(RUN, "systemd", tmp_path) is None
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert parent_cgroup(RUN, "cgroupfs", tmp_path) is None


def test_release_removes_the_parent_in_every_v1_controller(tmp_path: Path) -> None:
    for controller in ("memory", "cpuacct", "pids"):
        (tmp_path / controller / PARENT / RUN).mkdir(parents=True)
        (tmp_path / controller / PARENT / "other").mkdir()
    release_parent(f"/{PARENT}/{RUN}", tmp_path)
    for controller in ("memory", "cpuacct", "pids"):
        assert sorted(p.name for p in (tmp_path / controller / PARENT).iterdir()) == ["other"]


def test_release_removes_the_v2_parent(tmp_path: Path) -> None:
    write(tmp_path / "cgroup.controllers", "memory\n")
    (tmp_path / PARENT / RUN).mkdir(parents=True)
    release_parent(f"/{PARENT}/{RUN}", tmp_path)
    assert not (tmp_path / PARENT / RUN).exists()
    assert (tmp_path / PARENT).is_dir()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_sweep_removes_only_unused_empty_run_cgroups(tmp_path: Path, version: str) -> None:
    if version == "v1":
        bases = [tmp_path / c / PARENT for c in ("memory", "pids")]
    else:
        write(tmp_path / "cgroup.controllers", "memory\n")
        bases = [tmp_path / PARENT]
    for base in bases:
        (base / "dead-run" / CID).mkdir(parents=True)  # the container's leaf under it
        (base / "live-run").mkdir(parents=True)
        (base / "busy-run").mkdir(parents=True)
        write(base / "busy-run" / "cgroup.procs", "4242\n")  # not empty: cannot be removed
    assert sweep_parents({"live-run"}, tmp_path) == 1
    for base in bases:
        assert sorted(p.name for p in base.iterdir()) == ["busy-run", "live-run"]


# The real cgroups of this host, through a real run.

def _homes(parent: str) -> list[Path]:
    root = accounting.CGROUP_ROOT
    relative = parent.strip("/")
    return [d / relative for d in root.iterdir() if d.is_dir()] + [root / relative]


def test_a_finished_run_leaves_no_cgroup_of_its_own(tmp_path: Path, docker_client: Any,
                                                    sandbox_image: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    parents: list[str | None] = []
    existed_at_release: list[str] = []

    def recorded(run_name: str, cgroup_driver: str, root: Path | None = None) -> str | None:
        parent = parent_cgroup(run_name, cgroup_driver, root)
        parents.append(parent)
        return parent

    def observed_release(parent: str | None, root: Path | None = None) -> None:
        if parent is not None:
            existed_at_release.extend(str(d) for d in _homes(parent) if d.is_dir())
        release_parent(parent, root)

    # The real functions, only observed: the test needs the name this run was given.
    monkeypatch.setattr(runner, "parent_cgroup", recorded)
    monkeypatch.setattr(runner, "release_parent", observed_release)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text(textwrap.dedent("""
        block = bytearray(64 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
    """))
    result = run(JobSpec(command=("python", "main.py"), workspace=workspace,
                         limits=Limits(wall_seconds=30)), tmp_path / "out", client=docker_client)
    assert result.exit_code == 0, result.stderr_tail
    (parent,) = parents
    driver = engine.cgroup_driver(docker_client)
    if driver != "cgroupfs" or os.geteuid() != 0:
        assert parent is None, f"a parent cgroup under the {driver} driver"
        return
    assert parent is not None and parent.startswith(f"/{PARENT}/")
    assert existed_at_release, "the run never had its parent cgroup"
    # Exact accounting from the parent: the 64 MB the job touched are all counted.
    assert result.peak_memory_mb >= 64
    assert result.cpu_seconds > 0
    assert [str(d) for d in _homes(parent) if d.exists()] == [], "the run's cgroup was left behind"
