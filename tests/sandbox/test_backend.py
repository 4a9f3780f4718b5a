"""The sandbox as an interface: backends by name, and the Docker backend on the real engine."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import backend
from heldout.sandbox.backend import ENTRY_POINT_GROUP, Sandbox, get_sandbox, register_backend
from heldout.sandbox.docker_backend import DockerSandbox
from heldout.sandbox.errors import SandboxError, UnknownBackend
from heldout.sandbox.settings import SandboxSettings
from heldout.sandbox.spec import Finding, JobSpec, Limits, SandboxHealth, ServiceRun, SweepReport

REPO = Path(__file__).resolve().parents[2]


class Recording:
    """A second backend, to show the registry chooses by name and hands it the settings."""

    name = "recording"

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings

    def run(self, spec: Any, output_dir: Path) -> Any:
        raise NotImplementedError

    def run_service(self, service: Any, probe: Any, service_output: Path,
                    probe_output: Path) -> Any:
        raise NotImplementedError

    def prime(self, limits: Limits, profile: str = "default") -> None:
        return None

    def sweep(self, owner: str | None = None, *, owner_gone: bool = False) -> SweepReport:
        return SweepReport(())

    def doctor(self) -> tuple[Finding, ...]:
        return ()

    def health(self) -> SandboxHealth:
        here = Finding("recording", True, "nothing to reach")
        return SandboxHealth(here, here, image_name=self.settings.image)

    def close(self) -> None:
        return None


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(backend._BACKENDS, "recording", Recording)
    yield


def settings(**changes: Any) -> SandboxSettings:
    """The environment's settings (the image the tests built) with ``changes``."""
    return dataclasses.replace(SandboxSettings.from_environment(), **changes)


def test_docker_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELDOUT_SANDBOX_BACKEND", raising=False)
    sandbox: Sandbox = get_sandbox()
    assert isinstance(sandbox, DockerSandbox) and sandbox.name == "docker"


def test_docker_is_found_by_its_entry_point() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared[ENTRY_POINT_GROUP] == {"docker": "heldout.sandbox.docker_backend:DockerSandbox"}
    (installed,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "docker"]
    assert installed.load() is DockerSandbox, "reinstall heldout: its entry points are stale"


def test_the_settings_choose_the_backend_and_reach_it(monkeypatch: pytest.MonkeyPatch,
                                                      recording: None) -> None:
    monkeypatch.setenv("HELDOUT_SANDBOX_BACKEND", "recording")
    monkeypatch.setenv("HELDOUT_SANDBOX_IMAGE", "registry.example.invalid/runtime:1")
    chosen = get_sandbox()
    assert isinstance(chosen, Recording)
    assert chosen.health().image_name == "registry.example.invalid/runtime:1"
    assert isinstance(get_sandbox(settings(backend="docker")), DockerSandbox), \
        "given settings win over the environment"


def test_an_unknown_backend_lists_the_known_ones(monkeypatch: pytest.MonkeyPatch,
                                                 recording: None) -> None:
    monkeypatch.setenv("HELDOUT_SANDBOX_BACKEND", "kubernetes")
    with pytest.raises(UnknownBackend) as info:
        get_sandbox()
    assert isinstance(info.value, SandboxError), "a platform fault: retried, never scored"
    assert str(info.value) == "unknown sandbox backend 'kubernetes'; known: docker, recording"


def test_with_no_backend_installed_the_error_says_to_reinstall() -> None:
    assert "reinstall heldout" in str(UnknownBackend("docker", []))


def test_a_name_is_registered_once(recording: None) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_backend("recording", lambda settings: Recording(settings))
    register_backend("recording", Recording)  # the same factory again is harmless


