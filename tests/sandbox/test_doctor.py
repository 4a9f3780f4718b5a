"""heldout doctor's sandbox checks, and the optional stronger runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits, run
from heldout.sandbox.doctor import checks

pytestmark = pytest.mark.docker


def by_name(client: Any) -> dict[str, Any]:
    return {check.name: check for check in checks(client)}


def test_engine_and_image_are_reported_ok(docker_client: Any, sandbox_image: str) -> None:
    found = by_name(docker_client)
    assert found["docker engine"].ok and "Docker" in found["docker engine"].detail
    assert found["sandbox image"].ok and sandbox_image in found["sandbox image"].detail
    assert found["seccomp"].ok
    for name in ("user namespaces", "log rotation", "inter-container traffic", "metadata address"):
        assert name in found and not found[name].required
        assert found[name].ok or found[name].fix, f"{name}: a warning must say how to fix it"


def test_each_profile_s_image_is_an_optional_finding(docker_client: Any,
                                                     profile_images: dict[str, str]) -> None:
    found = by_name(docker_client)["sandbox image (deep-learning)"]
    assert found.ok and not found.required and profile_images["deep-learning"] in found.detail


def test_a_missing_profile_image_says_how_to_build_it(docker_client: Any, sandbox_image: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from heldout.sandbox import image

    monkeypatch.setattr(image, "profile_hash", lambda profile, settings=None: "0" * 16)
    found = by_name(docker_client)["sandbox image (deep-learning)"]
    assert not found.ok and not found.required
    assert found.fix == "heldout sandbox build --profile deep-learning"


def test_an_unknown_runtime_is_a_failed_required_check(docker_client: Any, sandbox_image: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_SANDBOX_RUNTIME", "no-such-runtime")
    found = by_name(docker_client)["sandbox runtime"]
    assert not found.ok and found.required
    assert "no-such-runtime" in found.fix


def test_missing_engine_is_reported_with_a_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    (only,) = checks()
    assert only.name == "docker engine" and not only.ok
    assert "DOCKER_HOST" in only.fix


def test_gvisor_runtime_when_installed(docker_client: Any, sandbox_image: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if "runsc" not in docker_client.info().get("Runtimes", {}):
        pytest.skip("gVisor's runsc is not registered with this engine")
    monkeypatch.setenv("HELDOUT_SANDBOX_RUNTIME", "runsc")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text("import os; print(os.uname().release)\n")
    result = run(JobSpec(command=("python", "main.py"), workspace=workspace,
                         limits=Limits(wall_seconds=60)), tmp_path / "out")
    assert result.exit_code == 0, result.stderr_tail
