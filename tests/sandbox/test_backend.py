"""The sandbox as an interface: backends by name, and the Docker backend on the real engine."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import backend
from heldout.sandbox.backend import DockerSandbox, Sandbox, get_sandbox, register_backend
from heldout.sandbox.errors import SandboxError, UnknownBackend
from heldout.sandbox.spec import JobSpec, Limits, ServiceRun, SweepReport


class Recording:
    """A second backend, to show the registry chooses by name."""

    name = "recording"

    def run(self, spec: Any, output_dir: Path) -> Any:
        raise NotImplementedError

    def run_service(self, service: Any, probe: Any, service_output: Path,
                    probe_output: Path) -> Any:
        raise NotImplementedError

    def prime(self, limits: Limits, image: str | None = None) -> None:
        return None

    def sweep(self, owner: str | None = None) -> SweepReport:
        return SweepReport(())

    def doctor(self) -> tuple[Any, ...]:
        return ()


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(backend._BACKENDS, "recording", Recording)
    yield


def test_docker_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backend.ENV_BACKEND, raising=False)
    sandbox: Sandbox = get_sandbox()
    assert isinstance(sandbox, DockerSandbox) and sandbox.name == "docker"


def test_the_environment_chooses_the_backend(monkeypatch: pytest.MonkeyPatch,
                                             recording: None) -> None:
    monkeypatch.setenv(backend.ENV_BACKEND, "recording")
    assert isinstance(get_sandbox(), Recording)
    assert isinstance(get_sandbox("docker"), DockerSandbox), "an explicit name wins"


def test_an_unknown_backend_lists_the_known_ones(monkeypatch: pytest.MonkeyPatch,
                                                 recording: None) -> None:
    monkeypatch.setenv(backend.ENV_BACKEND, "kubernetes")
    with pytest.raises(UnknownBackend) as info:
        get_sandbox()
    assert isinstance(info.value, SandboxError), "a platform fault: retried, never scored"
    assert str(info.value) == "unknown sandbox backend 'kubernetes'; known: docker, recording"


def test_a_name_is_registered_once(recording: None) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_backend("recording", lambda: Recording())
    register_backend("recording", Recording)  # the same factory again is harmless


def test_results_are_frozen() -> None:
    report = SweepReport(("abc",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.containers = ()  # type: ignore[misc]
    assert dataclasses.is_dataclass(ServiceRun)
    assert ServiceRun.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_creating_a_docker_sandbox_touches_no_engine(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    sandbox = DockerSandbox()
    sandbox.close()
    assert sandbox.pool is None


@pytest.mark.docker
def test_docker_backend_runs_primes_sweeps_and_diagnoses(docker_client: Any, sandbox_image: str,
                                                         tmp_path: Path) -> None:
    from heldout.sandbox.engine import LABEL, LABEL_HOST, LABEL_OWNER_PID

    sandbox = DockerSandbox(docker_client)
    try:
        workspace = tmp_path / "ws"
        workspace.mkdir()
        (workspace / "main.py").write_text("open('/output/out.txt', 'w').write('hi')\n")
        limits = Limits(wall_seconds=30, memory_mb=320)
        spec = JobSpec(command=("python", "main.py"), workspace=workspace, limits=limits)

        sandbox.prime(limits)
        assert sandbox.pool is not None
        assert sandbox.pool.wait_warm(1, timeout=120, limits=limits)
        result = sandbox.run(spec, tmp_path / "out")
        assert result.exit_code == 0 and result.warm, result.stderr_tail
        assert (tmp_path / "out" / "out.txt").read_text() == "hi"

        orphan = docker_client.containers.create(
            sandbox_image, command=["sleep", "60"], network_mode="none",
            labels={LABEL: "1", LABEL_HOST: "elsewhere.example.invalid",
                    LABEL_OWNER_PID: str(2**22 - 1)})
        assert orphan.id not in sandbox.sweep().containers, "another host's container"
        assert sandbox.sweep(owner="elsewhere.example.invalid").containers == (orphan.id,)

        findings = sandbox.doctor()
        assert {f.name for f in findings} >= {"docker engine", "sandbox image"}
        assert all(f.ok for f in findings if f.name in ("docker engine", "sandbox image"))
    finally:
        sandbox.close()
    mine = [f"{LABEL}=1", f"{LABEL_OWNER_PID}={os.getpid()}"]
    assert docker_client.containers.list(all=True, filters={"label": mine}) == []