def test_results_and_settings_are_frozen() -> None:
    report = SweepReport(("abc",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.containers = ()  # type: ignore[misc]
    values: tuple[Any, ...] = (ServiceRun, SandboxHealth, Finding, SandboxSettings)
    for value in values:
        params: Any = value.__dataclass_params__
        assert params.frozen, value


def test_creating_a_docker_sandbox_touches_no_engine(tmp_path: Path) -> None:
    sandbox = DockerSandbox(settings(docker_host=f"unix://{tmp_path}/no-engine.sock"))
    sandbox.close()
    assert sandbox.pool is None


def test_a_dead_engine_is_a_health_report_not_a_crash(tmp_path: Path) -> None:
    state = get_sandbox(settings(docker_host=f"unix://{tmp_path}/no-engine.sock",
                                 image="some-image:1")).health()
    assert not state.ready and state.image_name == "some-image:1"
    assert not state.engine.ok and "no-engine.sock" in state.engine.detail
    assert not state.image.ok and "unreachable" in state.image.detail


def test_a_sweep_with_no_engine_is_a_sandbox_error(tmp_path: Path) -> None:
    sandbox = get_sandbox(settings(docker_host=f"unix://{tmp_path}/no-engine.sock"))
    with pytest.raises(SandboxError, match="no Docker engine answers"):
        sandbox.sweep()


@pytest.mark.docker
def test_docker_backend_runs_primes_sweeps_and_diagnoses(docker_client: Any, sandbox_image: str,
                                                         tmp_path: Path) -> None:
    from heldout.sandbox.engine import LABEL, LABEL_HOST, LABEL_OWNER_PID

    sandbox = DockerSandbox(settings(warm_per_profile=1, run_dir=tmp_path / "runs",
                                     owner="backend-test.example.invalid"),
                            client=docker_client)
    try:
        workspace = tmp_path / "ws"
        workspace.mkdir()
        (workspace / "main.py").write_text("open('/output/out.txt', 'w').write('hi')\n")
        limits = Limits(wall_seconds=30, memory_mb=320)
        spec = JobSpec(command=("python", "main.py"), workspace=workspace, limits=limits)

        sandbox.prime(limits)
        assert sandbox.pool is not None
        assert sandbox.pool.wait_warm(1, timeout=120, limits=limits)
        assert (sandbox.health().warm or 0) >= 1, "the warm container is counted"
        result = sandbox.run(spec, tmp_path / "out")
        assert result.exit_code == 0 and result.warm, result.stderr_tail
        assert (tmp_path / "out" / "out.txt").read_text() == "hi"

        orphan = docker_client.containers.create(
            sandbox_image, command=["sleep", "60"], network_mode="none",
            labels={LABEL: "1", LABEL_HOST: "elsewhere.example.invalid",
                    LABEL_OWNER_PID: str(2**22 - 1)})
        assert orphan.id not in sandbox.sweep().containers, "another owner's container"
        assert sandbox.sweep(owner="elsewhere.example.invalid").containers == (orphan.id,)

        findings = sandbox.doctor()
        assert {f.name for f in findings} >= {"docker engine", "sandbox image"}
        assert all(f.ok for f in findings if f.name in ("docker engine", "sandbox image"))
        state = sandbox.health()
        assert state.ready and state.image_name == sandbox_image
    finally:
        sandbox.close()
    mine = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={os.getpid()}"]
    assert docker_client.containers.list(all=True, filters={"label": mine}) == []


@pytest.mark.docker
def test_a_gone_owner_loses_every_sandbox_even_with_a_live_pid(
        docker_client: Any, sandbox_image: str, tmp_path: Path) -> None:
    """A restarted worker container may get its old pid back: when the caller holds the
    owner's identity, the pid label can't keep its earlier life's containers alive."""
    from heldout.sandbox.engine import LABEL, LABEL_HOST, LABEL_OWNER_PID, LABEL_RUNDIR

    owner = "gone-owner.example.invalid"
    runs = tmp_path / "runs"
    left = runs / "earlier-life"
    left.mkdir(parents=True)
    sandbox = DockerSandbox(settings(run_dir=runs, owner=owner), client=docker_client)
    alive_pid = str(os.getpid())  # a live process: ours
    container = docker_client.containers.create(
        sandbox_image, command=["sleep", "60"], network_mode="none",
        labels={LABEL: "1", LABEL_HOST: owner, LABEL_OWNER_PID: alive_pid,
                LABEL_RUNDIR: str(left)})
    try:
        assert sandbox.sweep().containers == (), "its process is alive"
        report = sandbox.sweep(owner_gone=True)
        assert report.containers == (container.id,)
        assert not left.exists(), "its run directory goes with it"
    finally:
        for found in docker_client.containers.list(all=True, filters={"id": container.id}):
            found.remove(force=True)
